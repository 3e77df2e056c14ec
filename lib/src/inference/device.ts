/**
 * Which device inference runs on: 'cpu', 'gpu', or 'auto' (a GPU when one is usable here, else the CPU).
 *
 * onnxruntime-node ships CPU only; its CUDA execution provider is a separate download (its install script fetches
 * libonnxruntime_providers_cuda.so next to the binding unless skipped). So a GPU is "usable" for the onnx engine
 * when those provider files are next to the binding and an NVIDIA driver is present; nothing is tried (and fails
 * noisily) otherwise. The tfjs engine uses @tensorflow/tfjs-node-gpu for 'gpu' and never picks it for 'cpu'.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FerError } from '../errors';

export type Device = 'auto' | 'cpu' | 'gpu';
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'gpu'];

/** The device a predictor actually runs on, and one line saying why. */
export interface DeviceInfo {
  device: 'cpu' | 'gpu';
  /** What runs it, e.g. "onnxruntime-node CUDA" or "TF.js wasm". */
  runtime: string;
  /** Why this device (e.g. what was missing for the GPU); empty when it was simply asked for and worked. */
  note: string;
}

/** What the selection looks at; injected in tests so the logic is tested without a GPU. */
export interface DeviceProbe {
  platform: NodeJS.Platform;
  arch: string;
  exists(file: string): boolean;
  /** onnxruntime-node's binding folder (bin/napi-v6/<platform>/<arch>). */
  onnxBinDir: string;
}

export function onnxBindingDir(platform: string = process.platform, arch: string = process.arch): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  // The same folder onnxruntime-node's dist/binding.js loads its .node file from.
  return path.join(pkg, 'bin', 'napi-v6', platform, arch);
}

export function defaultProbe(): DeviceProbe {
  return { platform: process.platform, arch: process.arch, exists: (f) => fs.existsSync(f), onnxBinDir: onnxBindingDir() };
}

/** The provider libraries onnxruntime-node needs for CUDA on this platform (empty: no CUDA build exists). */
export function cudaProviderFiles(platform: NodeJS.Platform, arch: string): string[] {
  if (platform === 'linux' && arch === 'x64') return ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
  if (platform === 'win32' && arch === 'x64') return ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll'];
  return [];
}

/** Everything missing for onnxruntime-node to run on a CUDA GPU here (empty = usable). */
export function onnxGpuProblems(probe: DeviceProbe = defaultProbe()): string[] {
  const files = cudaProviderFiles(probe.platform, probe.arch);
  if (files.length === 0) return [`onnxruntime-node has no CUDA build for ${probe.platform}-${probe.arch}`];
  const problems: string[] = [];
  const missing = files.filter((f) => !probe.exists(path.join(probe.onnxBinDir, f)));
  if (missing.length > 0) {
    problems.push(
      `the CUDA execution provider (${missing.join(', ')} not in ${probe.onnxBinDir}; with internet access ` +
        '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` downloads it; it needs CUDA 12 and cuDNN 9)',
    );
  }
  if (probe.platform === 'linux' && !probe.exists('/proc/driver/nvidia/version') && !probe.exists('/dev/nvidiactl')) {
    problems.push('an NVIDIA GPU driver (/proc/driver/nvidia/version does not exist)');
  }
  return problems;
}

export interface OnnxDeviceChoice {
  info: DeviceInfo;
  /** onnxruntime-node session option `executionProviders`. */
  executionProviders: string[];
}

/** Pick onnxruntime execution providers for `device`; 'gpu' without a usable GPU is a FerError naming what is missing. */
export function chooseOnnxDevice(device: Device = 'auto', probe: DeviceProbe = defaultProbe()): OnnxDeviceChoice {
  assertDevice(device);
  const cpu = (note: string): OnnxDeviceChoice => ({ info: { device: 'cpu', runtime: 'onnxruntime-node CPU', note }, executionProviders: ['cpu'] });
  if (device === 'cpu') return cpu('');
  const problems = onnxGpuProblems(probe);
  if (problems.length === 0) {
    return { info: { device: 'gpu', runtime: 'onnxruntime-node CUDA', note: '' }, executionProviders: ['cuda', 'cpu'] };
  }
  if (device === 'gpu') throw new FerError(`--device gpu: no usable GPU for onnxruntime-node; missing ${problems.join('; ')}. Use --cpu.`);
  // Short form for the one line the CLI prints; --device gpu gives the full story.
  return cpu(`no usable GPU: missing ${problems.map((p) => p.split(' (')[0]).join(', ')}`);
}

/** What is missing for the tfjs engine to run on a GPU (empty = the GPU package is installed). */
export function tfjsGpuProblems(resolve: (pkg: string) => boolean = canResolve): string[] {
  return resolve('@tensorflow/tfjs-node-gpu') ? [] : ['@tensorflow/tfjs-node-gpu (`npm install @tensorflow/tfjs-node-gpu`, needs CUDA and internet access)'];
}

export function canResolve(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

export function assertDevice(device: string): asserts device is Device {
  if (!(DEVICES as readonly string[]).includes(device)) throw new FerError(`Unknown device "${device}": use ${DEVICES.join(', ')}.`);
}

/** One line for the CLI: "inference device: cpu (onnxruntime-node CPU; no usable GPU: ...)". */
export function describeDevice(info: DeviceInfo): string {
  return `inference device: ${info.device} (${info.runtime}${info.note ? `; ${info.note}` : ''})`;
}
