import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { initBackend } from '../../lib/src/backend';
import { register } from '../../lib/src/cli/export';
import { FerError } from '../../lib/src/errors';
import { readOnnxFile } from '../../lib/src/export';
import { loadPredictor } from '../../lib/src/inference';
import { defaultMeta, saveModelDir } from '../../lib/src/util/model-io';
import { kitchenSinkModel } from './fixtures';

let tmp: string;
let ckpt: string;
let logs: string[];

beforeAll(async () => {
  await initBackend('wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-export-cli-'));
  ckpt = path.join(tmp, 'run');
  const model = kitchenSinkModel();
  await saveModelDir(model, path.join(ckpt, 'best'), defaultMeta('kitchen', model));
  model.dispose();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => {
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
});
afterEach(() => jest.restoreAllMocks());

async function fer(...args: string[]): Promise<void> {
  const program = new Command('fer').exitOverride();
  register(program);
  await program.parseAsync(['node', 'fer', ...args]);
}

test('fer export writes a verified .onnx and the web format, and prints sizes', async () => {
  const out = path.join(tmp, 'out', 'model.onnx');
  const web = path.join(tmp, 'web');
  await fer('export', '--model', ckpt, '--out', out, '--web', web);
  expect(fs.existsSync(out)).toBe(true);
  expect(fs.readdirSync(path.dirname(out))).toEqual(['model.onnx']); // no temp files left
  expect(readOnnxFile(out).meta.arch).toBe('kitchen');
  expect(fs.readdirSync(web)).toEqual(expect.arrayContaining(['model.json', 'meta.json', 'group1-shard1of1.bin']));
  const text = logs.join('\n');
  expect(text).toMatch(/max \|p_onnx - p_tfjs\| = \d\.\d\de-\d+/);
  expect(text).toMatch(new RegExp(`Wrote ${out}: \\d+\\.\\d KB \\(float32 weights, batch norm folded\\)`));
  const p = await loadPredictor(web, { engine: 'tfjs' });
  expect(p.classes).toHaveLength(7);
  await p.dispose();
});

test('--fp16 and --int8 make smaller files', async () => {
  const f32 = path.join(tmp, 'a.onnx');
  const f16 = path.join(tmp, 'b.onnx');
  const i8 = path.join(tmp, 'c.onnx');
  await fer('export', '--model', ckpt, '--out', f32, '--no-verify');
  await fer('export', '--model', ckpt, '--out', f16, '--fp16');
  await fer('export', '--model', ckpt, '--out', i8, '--int8');
  const size = (f: string) => fs.statSync(f).size;
  expect(size(f16)).toBeLessThan(size(f32) * 0.7);
  expect(size(i8)).toBeLessThan(size(f32) * 0.5);
  expect(readOnnxFile(i8).meta.weights).toBe('int8');
});

test('bad flags and bad model paths are FerErrors', async () => {
  await expect(fer('export', '--model', ckpt, '--out', path.join(tmp, 'x.onnx'), '--fp16', '--int8')).rejects.toThrow(FerError);
  await expect(fer('export', '--model', ckpt)).rejects.toThrow(/Nothing to do/);
  await expect(fer('export', '--model', ckpt, '--out', path.join(tmp, 'x.bin'))).rejects.toThrow(/should end in \.onnx/);
  await expect(fer('export', '--model', path.join(tmp, 'missing'), '--out', path.join(tmp, 'x.onnx'))).rejects.toThrow(/No model at/);
  expect(fs.existsSync(path.join(tmp, 'x.onnx'))).toBe(false);
});

test('outputs that would destroy something are refused before any work, naming the path', async () => {
  // --out is an existing folder: a FerError, not EISDIR after the conversion
  const dirOut = path.join(tmp, 'taken.onnx');
  fs.mkdirSync(dirOut);
  await expect(fer('export', '--model', ckpt, '--out', dirOut)).rejects.toThrow(/--out .*taken\.onnx is a folder: pass a file path/);
  // --web over a file would delete it
  const file = path.join(tmp, 'keep.onnx');
  fs.writeFileSync(file, 'precious');
  await expect(fer('export', '--model', ckpt, '--web', file)).rejects.toThrow(/keep\.onnx is a file, not a folder/);
  expect(fs.readFileSync(file, 'utf8')).toBe('precious');
  // --web on the checkpoint (or around it) would replace the model being exported
  await expect(fer('export', '--model', ckpt, '--web', ckpt)).rejects.toThrow(/would replace the model being exported/);
  await expect(fer('export', '--model', ckpt, '--web', path.join(ckpt, 'best'))).rejects.toThrow(/would replace the model being exported/);
  await expect(fer('export', '--model', ckpt, '--web', tmp)).rejects.toThrow(FerError);
  expect(fs.existsSync(path.join(ckpt, 'best', 'model.json'))).toBe(true);
  expect(logs).toEqual([]); // nothing was loaded or written
});

test('an .onnx as --model says it is already ONNX and what to pass instead', async () => {
  const onnxFile = path.join(tmp, 'already.onnx');
  await fer('export', '--model', ckpt, '--out', onnxFile, '--no-verify');
  await expect(fer('export', '--model', onnxFile, '--out', path.join(tmp, 'again.onnx'))).rejects.toThrow(
    /already\.onnx is already an ONNX file: fer export converts a TF\.js checkpoint/,
  );
});
