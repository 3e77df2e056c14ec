import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { WeightEma } from '../../lib/src/train/ema';
import { train } from '../../lib/src/train/trainer';
import { readCheckpoint } from '../../lib/src/train/checkpoint';
import { syntheticDataset, testConfig, tinyModel, tmpDir } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Every weight of a model (model.weights order: kernels and batch-norm statistics), as plain arrays. */
const allWeights = (m: tf.LayersModel) => m.weights.map((w) => Array.from(w.read().dataSync()));

/** A one-weight model (dense 1 -> 1, no bias) whose kernel is set by hand. */
function oneWeight(value: number): tf.LayersModel {
  const input = tf.input({ shape: [1] });
  const out = tf.layers.dense({ units: 1, useBias: false }).apply(input) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  setWeight(m, value);
  return m;
}

function setWeight(m: tf.LayersModel, value: number): void {
  tf.tidy(() => (m.trainableWeights[0].read() as tf.Variable).assign(tf.tensor2d([[value]])));
}

describe('WeightEma', () => {
  test('the plain mean of all weights so far until 1/(1 - decay) updates, then an exponential average', () => {
    const m = oneWeight(0);
    const ema = WeightEma.start(m, 0.75);
    expect(ema.currentDecay()).toBe(0.5); // n / (n + 1) at the first update
    setWeight(m, 10);
    ema.update(m); // mean of 0 and 10
    expect(ema.state().weights[0][0]).toBeCloseTo(5, 5);
    setWeight(m, 20);
    ema.update(m); // mean of 0, 10, 20
    expect(ema.state().weights[0][0]).toBeCloseTo(10, 5);
    expect(ema.currentDecay()).toBe(0.75); // 3/4: from here on capped at decay
    setWeight(m, 30);
    ema.update(m); // 0.75 * 10 + 0.25 * 30
    expect(ema.state().weights[0][0]).toBeCloseTo(15, 5);
    ema.update(m);
    expect(ema.state().weights[0][0]).toBeCloseTo(0.75 * 15 + 0.25 * 30, 5);
    expect(ema.state().updates).toBe(4);
    m.dispose();
  });

  test("with a warm-up power the decay follows timm's 1 - (1 + n)^-p, capped at decay", () => {
    const m = oneWeight(0);
    const ema = WeightEma.start(m, 0.999, 0.75);
    expect(ema.currentDecay()).toBeCloseTo(1 - 2 ** -0.75, 12); // n = 1: 0.405, where the mean rule gives 0.5
    setWeight(m, 10);
    ema.update(m);
    expect(ema.state().weights[0][0]).toBeCloseTo(10 * 2 ** -0.75, 5);
    const late = WeightEma.restore(m, { ...ema.state(), updates: 999 });
    expect(late.currentDecay()).toBeCloseTo(1 - 1001 ** -0.75, 12); // a window of ~178 steps at step 1000
    expect(late.currentDecay()).toBeLessThan(1000 / 1001); // the mean rule's window there is 1000 steps
    expect(WeightEma.restore(m, { ...ema.state(), updates: 1e5 }).currentDecay()).toBe(0.999);
    expect(() => WeightEma.start(m, 0.99, 1.5)).toThrow(/warm-up power/);
    m.dispose();
  });

  test('update reads the arrays it is given for a variable instead of the backend (a step runner\'s own copy)', () => {
    const m = oneWeight(0);
    const ema = WeightEma.start(m, 0.75);
    const kernel = m.trainableWeights[0].read() as tf.Variable;
    ema.update(m, new Map([[kernel, Float32Array.of(12)]])); // the variable itself still holds 0
    expect(ema.state().weights[0][0]).toBeCloseTo(6, 5); // mean of 0 and 12
    ema.update(m, new Map()); // nothing known: the variable's value, 0
    expect(ema.state().weights[0][0]).toBeCloseTo(4, 5); // mean of 0, 12, 0
    // an array of the wrong size would poison the average with NaN (or cut it short): refused, average unchanged
    expect(() => ema.update(m, new Map([[kernel, new Float32Array(0)]]))).toThrow(/has 0 values, its average 1/);
    expect(ema.state().weights[0][0]).toBeCloseTo(4, 5);
    m.dispose();
  });

  test('withAveragedWeights runs with the average and puts the own weights back, also after a throw', async () => {
    const m = oneWeight(4);
    const ema = WeightEma.start(m, 0.9);
    setWeight(m, 8);
    const seen = await ema.withAveragedWeights(m, async () => allWeights(m)[0][0]);
    expect(seen).toBe(4);
    expect(allWeights(m)[0][0]).toBe(8);
    await expect(ema.withAveragedWeights(m, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(allWeights(m)[0][0]).toBe(8);
    const tensors = tf.memory().numTensors;
    await ema.withAveragedWeights(m, async () => undefined);
    expect(tf.memory().numTensors).toBe(tensors);
    m.dispose();
  });

  test('a saved average that does not fit the model is refused; bad decays are refused', () => {
    const m = oneWeight(1);
    expect(() => WeightEma.restore(m, { decay: 0.9, updates: 3, warmupPower: 0, weights: [new Float32Array(2)] })).toThrow(/weights of other sizes/);
    expect(() => WeightEma.start(m, 1)).toThrow(/decay/);
    m.dispose();
  });
});

describe('training with ema', () => {
  const ds = syntheticDataset(3, 24, 6);
  const factory = () => tinyModel(3);

  test('validates and keeps the averaged weights, records the own ones, and resumes exactly', async () => {
    const over = { epochs: 3, ema: 0.9, lr: 3e-3 };
    let atBest: number[][] = [];
    const unbroken = await train(testConfig(tmpDir(), over), {
      dataset: ds, createModel: factory, onEpoch: ({ isBest, model }) => { if (isBest) atBest = allWeights(model); },
    });
    // best/ holds the averaged weights of the best epoch (what onEpoch saw then)
    const bestOfUnbroken = await readCheckpoint(path.join(unbroken.out, 'best'));
    expect(allWeights(bestOfUnbroken.model)).toEqual(atBest);
    bestOfUnbroken.model.dispose();
    const h = unbroken.history;
    expect(h).toHaveLength(3);
    for (const r of h) {
      expect(r.rawValAcc).toBeGreaterThanOrEqual(0);
      expect(r.rawValLoss).toBeGreaterThan(0);
    }
    // the averaged weights lag the own ones: different validation losses
    expect(h.some((r) => r.valLoss !== r.rawValLoss)).toBe(true);
    const last = await readCheckpoint(path.join(unbroken.out, 'last'));
    expect(last.ema?.updates).toBe(9); // 3 epochs of 3 batches
    // the returned model holds the average; last/ holds the own weights for resuming
    const returned = allWeights(unbroken.model);
    last.ema!.weights.forEach((w, i) => expect(Array.from(w)).toEqual(returned[i]));
    expect(allWeights(last.model)).not.toEqual(returned);
    const csv = fs.readFileSync(path.join(unbroken.out, 'history.csv'), 'utf8').trim().split('\n');
    expect(csv[1].split(',')).toHaveLength(11);
    last.model.dispose();

    const out = tmpDir();
    const controller = new AbortController();
    const first = await train(testConfig(out, over), {
      dataset: ds, createModel: factory, signal: controller.signal,
      onBatch: (b) => { if (b.epoch === 1 && b.batch === 2) controller.abort(); },
    });
    expect(first.stoppedBy).toBe('interrupted');
    first.model.dispose();
    const resumed = await train(testConfig(out, { ...over, resume: true }), { dataset: ds, createModel: factory });
    expect(allWeights(resumed.model)).toEqual(returned);
    const best = await readCheckpoint(path.join(out, 'best'));
    expect(best.state?.best?.valAcc).toBe(Math.max(...h.map((r) => r.valAcc)));
    best.model.dispose();
    unbroken.model.dispose();
    resumed.model.dispose();
  });

  test('on the onnxruntime engine the average follows the steps too', async () => {
    const result = await train(testConfig(tmpDir(), { epochs: 2, ema: 0.9, emaWarmup: 0.75, lr: 3e-3, engine: 'onnxruntime', workers: 1 }), {
      dataset: ds, createModel: factory,
    });
    expect(result.engine).toBe('onnxruntime');
    const last = await readCheckpoint(path.join(result.out, 'last'));
    expect(last.ema).toMatchObject({ updates: 6, warmupPower: 0.75 });
    const averaged = allWeights(result.model);
    last.ema!.weights.forEach((w, i) => expect(Array.from(w)).toEqual(averaged[i]));
    expect(allWeights(last.model)).not.toEqual(averaged);
    expect(result.history[1].valLoss).not.toBe(result.history[1].rawValLoss);
    last.model.dispose();
    result.model.dispose();
  });

  test.each(['tfjs', 'onnxruntime'] as const)('the average leaves training alone (%s): last/ holds the weights a run without ema has', async (engine) => {
    const over = { epochs: 2, lr: 3e-3, engine, workers: 1 };
    const without = await train(testConfig(tmpDir(), over), { dataset: ds, createModel: factory });
    const withEma = await train(testConfig(tmpDir(), { ...over, ema: 0.9 }), { dataset: ds, createModel: factory });
    const a = await readCheckpoint(path.join(without.out, 'last'));
    const b = await readCheckpoint(path.join(withEma.out, 'last'));
    expect(allWeights(b.model)).toEqual(allWeights(a.model));
    expect(withEma.history.map((r) => r.rawValLoss)).toEqual(without.history.map((r) => r.valLoss));
    for (const m of [a.model, b.model, without.model, withEma.model]) m.dispose();
  });

  test('a run saved without its average cannot resume with ema', async () => {
    const out = tmpDir();
    const first = await train(testConfig(out, { epochs: 1, ema: 0.9 }), { dataset: ds, createModel: factory });
    first.model.dispose();
    fs.rmSync(path.join(out, 'last', 'ema.json'));
    await expect(train(testConfig(out, { epochs: 2, ema: 0.9, resume: true }), { dataset: ds, createModel: factory }))
      .rejects.toThrow(/no weight average \(ema\.json\)/);
  });
});
