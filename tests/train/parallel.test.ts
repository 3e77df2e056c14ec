/** Data-parallel steps over worker threads (uses the built worker script in lib/dist: `npx tsc -p lib`). */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { createOptimizer } from '../../lib/src/train/optimizers';
import { localStepRunner } from '../../lib/src/train/step';
import { parallelStepRunner } from '../../lib/src/train/parallel';
import { oneHotRows } from '../../lib/src/train/loss';
import { normalizePixels } from '../../lib/src/transforms/preprocess';
import { train } from '../../lib/src/train/trainer';
import { syntheticDataset, testConfig, tinyModel, tmpDir, weightValues } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

/** conv + dense, no batch norm or dropout: a data-parallel step must equal the one-batch step. */
function plainModel(): tf.LayersModel {
  const input = tf.input({ shape: [48, 48, 1] });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: y });
}

describe('data-parallel training', () => {
  test.each([
    ['equal shares', undefined, 10],
    ['class weights and an odd batch', [0.5, 2, 1], 11],
  ])('two workers give the one-batch step (%s)', async (_name, classWeights, n) => {
    const ds = syntheticDataset(3, 4, 0, 9);
    const x = normalizePixels(ds.pixels.subarray(0, n * 2304));
    const y = oneHotRows(ds.labels.subarray(0, n), 3);
    const loss = { labelSmoothing: 0.1, classWeights };
    const a = plainModel();
    const b = plainModel();
    b.setWeights(a.getWeights());
    const optA = createOptimizer({ name: 'adam' });
    const optB = createOptimizer({ name: 'adam' });
    const local = localStepRunner(a, optA, loss);
    const parallel = await parallelStepRunner(b, optB, loss, { workers: 2, backend: 'wasm' });
    try {
      for (let s = 0; s < 3; s++) {
        const ra = await local.run(x, y, n, 0.01, s);
        const rb = await parallel.run(x, y, n, 0.01, s);
        expect(rb.loss).toBeCloseTo(ra.loss, 5);
        expect(rb.correct).toBe(ra.correct);
      }
      const wa = weightValues(a);
      const wb = weightValues(b);
      wa.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(wb[i][j] - v)).toBeLessThan(1e-5)));
      // and the weights did move
      expect(wa[0].some((v, j) => v !== (plainModel().getWeights()[0].dataSync() as Float32Array)[j])).toBe(true);
    } finally {
      await parallel.close();
      [optA, optB].forEach((o) => o.dispose());
      [a, b].forEach((m) => m.dispose());
    }
  });

  test('with batch norm the moving averages get the whole batch statistics', async () => {
    const bnModel = () => {
      const input = tf.input({ shape: [48, 48, 1] });
      let x = tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
      const y = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: y });
    };
    const ds = syntheticDataset(3, 4, 0, 9);
    const n = 12;
    const x = normalizePixels(ds.pixels.subarray(0, n * 2304));
    // the second share is brighter, so the shares' channel means differ
    for (let i = (n / 2) * 2304; i < n * 2304; i++) x[i] += 2;
    const y = oneHotRows(ds.labels.subarray(0, n), 3);
    const a = bnModel();
    const b = bnModel();
    b.setWeights(a.getWeights());
    const optA = createOptimizer({ name: 'adam' });
    const optB = createOptimizer({ name: 'adam' });
    const parallel = await parallelStepRunner(b, optB, {}, { workers: 2, backend: 'wasm' });
    try {
      await localStepRunner(a, optA, {}).run(x, y, n, 0.01, 0);
      await parallel.run(x, y, n, 0.01, 0);
      const stats = (m: tf.LayersModel) => m.nonTrainableWeights.map((w) => Array.from(w.read().dataSync()));
      const [meanA, varA] = stats(a);
      const [meanB, varB] = stats(b);
      meanA.forEach((v, c) => expect(meanB[c]).toBeCloseTo(v, 5));
      varA.forEach((v, c) => expect(varB[c]).toBeCloseTo(v, 5));
    } finally {
      await parallel.close();
      [optA, optB].forEach((o) => o.dispose());
      [a, b].forEach((m) => m.dispose());
    }
  });

  test('the trainer with 2 workers learns, keeps memory flat and resumes exactly', async () => {
    const ds = syntheticDataset(3, 24, 6);
    const factory = () => tinyModel(3);
    const over = { epochs: 3, workers: 2, lr: 3e-3, augment: 'light' as const };
    const counts: number[] = [];
    const unbroken = await train(testConfig(tmpDir(), over), {
      dataset: ds, createModel: factory, onEpoch: () => void counts.push(tf.memory().numTensors),
    });
    expect(unbroken.history[2].trainLoss).toBeLessThan(unbroken.history[0].trainLoss);
    expect(new Set(counts).size).toBe(1);
    const out = tmpDir();
    const controller = new AbortController();
    const first = await train(testConfig(out, over), {
      dataset: ds, createModel: factory, signal: controller.signal,
      onBatch: (b) => { if (b.epoch === 1 && b.batch === 1) controller.abort(); },
    });
    expect(first.stoppedBy).toBe('interrupted');
    first.model.dispose();
    const resumed = await train(testConfig(out, { ...over, resume: true }), { dataset: ds, createModel: factory });
    const a = weightValues(unbroken.model);
    const b = weightValues(resumed.model);
    a.forEach((w, i) => expect(Array.from(b[i])).toEqual(Array.from(w)));
    unbroken.model.dispose();
    resumed.model.dispose();
  });
});
