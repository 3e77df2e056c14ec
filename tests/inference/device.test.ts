import * as path from 'path';
import { Command } from 'commander';
import { GPU_PACKAGE, initBackend } from '../../lib/src/backend';
import { addDeviceOptions, deviceFromFlags, reportDevice } from '../../lib/src/cli/device';
import { FerError } from '../../lib/src/errors';
import {
  chooseOnnxDevice, cudaProviderFiles, describeDevice, DeviceProbe, onnxBindingDir, onnxGpuProblems, tfjsGpuProblems,
} from '../../lib/src/inference/device';
import { createOnnxPredictor } from '../../lib/src/inference/onnx';
import { initTfjsDevice } from '../../lib/src/inference/tfjs';
import { defaultModelPath, loadPredictor } from '../../lib/src/inference';
import { readOnnxFile } from '../../lib/src/export/onnx';
import { register as registerPredict } from '../../lib/src/cli/predict';
import { DEMO_PHOTOS, tmpDir } from '../apps/helpers';

const BIN = '/x/node_modules/onnxruntime-node/bin/napi-v6/linux/x64';

/** A machine description: which files exist. */
function probe(files: string[], platform: NodeJS.Platform = 'linux', arch = 'x64'): DeviceProbe & { asked: string[] } {
  const asked: string[] = [];
  return {
    platform,
    arch,
    onnxBinDir: BIN,
    asked,
    exists: (f) => {
      asked.push(f);
      return files.includes(f);
    },
  };
}
const CUDA = [path.join(BIN, 'libonnxruntime_providers_cuda.so'), path.join(BIN, 'libonnxruntime_providers_shared.so')];
const DRIVER = '/proc/driver/nvidia/version';

