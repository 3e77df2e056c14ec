/**
 * The onnxruntime training engine: its hand-written backward graph must give TF.js's gradients (tf.variableGrads on
 * the cpu backend is the reference), the array optimizer must match the tensor one, and a run must train and resume.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { FerError } from '../../lib/src/errors';
import { crossEntropy, LossOptions } from '../../lib/src/train/loss';
import { createOptimizer } from '../../lib/src/train/optimizers';
import { TrainingGraphOptions, buildTrainingGraph } from '../../lib/src/train/ort/graph';
import { OrtStepRunner, chooseTrainEngine, evaluateSplitOnnx, lossInputs, ortTrainingProblem } from '../../lib/src/train/ort';
import { evaluateSplit, train } from '../../lib/src/train/trainer';
import { prepareTrainingData } from '../../lib/src/train/data';
import { syntheticDataset, testConfig, tinyModel, tmpDir, weightValues } from './helpers';

beforeAll(async () => {
  await initBackend('cpu');
});

const S = 48;

function seeded(seed: number) {
  return { kernelInitializer: tf.initializers.glorotUniform({ seed }) };
}

/** Residual block with a strided 3x3 conv and a strided 1x1 shortcut, an overlapping padded max-pool, a BN'd dense head. */
function residualModel(classes: number): tf.LayersModel {
  const input = tf.input({ shape: [S, S, 1] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, ...seeded(1) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor; // 24
  const y = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', useBias: false, ...seeded(2) }).apply(x) as tf.SymbolicTensor;
  const shortcut = tf.layers.conv2d({ filters: 6, kernelSize: 1, strides: 2, useBias: false, ...seeded(3) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.add().apply([y, shortcut]) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 8, useBias: false, ...seeded(4) }).apply(x) as tf.SymbolicTensor; // a bias before BN has a zero gradient: float noise
  x = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation: 'softmax', ...seeded(5) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** 'valid' convs with bias and a fused relu activation, an odd-sized input to the 2x2 pool (overlap-free but cut). */
function validConvModel(classes: number): tf.LayersModel {
  const input = tf.input({ shape: [S, S, 1] });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 5, strides: 3, activation: 'relu', ...seeded(6) }).apply(input) as tf.SymbolicTensor; // 15
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor; // 7
  x = tf.layers.conv2d({ filters: 5, kernelSize: 3, ...seeded(7) }).apply(x) as tf.SymbolicTensor; // 5
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, ...seeded(8) }).apply(x) as tf.SymbolicTensor; // logits
  return tf.model({ inputs: input, outputs: out });
}

