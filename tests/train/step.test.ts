import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { createModel } from '../../lib/src/models';
import { createOptimizer } from '../../lib/src/train/optimizers';
import { createTrainStep } from '../../lib/src/train/step';
import { oneHotRows, outputsProbabilities } from '../../lib/src/train/loss';
import { normalizePixels } from '../../lib/src/transforms/preprocess';
import { syntheticDataset, tinyModel } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

function fixedBatch(n: number, classes: number) {
  const ds = syntheticDataset(classes, Math.ceil(n / classes), 0, 5);
  return { x: normalizePixels(ds.pixels.subarray(0, n * 2304)), y: oneHotRows(ds.labels.subarray(0, n), classes) };
}

describe('train step', () => {
  test.each([
    ['a tiny conv net', () => tinyModel(3, false, 1), 3, 12], // seeded: ~1.5% of random draws overshoot at lr 1e-2
    ['vgg-small (the shipped family)', () => createModel('vgg-small', { numClasses: 7, dropout: 0 }), 7, 8],
  ])('one step lowers the loss on a fixed batch: %s', (_name, build, classes, n) => {
    const model = build();
    const opt = createOptimizer({ name: 'adam' });
    const step = createTrainStep(model, opt, { labelSmoothing: 0.1, fromLogits: !outputsProbabilities(model) });
    const { x, y } = fixedBatch(n, classes);
    const before = tf.memory().numTensors;
    const first = step(x, y, n, 1e-2);
    const second = step(x, y, n, 1e-2);
    expect(Number.isFinite(first.loss)).toBe(true);
    expect(second.loss).toBeLessThan(first.loss);
    // the step leaves only its optimizer slots behind (2 per trainable variable, created on the first step)
    expect(tf.memory().numTensors - before).toBe(2 * model.trainableWeights.length);
    step(x, y, n, 1e-2);
    expect(tf.memory().numTensors - before).toBe(2 * model.trainableWeights.length);
    opt.dispose();
    model.dispose();
  });
});