describe('onnxruntime device selection', () => {
  test('auto takes CUDA only when the provider libraries sit next to the binding and a driver exists', () => {
    const gpu = chooseOnnxDevice('auto', probe([...CUDA, DRIVER]));
    expect(gpu.executionProviders).toEqual(['cuda', 'cpu']);
    expect(gpu.info).toEqual({ device: 'gpu', runtime: 'onnxruntime-node CUDA', note: '' });

    const noLibs = probe([DRIVER]);
    const cpu = chooseOnnxDevice('auto', noLibs);
    expect(cpu.executionProviders).toEqual(['cpu']);
    expect(cpu.info.device).toBe('cpu');
    expect(cpu.info.note).toBe('no usable GPU: missing the CUDA execution provider');
    expect(noLibs.asked).toContain(CUDA[0]);

    // provider libraries but no NVIDIA driver; only one of the two libraries
    expect(chooseOnnxDevice('auto', probe(CUDA)).info.note).toBe('no usable GPU: missing an NVIDIA GPU driver');
    expect(chooseOnnxDevice('auto', probe([CUDA[0], '/dev/nvidiactl'])).executionProviders).toEqual(['cpu']);
    expect(onnxGpuProblems(probe([CUDA[0], DRIVER]))[0]).toMatch(/libonnxruntime_providers_shared\.so not in/);
  });

  test("'cpu' never looks for a GPU; 'gpu' without one is a FerError saying what is missing", () => {
    const p = probe([...CUDA, DRIVER]);
    expect(chooseOnnxDevice('cpu', p)).toEqual({ info: { device: 'cpu', runtime: 'onnxruntime-node CPU', note: '' }, executionProviders: ['cpu'] });
    expect(p.asked).toEqual([]);
    expect(chooseOnnxDevice('gpu', probe([...CUDA, DRIVER])).executionProviders).toEqual(['cuda', 'cpu']);
    const err = (() => {
      try {
        chooseOnnxDevice('gpu', probe([]));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(FerError);
    expect((err as Error).message).toMatch(/--device gpu: no usable GPU for onnxruntime-node; missing the CUDA execution provider \(libonnxruntime_providers_cuda\.so, libonnxruntime_providers_shared\.so not in .*napi-v6.*ONNXRUNTIME_NODE_INSTALL=cuda12.*; an NVIDIA GPU driver .*Use --cpu/);
    expect(() => chooseOnnxDevice('gpu', probe([], 'darwin', 'arm64'))).toThrow(/no CUDA build for darwin-arm64/);
    expect(() => chooseOnnxDevice('tpu' as 'gpu', probe([]))).toThrow(/Unknown device "tpu": use auto, cpu, gpu/);
  });

  test('provider file names per platform; the binding folder is the one onnxruntime-node loads from', () => {
    expect(cudaProviderFiles('win32', 'x64')).toEqual(['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll']);
    expect(cudaProviderFiles('darwin', 'arm64')).toEqual([]);
    const dir = onnxBindingDir('linux', 'x64');
    expect(dir.endsWith(path.join('onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64'))).toBe(true);
    expect(require('fs').existsSync(path.join(onnxBindingDir(), 'onnxruntime_binding.node'))).toBe(true);
  });

  test('a predictor says where it runs; CUDA files that fail to load fall back to the CPU under auto, fail under gpu', async () => {
    const { bytes } = readOnnxFile(path.join(defaultModelPath(), 'model.onnx'));
    const cpu = await createOnnxPredictor(bytes, 'model.onnx', { device: 'cpu', threads: 1 });
    expect(cpu.device).toEqual({ device: 'cpu', runtime: 'onnxruntime-node CPU', note: '' });
    expect((await cpu.predict(new Uint8Array(2304))).length).toBe(7);
    await cpu.dispose();
    // This machine's onnxruntime-node has no CUDA libraries: pretend it has, so the session start fails for real.
    const liar = probe([...CUDA, DRIVER]);
    const auto = await createOnnxPredictor(bytes, 'model.onnx', { device: 'auto', threads: 1 }, liar);
    expect(auto.device?.device).toBe('cpu');
    expect(auto.device?.note).toMatch(/^the CUDA provider did not start: /);
    expect((await auto.predict(new Uint8Array(2304))).length).toBe(7);
    await auto.dispose();
    await expect(createOnnxPredictor(bytes, 'model.onnx', { device: 'gpu' }, liar)).rejects.toThrow(/--device gpu: onnxruntime-node could not start its CUDA provider for model\.onnx/);
    // the real machine: auto picks what onnxGpuProblems() allows, and says so
    const real = await loadPredictor(undefined, { device: 'auto', threads: 1 });
    expect(real.device?.device).toBe(onnxGpuProblems().length === 0 ? 'gpu' : 'cpu');
    await real.dispose();
  });
});

describe('tfjs device selection', () => {
  test("'gpu' needs @tensorflow/tfjs-node-gpu (FerError naming it); 'cpu' never loads it", async () => {
    expect(tfjsGpuProblems(() => true)).toEqual([]);
    expect(tfjsGpuProblems(() => false)[0]).toMatch(/@tensorflow\/tfjs-node-gpu/);
    await expect(initTfjsDevice('gpu', () => false)).rejects.toThrow(/--device gpu with the tfjs engine needs @tensorflow\/tfjs-node-gpu .*Use --cpu/);
    const cpu = await initTfjsDevice('cpu');
    expect(cpu.device).toBe('cpu');
    expect(cpu.runtime).not.toContain(GPU_PACKAGE);
    expect((await initBackend(undefined, { gpu: false })).package).not.toBe(GPU_PACKAGE);
  });
});

describe('--cpu / --device on the command line', () => {
  const parse = (...args: string[]): { device?: 'auto' | 'cpu' | 'gpu'; cpu?: boolean } => {
    const program = new Command('fer').exitOverride().configureOutput({ writeErr: () => undefined });
    let seen: { device?: 'auto' | 'cpu' | 'gpu'; cpu?: boolean } = {};
    addDeviceOptions(program.command('x').exitOverride()).action((flags) => {
      seen = flags;
    });
    program.parse(['node', 'fer', 'x', ...args]);
    return seen;
  };
  test('--cpu means cpu, default auto, --device picks; --cpu with --device conflicts; one stderr line', () => {
    expect(deviceFromFlags(parse())).toBe('auto');
    expect(deviceFromFlags(parse('--cpu'))).toBe('cpu');
    expect(deviceFromFlags(parse('--device', 'gpu'))).toBe('gpu');
    expect(() => parse('--cpu', '--device', 'gpu')).toThrow(/option '--cpu' cannot be used with option '--device <name>'/);
    expect(() => parse('--device', 'npu')).toThrow(/Allowed choices are auto, cpu, gpu/);
    const lines: string[] = [];
    reportDevice({ device: { device: 'cpu', runtime: 'onnxruntime-node CPU', note: 'no usable GPU: missing x' } }, (l) => lines.push(l));
    reportDevice({ device: undefined }, (l) => lines.push(l));
    expect(lines).toEqual(['fer: inference device: cpu (onnxruntime-node CPU; no usable GPU: missing x)']);
    expect(describeDevice({ device: 'gpu', runtime: 'onnxruntime-node CUDA', note: '' })).toBe('inference device: gpu (onnxruntime-node CUDA)');
  });
});

test('fer predict --cpu runs on the CPU and says so once on stderr, keeping stdout JSON clean', async () => {
  const out = tmpDir('device-predict');
  const err: string[] = [];
  const stdout: string[] = [];
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (stdout.push(String(chunk)), true));
  const log = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const program = new Command('fer').exitOverride();
    registerPredict(program);
    await program.parseAsync(['node', 'fer', 'predict', DEMO_PHOTOS[0], '--out', out, '--json', '--cpu']);
  } finally {
    e.mockRestore();
    o.mockRestore();
    log.mockRestore();
    require('fs').rmSync(out, { recursive: true, force: true });
  }
  expect(err.filter((l) => l.includes('inference device'))).toEqual(['fer: inference device: cpu (onnxruntime-node CPU)\n']);
  expect(JSON.parse(stdout.join(''))[0].faces).toHaveLength(1);
});
