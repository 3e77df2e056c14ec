/**
 * Data-parallel onnxruntime training (train/ort/pool.ts): shares of a batch in worker threads must add up to the
 * whole batch's step. Without batch norm that is exact (up to float rounding); with it, each share normalises with
 * its own statistics, but the statistics reported for the moving averages must be the whole batch's.
 * The workers run the built script (lib/dist/train/ort/worker.js): `npm test` builds first.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { createOptimizer } from '../../lib/src/train/optimizers';
import { OrtStepRunner } from '../../lib/src/train/ort';
import type { LossOptions } from '../../lib/src/train/loss';
import { train, trainWorkers } from '../../lib/src/train/trainer';
import { syntheticDataset, testConfig, tinyModel, tmpDir } from './helpers';

beforeAll(async () => {
  await initBackend('cpu');
});

const S = 48;
const K = 4;
const seeded = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }) });

/** Convs on both paths (24x24 Conv, 6x6 im2col), a dropout head: no batch norm, so shares add up exactly. */
function plainModel(): tf.LayersModel {
  const input = tf.input({ shape: [S, S, 1] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', ...seeded(1) }).apply(input) as tf.SymbolicTensor; // 24
  x = tf.layers.maxPooling2d({ poolSize: 4 }).apply(x) as tf.SymbolicTensor; // 6
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', ...seeded(2) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.5 }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: K, activation: 'softmax', ...seeded(3) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function bnModel(): tf.LayersModel {
  const input = tf.input({ shape: [S, S, 1] });
  let x = tf.layers.conv2d({ filters: 5, kernelSize: 3, strides: 4, padding: 'same', useBias: false, ...seeded(4) }).apply(input) as tf.SymbolicTensor; // 12
  x = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', useBias: false, ...seeded(5) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: K, activation: 'softmax', ...seeded(6) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function batch(n: number): { x: Float32Array; t: Float32Array } {
  const x = new Float32Array(n * S * S);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.377 + (i % 97) * 0.05 + Math.floor(i / (S * S)));
  const t = new Float32Array(n * K);
  for (let i = 0; i < n; i++) t[i * K + ((i * 3) % K)] = 1;
  return { x, t };
}

/** Unequal class weights: each share's loss weights must be normalised over the whole batch. */
const loss: LossOptions = { labelSmoothing: 0.1, classWeights: [1, 2.5, 0.5, 1], fromLogits: false };

function expectClose(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(worst).toBeLessThanOrEqual(tolerance * Math.max(scale, 1e-3));
}

/** A one-session runner and a `workers`-worker runner of the same model, closed after `fn`. */
async function withRunners(model: tf.LayersModel, workers: number, fn: (single: OrtStepRunner, pooled: OrtStepRunner) => Promise<void>): Promise<void> {
  const single = await OrtStepRunner.create(model, createOptimizer({ name: 'adam' }), loss, { threads: 1 });
  const pooled = await OrtStepRunner.create(model, createOptimizer({ name: 'adam' }), loss, { threads: 2, workers });
  try {
    await fn(single, pooled);
  } finally {
    await single.close();
    await pooled.close();
  }
}

describe('data-parallel onnxruntime workers', () => {
  it('give the whole batch\'s loss, logits and gradients for a model without batch norm (odd batch, dropout, class weights)', async () => {
    const model = plainModel();
    const { x, t } = batch(7);
    await withRunners(model, 2, async (single, pooled) => {
      const a = await single.gradients(x, t, 7, 123);
      const b = await pooled.gradients(x, t, 7, 123);
      expect(b.loss).toBeCloseTo(a.loss, 5);
      expectClose(b.logits, a.logits, 1e-5);
      expect(b.grads).toHaveLength(a.grads.length);
      a.grads.forEach((g, i) => expectClose(b.grads[i], g, 1e-4));
      // a different step seed draws a different dropout mask in both
      const c = await pooled.gradients(x, t, 7, 124);
      expect(c.loss).not.toBeCloseTo(b.loss, 6);
    });
  });

  it('report the whole batch\'s batch-norm statistics and train the shared weights', async () => {
    const model = bnModel();
    const { x, t } = batch(9);
    await withRunners(model, 3, async (single, pooled) => {
      const a = await single.gradients(x, t, 9, 1);
      const b = await pooled.gradients(x, t, 9, 1);
      // the first batch norm sees the same inputs either way: its combined statistics are the whole batch's
      expectClose(b.batchStats[0].mean, a.batchStats[0].mean, 1e-5);
      expectClose(b.batchStats[0].variance, a.batchStats[0].variance, 1e-5);
      // ... while each share is normalised with its own statistics: the loss differs from the one-session loss,
      // which shows the batch really was split
      expect(Math.abs(b.loss - a.loss)).toBeGreaterThan(1e-4);
      // a step updates the model's variables from the shared weights; the next step's loss uses them
      const before = model.getWeights()[0].dataSync().slice();
      const first = await pooled.run(x, t, 9, 0.01, 2);
      const after = model.getWeights()[0].dataSync();
      expect(Array.from(after)).not.toEqual(Array.from(before));
      let second = first;
      for (let s = 3; s < 8; s++) second = await pooled.run(x, t, 9, 0.01, s);
      expect(second.loss).toBeLessThan(first.loss);
      expect(Number.isFinite(second.loss)).toBe(true);
    });
  });
});

describe('fer train over onnxruntime workers', () => {
  test('auto picks one worker per core (at most --threads) while every share keeps 32 images, none on TF.js; a number is taken as given', () => {
    expect(trainWorkers({ workers: 0, batchSize: 64, threads: 0 }, 'onnxruntime', 2)).toBe(2);
    expect(trainWorkers({ workers: 0, batchSize: 64, threads: 1 }, 'onnxruntime', 2)).toBe(1);
    expect(trainWorkers({ workers: 0, batchSize: 64, threads: 0 }, 'onnxruntime', 8)).toBe(2);
    expect(trainWorkers({ workers: 0, batchSize: 256, threads: 0 }, 'onnxruntime', 4)).toBe(4);
    expect(trainWorkers({ workers: 0, batchSize: 48, threads: 0 }, 'onnxruntime', 2)).toBe(1);
    expect(trainWorkers({ workers: 0, batchSize: 64, threads: 0 }, 'onnxruntime', 1)).toBe(1);
    expect(trainWorkers({ workers: 0, batchSize: 64, threads: 0 }, 'tfjs', 2)).toBe(1);
    expect(trainWorkers({ workers: 3, batchSize: 16, threads: 0 }, 'onnxruntime', 2)).toBe(3);
  });

  test('a run with --workers 2 learns, records the engine and keeps memory flat', async () => {
    await initBackend('wasm');
    const counts: number[] = [];
    const logs: string[] = [];
    const result = await train(testConfig(tmpDir(), { engine: 'onnxruntime', workers: 2, epochs: 5, lr: 3e-3, augment: 'light' }), {
      dataset: syntheticDataset(3, 24, 6), createModel: () => tinyModel(3), onEpoch: () => void counts.push(tf.memory().numTensors),
      onLog: (m) => logs.push(m),
    });
    expect(logs.some((m) => m.startsWith('Data-parallel training over 2 onnxruntime sessions'))).toBe(true);
    expect(result.history.every((h) => h.engine === 'onnxruntime x2 workers')).toBe(true);
    expect(result.history[4].trainLoss).toBeLessThan(result.history[0].trainLoss);
    expect(result.best!.valAcc).toBeGreaterThan(0.6);
    expect(new Set(counts.slice(1)).size).toBe(1);
    result.model.dispose();
  });
});
