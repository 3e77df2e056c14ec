import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { FerError } from '../../lib/src/errors';
import { averageModelFolders, averageWeights } from '../../lib/src/train/average';
import { recomputeBatchNorm } from '../../lib/src/train/batchnorm';
import { saveModelDir, loadModelDir, ModelMeta } from '../../lib/src/util/model-io';
import { PREPROCESS } from '../../lib/src/transforms/preprocess';
import { exportWeb } from '../../lib/src/export/web';
import { tinyModel, tmpDir } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

const values = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));

/** A tiny model with every weight random, batch-norm statistics and biases included (fresh ones start equal). */
function randomModel(classes = 3, seed = 1): tf.LayersModel {
  const m = tinyModel(classes);
  const ws = m.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed * 100 + i));
  m.setWeights(ws);
  tf.dispose(ws);
  return m;
}

describe('averageWeights', () => {
  test('each weight, batch-norm statistics included, is the mean over the models', () => {
    const models = [randomModel(3, 1), randomModel(3, 2), randomModel(3, 3)];
    const each = models.map((m) => values(m.getWeights()));
    expect(models[0].weights.length).toBeGreaterThan(models[0].trainableWeights.length); // moving mean/variance too
    const avg = averageWeights(models);
    const got = values(avg);
    expect(got.length).toBe(each[0].length);
    got.forEach((w, j) =>
      w.forEach((v, k) => expect(v).toBeCloseTo((each[0][j][k] + each[1][j][k] + each[2][j][k]) / 3, 5)),
    );
    // The inputs are untouched, and the result loads into a model of the same architecture.
    expect(values(models[1].getWeights())).toEqual(each[1]);
    models[0].setWeights(avg);
    expect(values(models[0].getWeights())).toEqual(got);
    tf.dispose(avg);
    models.forEach((m) => m.dispose());
  });

  test('one model averages to itself', () => {
    const m = randomModel();
    const avg = averageWeights([m]);
    expect(values(avg)).toEqual(values(m.getWeights()));
    tf.dispose(avg);
    m.dispose();
  });

  test('models of another architecture are refused, naming them', () => {
    const a = tinyModel(3);
    const b = tinyModel(4); // another head: same layers, other shapes
    const c = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] }); // 2 weights, not 7
    expect(() => averageWeights([a, b], ['runs/a', 'runs/b'])).toThrow(/runs\/b's weight \d+ .* is \[\d+,4\].*only models of one architecture/);
    expect(() => averageWeights([a, c], ['runs/a', 'runs/c'])).toThrow(FerError);
    expect(() => averageWeights([a, c], ['runs/a', 'runs/c'])).toThrow(/runs\/c has 2 weights, runs\/a 7/);
    expect(() => averageWeights([])).toThrow(/at least one model/);
    [a, b, c].forEach((m) => m.dispose());
  });
});

