import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { exportWeb, maxAbsDiff, randomCrops } from '../../lib/src/export';
import { defaultMeta, loadModelDir } from '../../lib/src/util/model-io';
import { pixelsToTensor } from '../../lib/src/transforms/preprocess';
import { kitchenSinkModel } from './fixtures';

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
  const half = await exportWeb(model, path.join(tmp, 'w16'), defaultMeta('kitchen', model), { float16: true });
  expect(half.weightBytes).toBe(full.weightBytes / 2);
  const { model: back } = await loadModelDir(path.join(tmp, 'w16'));
  const px = randomCrops(3);
  expect(maxAbsDiff(predict(back, px), predict(model, px))).toBeLessThan(2e-3);
  model.dispose();
  back.dispose();
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
