import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { EMOTIONS } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import { defaultMeta, expectedWeightBytes, loadModelDir, readModelMeta, saveModelDir } from '../../lib/src/util/model-io';

let root: string;
let good: string;
beforeAll(async () => {
  await initBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-modelio-'));
  good = path.join(root, 'good');
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [48, 48, 1] }), tf.layers.dense({ units: 7, activation: 'softmax' })] });
  await saveModelDir(m, good, defaultMeta('tiny-dense', m));
  m.dispose();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A copy of the good model folder with one file changed. */
function variant(name: string, change: (dir: string) => void): string {
  const dir = path.join(root, name);
  fs.cpSync(good, dir, { recursive: true });
  change(dir);
  return dir;
}

test('a saved folder loads back with its meta, and the byte count matches the manifest', async () => {
  const { model, meta } = await loadModelDir(good);
  expect(meta.arch).toBe('tiny-dense');
  expect(model.outputs[0].shape).toEqual([null, 7]);
  model.dispose();
  const manifest = JSON.parse(fs.readFileSync(path.join(good, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  expect(expectedWeightBytes(manifest.weightsManifest[0].weights)).toBe(fs.statSync(path.join(good, 'weights.bin')).size);
  expect(expectedWeightBytes([{ name: 'w', shape: [10], dtype: 'float32', quantization: { dtype: 'float16' } }])).toBe(20);
});

test('truncated weights.bin: a FerError naming the weight file and model.json (not a TF.js shape message)', async () => {
  const dir = variant('truncated', (d) => {
    const bin = path.join(d, 'weights.bin');
    fs.writeFileSync(bin, fs.readFileSync(bin).subarray(0, 1000));
  });
  const err = await loadModelDir(dir).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FerError);
  expect((err as Error).message).toMatch(/weights\.bin holds 1000 bytes but .*model\.json describes 64540: .*truncated/);
});

test('a topology TF.js cannot build: a FerError naming model.json', async () => {
  const dir = variant('badtopology', (d) => {
    const file = path.join(d, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { modelTopology: { class_name: string } };
    json.modelTopology.class_name = 'NoSuchModel';
    fs.writeFileSync(file, JSON.stringify(json));
  });
  await expect(loadModelDir(dir)).rejects.toThrow(/model\.json could not be loaded as a TF\.js layers model/);
});

test('meta.json: defaults fill missing fields; wrong classes or a non-object are FerErrors naming the file', () => {
  const partial = variant('partialmeta', (d) => fs.writeFileSync(path.join(d, 'meta.json'), '{"arch": "x"}'));
  expect(readModelMeta(partial)).toMatchObject({ arch: 'x', classes: [...EMOTIONS] });
  const badClasses = variant('badclasses', (d) => fs.writeFileSync(path.join(d, 'meta.json'), '{"classes": "happy"}'));
  expect(() => readModelMeta(badClasses)).toThrow(/meta\.json: "classes" must be a list of class names/);
  const notObject = variant('arraymeta', (d) => fs.writeFileSync(path.join(d, 'meta.json'), '[1, 2]'));
  expect(() => readModelMeta(notObject)).toThrow(/meta\.json must hold a JSON object/);
});
