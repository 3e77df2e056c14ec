import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { encodeTfjsWeights, exportWeb, maxAbsDiff, quantizeUint8, randomCrops, uint8Quantizes } from '../../lib/src/export';
import { defaultMeta, loadModelDir } from '../../lib/src/util/model-io';
import { pixelsToTensor } from '../../lib/src/transforms/preprocess';
import { kitchenSinkModel, randomizeWeights } from './fixtures';

let tmp: string;
beforeAll(async () => {
  await initBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-web-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const predict = (m: tf.LayersModel, px: Uint8Array) =>
  tf.tidy(() => (m.predict(pixelsToTensor(px)) as tf.Tensor).dataSync() as Float32Array);

test('web format: model.json + several shards + meta.json, loads back with the same outputs', async () => {
  const model = kitchenSinkModel();
  const dir = path.join(tmp, 'web');
  const result = await exportWeb(model, dir, defaultMeta('kitchen', model), { shardBytes: 8 * 1024 });
  const files = fs.readdirSync(dir).sort();
  const shards = files.filter((f) => /^group1-shard\d+of\d+\.bin$/.test(f));
  expect(shards.length).toBe(Math.ceil(result.weightBytes / 8192));
  expect(shards.length).toBeGreaterThan(1);
  expect(files).toEqual(expect.arrayContaining(['model.json', 'meta.json']));
  expect(files.some((f) => f.includes('.tmp-'))).toBe(false);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  expect(json.weightsManifest[0].paths).toEqual(result.files.filter((f) => f.endsWith('.bin')));
  const { model: back, meta } = await loadModelDir(dir);
  expect(meta.arch).toBe('kitchen');
  const px = randomCrops(3);
  expect(maxAbsDiff(predict(back, px), predict(model, px))).toBe(0);
  model.dispose();
  back.dispose();
});

test('float16 web weights: half the bytes, outputs within 2e-3', async () => {
  const model = kitchenSinkModel();
  const full = await exportWeb(model, path.join(tmp, 'w32'), defaultMeta('kitchen', model));
  const half = await exportWeb(model, path.join(tmp, 'w16'), defaultMeta('kitchen', model), { weights: 'float16' });
  expect(half.weightBytes).toBe(full.weightBytes / 2);
  const { model: back } = await loadModelDir(path.join(tmp, 'w16'));
  const px = randomCrops(3);
  expect(maxAbsDiff(predict(back, px), predict(model, px))).toBeLessThan(2e-3);
  model.dispose();
  back.dispose();
});

test('uint8 codes: 0 stays exactly 0, every value within half a step, constant tensors survive', () => {
  const values = Float32Array.from([-0.8, -0.1, 0, 0.05, 0.3, 1.7]);
  const { codes, scale, min } = quantizeUint8(values);
  const decoded = Array.from(codes, (c) => c * scale + min);
  expect(decoded[2]).toBe(0);
  values.forEach((v, i) => expect(Math.abs(decoded[i] - v)).toBeLessThanOrEqual(scale / 2 + 1e-7));
  expect(scale).toBeCloseTo(2.5 / 255, 6);
  const constant = quantizeUint8(new Float32Array(5).fill(0.25));
  expect(Array.from(constant.codes, (c) => c * constant.scale + constant.min)).toEqual(new Array(5).fill(0.25));
});

test('uint8 web weights: kernels as uint8 (a quarter), small and 1-D tensors float32; loads back close to float32', async () => {
  const model = kitchenSinkModel();
  randomizeWeights(model);
  const full = await exportWeb(model, path.join(tmp, 'u32'), defaultMeta('kitchen', model));
  const small = await exportWeb(model, path.join(tmp, 'u8'), defaultMeta('kitchen', model), { weights: 'uint8' });
  const json = JSON.parse(fs.readFileSync(path.join(tmp, 'u8', 'model.json'), 'utf8'));
  const specs: tf.io.WeightsManifestEntry[] = json.weightsManifest[0].weights;
  const size = (s: tf.io.WeightsManifestEntry) => s.shape.reduce((a, b) => a * b, 1);
  const big = specs.filter((s) => s.shape.length >= 2 && size(s) >= 1024);
  expect(big.length).toBeGreaterThan(0);
  expect(specs.some((s) => s.shape.length === 1)).toBe(true);
  for (const s of specs) expect(s.quantization?.dtype).toBe(uint8Quantizes(s) ? 'uint8' : undefined);
  expect(specs.filter(uint8Quantizes)).toEqual(big);
  const bigValues = big.reduce((n, s) => n + size(s), 0);
  expect(small.weightBytes).toBe(full.weightBytes - 3 * bigValues);
  const { model: back } = await loadModelDir(path.join(tmp, 'u8'));
  const px = randomCrops(8);
  const diff = maxAbsDiff(predict(back, px), predict(model, px));
  expect(diff).toBeGreaterThan(0);
  expect(diff).toBeLessThan(0.05);
  model.dispose();
  back.dispose();
});

test('a weight that is not finite is an error naming it, not a silent 0', () => {
  const spec: tf.io.WeightsManifestEntry = { name: 'conv/kernel', shape: [32, 32], dtype: 'float32' };
  const values = new Float32Array(1024).fill(0.5);
  values[7] = NaN;
  expect(() => encodeTfjsWeights({ specs: [spec], data: new Uint8Array(values.buffer) }, 'uint8')).toThrow(/conv\/kernel: A weight is NaN/);
  values[7] = Infinity;
  expect(() => encodeTfjsWeights({ specs: [spec], data: new Uint8Array(values.buffer) }, 'uint8')).toThrow(/Infinity/);
});

test('quantized TF.js weights are not quantized again', () => {
  const spec: tf.io.WeightsManifestEntry = { name: 'k', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } };
  expect(() => encodeTfjsWeights({ specs: [spec], data: new Uint8Array(4) }, 'uint8')).toThrow(/plain float32 weights only/);
});

test('a folder of other files is not replaced (it would be deleted); an earlier web export is', async () => {
  const model = kitchenSinkModel();
  const meta = defaultMeta('kitchen', model);
  const other = path.join(tmp, 'photos');
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, 'holiday.jpg'), 'x');
  await expect(exportWeb(model, other, meta)).rejects.toThrow(/photos already holds other files \(holiday\.jpg\).*pick a new or empty folder/);
  expect(fs.readdirSync(other)).toEqual(['holiday.jpg']);
  const again = path.join(tmp, 'web-again');
  await exportWeb(model, again, meta);
  fs.writeFileSync(path.join(again, 'stale.bin'), 'old shard');
  await exportWeb(model, again, meta); // replaces its own earlier output
  expect(fs.readdirSync(again)).not.toContain('stale.bin');
  model.dispose();
});