/** Separable convs: stride 1 'same' with bias and a fused relu, then stride 2 'valid' without bias (mini-Xception's layer). */
function separableModel(classes: number): tf.LayersModel {
  const input = tf.input({ shape: [S, S, 1] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', ...seeded(9) }).apply(input) as tf.SymbolicTensor; // 24
  x = tf.layers.separableConv2d({
    filters: 6, kernelSize: 3, padding: 'same', activation: 'relu',
    depthwiseInitializer: tf.initializers.glorotUniform({ seed: 10 }), pointwiseInitializer: tf.initializers.glorotUniform({ seed: 11 }),
  }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.separableConv2d({
    filters: 5, kernelSize: 3, strides: 2, useBias: false,
    depthwiseInitializer: tf.initializers.glorotUniform({ seed: 12 }), pointwiseInitializer: tf.initializers.glorotUniform({ seed: 13 }),
  }).apply(x) as tf.SymbolicTensor; // 11
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation: 'softmax', ...seeded(14) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/**
 * VGG-style 3x3 'same' stacks: with Winograd on, c1 (no input gradient), c2 (no bias) and c3 take it; c4 ('valid')
 * and c5 (an odd 11x11 map) keep the other paths.
 */
function vggModel(classes: number): tf.LayersModel {
  const input = tf.input({ shape: [S, S, 1] });
  const conv = (filters: number, seed: number, o: { useBias?: boolean; padding?: 'same' | 'valid'; activation?: 'relu' } = {}) =>
    tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', ...o, ...seeded(seed) });
  let x = conv(4, 17, { activation: 'relu' }).apply(input) as tf.SymbolicTensor; // c1
  x = conv(5, 18, { useBias: false }).apply(x) as tf.SymbolicTensor; // c2
  x = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor; // 24
  x = conv(6, 19, { activation: 'relu' }).apply(x) as tf.SymbolicTensor; // c3
  x = conv(6, 20, { padding: 'valid' }).apply(x) as tf.SymbolicTensor; // c4: 22
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor; // 11
  x = conv(4, 21, { activation: 'relu' }).apply(x) as tf.SymbolicTensor; // c5
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, ...seeded(22) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function batch(n: number, classes: number): { x: Float32Array; t: Float32Array } {
  const x = new Float32Array(n * S * S);
  for (let i = 0; i < x.length; i++) x[i] = 0.5 + 0.5 * Math.sin(i * 0.731 + Math.cos(i * 0.017));
  const t = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) t[i * classes + ((i * 5) % classes)] = 1;
  return { x, t };
}

function tfjsGradients(model: tf.LayersModel, x: Float32Array, t: Float32Array, n: number, loss: LossOptions) {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const classes = t.length / n;
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => crossEntropy(model.apply(tf.tensor4d(x, [n, S, S, 1]), { training: true }) as tf.Tensor2D, tf.tensor2d(t, [n, classes]), loss),
      vars,
    );
    return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
  });
}

function maxRelError(a: Float32Array, b: Float32Array, floor = 1e-6): number {
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

describe('onnxruntime training graph', () => {
  const cases: Array<[string, (c: number) => tf.LayersModel, LossOptions]> = [
    ['conv s2 + BN + ReLU + 4x4 pool + flatten + softmax', (c) => tinyModel(c, false), { labelSmoothing: 0.1, fromLogits: false }],
    ['residual, overlapping pool, BN on dense, class weights', residualModel, { labelSmoothing: 0.1, classWeights: [1, 3, 0.5], fromLogits: false }],
    ['valid convs with bias, cut pool, logits', validConvModel, { classWeights: [2, 1, 1], fromLogits: true }],
    ['separable convs, stride 1 and 2', separableModel, { labelSmoothing: 0.1, fromLogits: false }],
    ['VGG-style 3x3 stacks, a valid conv, an odd map', vggModel, { labelSmoothing: 0.1, fromLogits: true }],
  ];
  // Each case three times: every convolution on onnxruntime's Conv (stride 1: dx as a flipped-kernel Conv; strided:
  // ConvTranspose), every convolution as im2col + GEMM (dx by the transposed gather), and every one that can as
  // Winograd F(2x2,3x3) (the rest on Conv).
  const paths: Array<[string, Partial<TrainingGraphOptions>]> = [
    ['Conv', { gemmConvMaxPixels: 0, winogradMinChannels: 0 }],
    ['GEMM', { gemmConvMaxPixels: Number.MAX_SAFE_INTEGER, winogradMinChannels: 0 }],
    ['Winograd', { gemmConvMaxPixels: 0, winogradMinChannels: 1 }],
  ];
  const withPaths = cases.flatMap(([name, build, loss]) => paths.map(([path, graph]) => [`${name} (convs as ${path})`, build, loss, graph] as const));
  test.each(withPaths)('gradients equal TF.js: %s', async (_name, build, loss, graph) => {
    const model = build(3);
    const n = 6;
    const { x, t } = batch(n, 3);
    const runner = await OrtStepRunner.create(model, createOptimizer(), loss, { threads: 1, graph });
    const ort = await runner.gradients(x, t, n, 7);
    const ref = tfjsGradients(model, x, t, n, loss);
    expect(ort.loss).toBeCloseTo(ref.loss, 5);
    expect(ort.grads).toHaveLength(ref.grads.length);
    // Relative to each gradient's largest entry, floored at 1e-3 of the largest over all weights: a gradient that
    // is zero in exact arithmetic (a bias before batch norm) is float noise in both engines. Float32 sums over a
    // batch-normalised 48x48 map agree to ~1e-4 here; a wrong gradient is off by O(1).
    const globalMax = Math.max(...ref.grads.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    const errors = ort.grads.map((g, i) => {
      expect(g.length).toBe(ref.grads[i].length);
      return maxRelError(g, ref.grads[i], 1e-3 * globalMax);
    });
    if (process.env.DEBUG_GRADS) console.log(errors.map((e, i) => `${model.trainableWeights[i].name} ${e.toExponential(1)}`).join('\n'));
    for (const e of errors) expect(e).toBeLessThan(2e-3);
    await runner.close();
    model.dispose();
  });

  test('Winograd takes exactly the 3x3 stride-1 same convolutions on even maps with enough channels', () => {
    const model = vggModel(3);
    const winogradConvs = (winogradMinChannels: number) =>
      buildTrainingGraph(model, { winogradMinChannels }).graph.nodes.filter((n) => n.outputs.some((o) => o.endsWith('_wino_m'))).length;
    expect(winogradConvs(0)).toBe(0);
    expect(winogradConvs(1)).toBe(3); // c1, c2, c3
    expect(winogradConvs(5)).toBe(1); // c3 (5 -> 6 channels); c2 reads 4
    model.dispose();
  });

  test('max-pool ties (a blank image) share the gradient instead of multiplying it', async () => {
    // A 1x1 conv (no ReLU) then a 2x2 pool: on a constant image every window is a 4-way tie at a positive value.
    // TF.js gives each window's gradient to one input, the graph splits it over the four; both sum to the same
    // kernel gradient because the tied inputs are equal. Sending it to all four would be 4x too large.
    const input = tf.input({ shape: [S, S, 1] });
    let x = tf.layers.conv2d({ filters: 3, kernelSize: 1, biasInitializer: 'ones', ...seeded(15) }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3, ...seeded(16) }).apply(x) as tf.SymbolicTensor });
    const n = 2;
    const xs = new Float32Array(n * S * S).fill(0.6);
    const t = Float32Array.of(1, 0, 0, 0, 0, 1);
    const loss = { fromLogits: true };
    const runner = await OrtStepRunner.create(model, createOptimizer(), loss, { threads: 1 });
    const ort = await runner.gradients(xs, t, n, 1);
    const ref = tfjsGradients(model, xs, t, n, loss);
    ort.grads.forEach((g, i) => expect(maxRelError(g, ref.grads[i])).toBeLessThan(1e-4));
    await runner.close();
    model.dispose();
  });

  test('a step updates the weights and the batch-norm moving averages as TF.js does', async () => {
    const model = tinyModel(3, false);
    const twin = tinyModel(3, false);
    twin.setWeights(model.getWeights());
    const n = 8;
    const { x, t } = batch(n, 3);
    const loss = { labelSmoothing: 0.1, fromLogits: false };
    const runner = await OrtStepRunner.create(model, createOptimizer({ name: 'adam' }), loss, { threads: 2 });
    await runner.run(x, t, n, 1e-2, 1);
    // the same step in TF.js
    const opt = createOptimizer({ name: 'adam' });
    const vars = twin.trainableWeights.map((w) => w.read() as tf.Variable);
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => crossEntropy(twin.apply(tf.tensor4d(x, [n, S, S, 1]), { training: true }) as tf.Tensor2D, tf.tensor2d(t, [n, 3]), loss),
        vars,
      );
      opt.apply(vars, vars.map((v) => grads[v.name]), 1e-2);
    });
    const a = weightValues(model);
    const b = weightValues(twin);
    expect(a.length).toBe(b.length); // trainable and moving statistics
    a.forEach((w, i) => expect(maxRelError(w, b[i])).toBeLessThan(1e-4));
    expect(maxRelError(a[0], weightValues(tinyModel(3, false))[0])).toBeGreaterThan(0); // it did move
    // the runner's own arrays (what the weight average reads) hold exactly the trainable variables' new values
    const arrays = runner.weightArrays();
    expect(arrays.size).toBe(model.trainableWeights.length);
    for (const w of model.trainableWeights) {
      const v = w.read() as tf.Variable;
      expect(Array.from(arrays.get(v)!)).toEqual(Array.from(v.dataSync()));
    }
    await runner.close();
  });

  test('dropout masks are drawn per step seed', async () => {
    const model = tinyModel(3, true);
    const { x, t } = batch(4, 3);
    const runner = await OrtStepRunner.create(model, createOptimizer(), { fromLogits: false }, { threads: 1 });
    const a = await runner.gradients(x, t, 4, 1);
    const again = await runner.gradients(x, t, 4, 1);
    const other = await runner.gradients(x, t, 4, 2);
    expect(again.loss).toBe(a.loss);
    expect(other.loss).not.toBe(a.loss);
    await runner.close();
  });

  test('label smoothing and class weights become smoothed rows and normalised example weights', () => {
    const t = Float32Array.from([1, 0, 0, 0, 1, 0]);
    const { smoothed, weights } = lossInputs(t, 2, 3, { labelSmoothing: 0.3, classWeights: [1, 3, 1] });
    expect(Array.from(smoothed)).toEqual([0.8, 0.1, 0.1, 0.1, 0.8, 0.1].map((v) => Math.fround(v)));
    expect(Array.from(weights)).toEqual([0.25, 0.75]);
    expect(() => lossInputs(t, 2, 3, { classWeights: [0, 0, 1] })).toThrow(FerError);
  });

  test('unsupported layers are named, and auto falls back to TF.js', () => {
    const input = tf.input({ shape: [S, S, 1] });
    const x = tf.layers.depthwiseConv2d({ kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(x) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(ortTrainingProblem(model)).toMatch(/DepthwiseConv2D.*--engine tfjs/);
    const sep = tf.layers.separableConv2d({ filters: 2, kernelSize: 3, depthMultiplier: 2 }).apply(input) as tf.SymbolicTensor;
    const sepModel = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(sep) as tf.SymbolicTensor) as tf.SymbolicTensor });
    expect(ortTrainingProblem(sepModel)).toMatch(/depth multiplier 2/);
    expect(() => chooseTrainEngine('onnxruntime', model, 'wasm')).toThrow(FerError);
    expect(chooseTrainEngine('auto', model, 'wasm').engine).toBe('tfjs');
    const ok = tinyModel(3);
    expect(chooseTrainEngine('auto', ok, 'wasm').engine).toBe('onnxruntime');
    expect(chooseTrainEngine('auto', ok, 'tensorflow').engine).toBe('tfjs');
    expect(chooseTrainEngine('tfjs', ok, 'wasm').engine).toBe('tfjs');
  });
});

