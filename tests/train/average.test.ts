import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { FerError } from '../../lib/src/errors';
import { averageWeights } from '../../lib/src/train/average';
import { tinyModel } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

const values = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));

describe('averageWeights', () => {
  test('each weight, batch-norm statistics included, is the mean over the models', () => {
    const models = [tinyModel(3), tinyModel(3), tinyModel(3)];
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
    const m = tinyModel(3);
    const avg = averageWeights([m]);
    expect(values(avg)).toEqual(values(m.getWeights()));
    tf.dispose(avg);
    m.dispose();
  });

  test('models of another architecture are refused, naming them', () => {
    const a = tinyModel(3);
    const b = tinyModel(4); // another head: same weight names, other shapes
    const c = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] }); // 2 weights, not 7
    expect(() => averageWeights([a, b], ['runs/a', 'runs/b'])).toThrow(/runs\/b's weight \d+ .* is \[\d+,4\].*only models of one architecture/);
    expect(() => averageWeights([a, c], ['runs/a', 'runs/c'])).toThrow(FerError);
    expect(() => averageWeights([a, c], ['runs/a', 'runs/c'])).toThrow(/runs\/c has 2 weights, runs\/a 7/);
    expect(() => averageWeights([])).toThrow(/at least one model/);
    [a, b, c].forEach((m) => m.dispose());
  });
});