describe('averageModelFolders', () => {
  const meta = (over: Partial<ModelMeta> = {}): ModelMeta => ({
    arch: 'tiny', classes: ['a', 'b', 'c'], preprocess: PREPROCESS, params: 0, training: { epoch: 3 }, ...over,
  });
  let root: string;
  let runA: string; // a run: the model is in best/
  let modelB: string; // a plain model folder
  let expected: number[][];

  beforeAll(async () => {
    root = tmpDir('fer-average-');
    runA = path.join(root, 'run-a');
    modelB = path.join(root, 'model-b');
    const a = randomModel(3, 1);
    const b = randomModel(3, 2);
    await saveModelDir(a, path.join(runA, 'best'), meta());
    await saveModelDir(b, modelB, meta());
    expected = values(averageWeights([a, b]));
    a.dispose();
    b.dispose();
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('a quantized copy (a shipped or exported web folder) is refused, naming it: its weights are rounded', async () => {
    const small = path.join(root, 'web-f16');
    const m = randomModel(3, 3);
    await exportWeb(m, small, meta(), { weights: 'float16' });
    m.dispose();
    const loaded = await loadModelDir(small);
    expect(loaded.quantized).toEqual(['float16']);
    loaded.model.dispose();
    const plain = await loadModelDir(modelB);
    expect(plain.quantized).toEqual([]);
    plain.model.dispose();
    await expect(averageModelFolders([modelB, small], path.join(root, 'avg-q'))).rejects.toThrow(
      /web-f16 stores its weights as float16 .* average the full-precision model folders/);
    expect(fs.existsSync(path.join(root, 'avg-q'))).toBe(false);
  });

  test('writes the average as a model folder whose meta lists its inputs', async () => {
    const out = path.join(root, 'avg');
    const written = await averageModelFolders([runA, modelB], out);
    const { model, meta: saved } = await loadModelDir(out);
    values(model.getWeights()).forEach((w, j) => w.forEach((v, k) => expect(v).toBeCloseTo(expected[j][k], 5)));
    model.dispose();
    expect(saved.averagedFrom).toEqual([runA, modelB]);
    expect(saved.training).toBeUndefined();
    expect(written.arch).toBe('tiny');
    // An earlier average may be replaced.
    await expect(averageModelFolders([modelB, runA], out)).resolves.toMatchObject({ averagedFrom: [modelB, runA] });
  });

  test('with training images, re-estimates the batch-norm statistics of the average instead of averaging them', async () => {
    const images = Uint8Array.from({ length: 32 * 48 * 48 }, (_, i) => (i * 37 + (i >> 11) * 91) % 256);
    const out = path.join(root, 'avg-bn');
    const written = await averageModelFolders([runA, modelB], out, { batchNormImages: images });
    expect(written.batchNormImages).toBe(32);
    const { model, meta: saved } = await loadModelDir(out);
    expect(saved.batchNormImages).toBe(32);
    const moving = model.weights.map((w) => /moving/.test(w.originalName));
    expect(moving.filter(Boolean).length).toBe(2);
    const got = values(model.getWeights());
    // Every other weight is the plain average; the statistics are those of the averaged model on the images.
    got.forEach((w, j) => { if (!moving[j]) w.forEach((v, k) => expect(v).toBeCloseTo(expected[j][k], 5)); });
    const reference = tinyModel(3);
    const avg = expected.map((w, j) => tf.tensor(w, model.weights[j].shape as number[]));
    reference.setWeights(avg);
    tf.dispose(avg);
    recomputeBatchNorm(reference, images);
    const want = values(reference.getWeights());
    got.forEach((w, j) => {
      if (!moving[j]) return;
      w.forEach((v, k) => expect(v).toBeCloseTo(want[j][k], 4));
      expect(w.some((v, k) => Math.abs(v - expected[j][k]) > 0.05)).toBe(true); // not the averaged statistics
    });
    model.dispose();
    reference.dispose();
  });

  test('never writes over an input, a run or a folder of other files', async () => {
    await expect(averageModelFolders([runA, modelB], modelB)).rejects.toThrow(/one of the models to average/);
    await expect(averageModelFolders([runA, modelB], path.join(runA, 'best'))).rejects.toThrow(/one of the models/);
    await expect(averageModelFolders([modelB, modelB], runA)).rejects.toThrow(/holds best.*pick a new or empty folder/);
    expect(fs.existsSync(path.join(runA, 'best', 'model.json'))).toBe(true);
  });

  test('refuses models with other classes, naming the folder', async () => {
    const other = path.join(root, 'other-classes');
    const m = randomModel(3, 3);
    await saveModelDir(m, other, meta({ classes: ['x', 'y', 'z'] }));
    m.dispose();
    await expect(averageModelFolders([modelB, other], path.join(root, 'avg2'))).rejects.toThrow(
      new RegExp(`${other.replace(/[/.-]/g, '\\$&')} has classes x, y, z, not a, b, c`),
    );
    expect(fs.existsSync(path.join(root, 'avg2'))).toBe(false);
  });
});