describe('array optimizer', () => {
  test.each([
    ['adam', { name: 'adam' as const, weightDecay: 0.01 }],
    ['sgd', { name: 'sgd' as const, weightDecay: 0.01, momentum: 0.9, nesterov: true }],
  ])('%s on arrays equals %s on tensors, and its state round-trips', async (_n, settings) => {
    const shapes = [[2, 3], [3]];
    const init = [Float32Array.from([1, -2, 0.5, 3, 0, -1]), Float32Array.from([0.1, 0.2, -0.3])];
    const gradAt = (t: number) => [init[0].map((v, i) => Math.sin(v + t + i)), init[1].map((v, i) => Math.cos(v * t + i))];
    const tensorOpt = createOptimizer(settings);
    const vars = init.map((a, i) => tf.variable(tf.tensor(a, shapes[i])));
    const arrayOpt = createOptimizer(settings);
    const arrays = init.map((a) => new Float32Array(a));
    for (let t = 0; t < 5; t++) {
      const g = gradAt(t);
      tf.tidy(() => tensorOpt.apply(vars, g.map((a, i) => tf.tensor(a, shapes[i])), 0.05));
      arrayOpt.applyToArrays(arrays, g, shapes, 0.05);
    }
    arrays.forEach((a, i) => expect(maxRelError(a, vars[i].dataSync() as Float32Array)).toBeLessThan(1e-5));
    // state saved from the array path continues on the tensor path
    const state = await arrayOpt.getState();
    expect(state.step).toBe(5);
    expect(state.shapes).toEqual(shapes);
    const resumed = createOptimizer(settings);
    resumed.setState(state);
    const g = gradAt(5);
    const copies = arrays.map((a, i) => tf.variable(tf.tensor(a, shapes[i])));
    tf.tidy(() => resumed.apply(copies, g.map((a, i) => tf.tensor(a, shapes[i])), 0.05));
    tf.tidy(() => tensorOpt.apply(vars, g.map((a, i) => tf.tensor(a, shapes[i])), 0.05));
    copies.forEach((c, i) => expect(maxRelError(c.dataSync() as Float32Array, vars[i].dataSync() as Float32Array)).toBeLessThan(1e-5));
  });
});

describe('training on onnxruntime', () => {
  const ds = syntheticDataset(3, 24, 6);

  test('validation on onnxruntime gives evaluateSplit numbers', async () => {
    const model = tinyModel(3);
    const data = prepareTrainingData(ds, testConfig(tmpDir()));
    const a = evaluateSplit(model, data.val, 3, 32, false);
    const b = await evaluateSplitOnnx(model, data.val, 3, 7, 1);
    expect(b.acc).toBe(a.acc);
    expect(b.loss).toBeCloseTo(a.loss, 4);
  });

  test('memory stays flat across epochs (tensors and onnxruntime outputs released)', async () => {
    await initBackend('wasm');
    const counts: number[] = [];
    const result = await train(testConfig(tmpDir(), { engine: 'onnxruntime', threads: 1, epochs: 4 }), {
      dataset: ds, createModel: () => tinyModel(3), onEpoch: () => void counts.push(tf.memory().numTensors),
    });
    expect(result.engine).toBe('onnxruntime');
    expect(result.history.every((h) => h.engine === 'onnxruntime')).toBe(true);
    expect(counts).toHaveLength(4);
    expect(new Set(counts.slice(1)).size).toBe(1);
    result.model.dispose();
  });

  test('learns the synthetic task, and a resumed run continues where it stopped', async () => {
    await initBackend('wasm');
    const out = tmpDir();
    const result = await train(testConfig(out, { engine: 'onnxruntime', threads: 1, epochs: 6, lr: 3e-3, augment: 'light' }), {
      dataset: ds, createModel: () => tinyModel(3),
    });
    expect(result.history[5].trainLoss).toBeLessThan(result.history[0].trainLoss);
    expect(result.best!.valAcc).toBeGreaterThan(0.6);
    result.model.dispose();

    // 3 epochs, stop, resume to 6: the same weights as the unbroken run (same threads, same seeds)
    const split = tmpDir();
    const first = await train(testConfig(split, { engine: 'onnxruntime', threads: 1, epochs: 3, lr: 3e-3, augment: 'light' }), {
      dataset: ds, createModel: () => tinyModel(3),
    });
    first.model.dispose();
    const resumed = await train(testConfig(split, { engine: 'onnxruntime', threads: 1, epochs: 6, lr: 3e-3, augment: 'light', resume: true }), {
      dataset: ds, createModel: () => tinyModel(3),
    });
    expect(resumed.history.map((h) => h.valAcc)).toEqual(result.history.map((h) => h.valAcc));
    expect(resumed.history[5].trainLoss).toBeCloseTo(result.history[5].trainLoss, 5);
    resumed.model.dispose();
  });
});
