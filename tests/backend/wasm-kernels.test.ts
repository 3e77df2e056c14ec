/**
 * The wasm training kernels (lib/src/backend/wasm-kernels.ts) against the cpu backend: conv gradients over strides,
 * paddings, kernel sizes and channel counts (both the conv and the GEMM + col2im paths), the per-channel
 * reductions, the BatchNorm gradient against TF.js's stock one, and buffer sharing in Identity.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { fusedBatchNormGradConfig, registerWasmTrainingKernels } from '../../lib/src/backend/wasm-kernels';

// The stock gradient, captured before the kernels module replaces it.
const stockBatchNormGrad = tf.getGradient('FusedBatchNorm');

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

async function onBackend<T>(name: 'cpu' | 'wasm', fn: () => Promise<T>): Promise<T> {
  await tf.setBackend(name);
  return fn();
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  x: [number, number, number, number];
  k: number;
  co: number;
  s: number;
  pad: Pad;
}

/** [dx, dw] of sum(conv2d(x, w) * r) on the active backend. */
async function convGrads(c: Case): Promise<[Float32Array, Float32Array]> {
  const [n, h, w, ci] = c.x;
  const wShape: [number, number, number, number] = [c.k, c.k, ci, c.co];
  return tf.tidy((): [Float32Array, Float32Array] => {
    const x = tf.tensor4d(rand(n * h * w * ci, 1), c.x);
    const filt = tf.tensor4d(rand(c.k * c.k * ci * c.co, 2), wShape);
    const outShape = tf.conv2d(x, filt, c.s, c.pad).shape;
    const r = tf.tensor(rand(outShape.reduce((p, d) => p * d, 1), 3), outShape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)),
    )([x, filt]);
    return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
  });
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('conv2d gradients on wasm match the cpu backend', () => {
  const cases: Case[] = [];
  // kernel sizes 1/3/5/7, strides 1/2/3, same/valid/explicit, few (col2im path) and many (conv path) channels
  for (const k of [1, 3, 5, 7]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        cases.push({ x: [2, 11, 9, 3], k, co: 4, s, pad });
        cases.push({ x: [3, 10, 10, 9], k, co: 8, s, pad });
      }
    }
  }
  cases.push({ x: [2, 12, 12, 16], k: 3, co: 16, s: 3, pad: 'same' });
  cases.push({ x: [2, 9, 9, 8], k: 3, co: 5, s: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] });
  cases.push({ x: [2, 9, 9, 10], k: 3, co: 6, s: 1, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] });
  cases.push({ x: [4, 6, 6, 32], k: 3, co: 64, s: 1, pad: 'same' });
  cases.push({ x: [2, 24, 24, 1], k: 7, co: 16, s: 2, pad: 'same' }); // ResNet ImageNet stem on 1 channel
  cases.push({ x: [5, 2, 2, 24], k: 3, co: 24, s: 1, pad: 'same' }); // deep layer: spatial smaller than kernel
  cases.push({ x: [2, 8, 8, 12], k: 1, co: 20, s: 2, pad: 'valid' }); // ResNet downsample shortcut

  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const [cx, cw] = await onBackend('cpu', () => convGrads(c));
    const [wx, ww] = await onBackend('wasm', () => convGrads(c));
    expect(maxAbsDiff(wx, cx)).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs(cx)));
    expect(maxAbsDiff(ww, cw)).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs(cw)));
    // The gradients are not trivially zero (so the comparison means something).
    expect(maxAbs(cw)).toBeGreaterThan(1e-3);
  });
});


describe('depthwise conv gradients on wasm match the cpu backend', () => {
  const cases: Array<{ x: [number, number, number, number]; k: number; m: number; s: number; pad: 'same' | 'valid' }> = [];
  for (const k of [3, 5]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) cases.push({ x: [2, 9, 8, 5], k, m: 1, s, pad });
    }
  }
  cases.push({ x: [3, 7, 7, 4], k: 3, m: 2, s: 1, pad: 'same' });
  cases.push({ x: [2, 8, 8, 3], k: 3, m: 3, s: 2, pad: 'valid' });

  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const [n, h, w, ch] = c.x;
    const grads = async (): Promise<[Float32Array, Float32Array]> =>
      tf.tidy((): [Float32Array, Float32Array] => {
        const x = tf.tensor4d(rand(n * h * w * ch, 21), c.x);
        const f = tf.tensor4d(rand(c.k * c.k * ch * c.m, 22), [c.k, c.k, ch, c.m]);
        const outShape = tf.depthwiseConv2d(x, f, c.s, c.pad).shape;
        const r = tf.tensor(rand(outShape.reduce((p, d) => p * d, 1), 23), outShape);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)),
        )([x, f]);
        return [dx.dataSync() as Float32Array, df.dataSync() as Float32Array];
      });
    const [cx, cf] = await onBackend('cpu', grads);
    const [wx, wf] = await onBackend('wasm', grads);
    expect(maxAbsDiff(wx, cx)).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs(cx)));
    expect(maxAbsDiff(wf, cf)).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs(cf)));
    expect(maxAbs(cf)).toBeGreaterThan(1e-3);
  });
});


describe('max-pool gradient on wasm matches the cpu backend', () => {
  const cases: Array<[number, number, 'same' | 'valid', boolean]> = [
    [2, 2, 'valid', false],
    [2, 2, 'same', true],
    [3, 2, 'same', false],
    [3, 2, 'same', true],
    [3, 1, 'same', false],
    [3, 2, 'valid', false],
  ];
  it.each(cases)('pool %i stride %i %s (ties from ReLU: %s)', async (k, s, pad, relu) => {
    const grad = async (): Promise<Float32Array> =>
      tf.tidy(() => {
        let x: tf.Tensor4D = tf.tensor4d(rand(2 * 9 * 11 * 5, 31), [2, 9, 11, 5]);
        if (relu) x = tf.relu(x);
        const outShape = tf.maxPool(x, k, s, pad).shape;
        const r = tf.tensor(rand(outShape.reduce((p, d) => p * d, 1), 32), outShape);
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, k, s, pad), r)))(x);
        return g.dataSync() as Float32Array;
      });
    const c = await onBackend('cpu', grad);
    const w = await onBackend('wasm', grad);
    expect(maxAbsDiff(w, c)).toBeLessThan(1e-6);
    expect(maxAbs(c)).toBeGreaterThan(1e-3);
  });
});

describe('reductions over NHWC axes on wasm', () => {
  const x = rand(4 * 5 * 6 * 7, 9).map((v) => v * 10 + 3);
  const cases: Array<[string, number[], boolean]> = [
    ['sum', [0, 1, 2], false],
    ['sum', [0, 1, 2], true],
    ['sum', [-2, -3, 0], false],
    ['mean', [0, 1, 2], false],
    ['mean', [0, 1, 2], true],
    ['sum', [1, 2], false],
    ['mean', [1, 2], true],
    ['sum', [3], false],
    ['mean', [0], false],
  ];
  it.each(cases)('%s over %j keepDims=%s', async (kind, axes, keepDims) => {
    const f = (): { shape: number[]; data: Float32Array } =>
      tf.tidy(() => {
        const t = tf.tensor4d(x, [4, 5, 6, 7]);
        const r = kind === 'sum' ? tf.sum(t, axes, keepDims) : tf.mean(t, axes, keepDims);
        return { shape: r.shape, data: r.dataSync() as Float32Array };
      });
    const c = await onBackend('cpu', async () => f());
    const w = await onBackend('wasm', async () => f());
    expect(w.shape).toEqual(c.shape);
    expect(maxAbsDiff(w.data, c.data)).toBeLessThan(1e-4 * Math.max(1, maxAbs(c.data)));
  });
});

describe('BatchNorm gradient', () => {
  it('equals the stock TF.js gradient for every input (NHWC)', async () => {
    await tf.setBackend('wasm');
    const shape = [3, 4, 5, 6];
    tf.tidy(() => {
      const x = tf.tensor(rand(360, 4), shape).mul(3).add(1);
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const scale = tf.tensor1d(rand(6, 5)).add(1);
      const dy = tf.tensor(rand(360, 6), shape);
      const attrs = { varianceEpsilon: 1e-3 };
      const ours = fusedBatchNormGradConfig.gradFunc(dy, [x, mean, variance, scale], attrs);
      const stock = stockBatchNormGrad.gradFunc(dy, [x, mean, variance, scale], attrs);
      for (const key of ['x', 'mean', 'variance', 'scale', 'offset']) {
        const a = ours[key]().dataSync();
        const b = stock[key]().dataSync();
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-4 * Math.max(1, maxAbs(b)));
      }
    });
  });

  // The stock gradient fails on rank-2 inputs (BatchNorm after a Dense layer); ours must match plain ops there.
  it.each([[[8, 6]], [[2, 3, 4, 5]]])('matches a BatchNorm written with plain ops, shape %j', async (shape) => {
    await tf.setBackend('wasm');
    const c = shape[shape.length - 1];
    const size = shape.reduce((p, d) => p * d, 1);
    const axes = shape.map((_, i) => i).slice(0, -1);
    tf.tidy(() => {
      const x = tf.tensor(rand(size, 11), shape).mul(2).add(0.5);
      const gamma = tf.tensor1d(rand(c, 12)).add(1);
      const beta = tf.tensor1d(rand(c, 13));
      const r = tf.tensor(rand(size, 14), shape);
      const fused = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
        const { mean, variance } = tf.moments(a, axes);
        return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-3), r));
      };
      const plain = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
        const mean = tf.mean(a, axes, true);
        const centered = tf.sub(a, mean);
        const variance = tf.mean(tf.square(centered), axes, true);
        const y = tf.add(tf.mul(tf.div(centered, tf.sqrt(tf.add(variance, 1e-3))), g), b);
        return tf.sum(tf.mul(y, r));
      };
      const ours = tf.grads(fused)([x, gamma, beta]);
      const ref = tf.grads(plain)([x, gamma, beta]);
      ours.forEach((g, i) => {
        const b = ref[i].dataSync();
        expect(maxAbsDiff(g.dataSync(), b)).toBeLessThan(1e-4 * Math.max(1, maxAbs(b)));
      });
    });
  });

  it('is the registered gradient', () => {
    expect(tf.getGradient('FusedBatchNorm')).toBe(fusedBatchNormGradConfig);
  });
});

describe('registration and memory', () => {
  it('registers the filter gradient kernel once (idempotent)', () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('Identity shares the buffer but a clone outlives its source', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
  });

  it('a training step leaks no tensors or wasm memory', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(rand(4 * 12 * 12 * 2, 7), [4, 12, 12, 2]);
    const w1 = tf.variable(tf.tensor4d(rand(3 * 3 * 2 * 8, 8), [3, 3, 2, 8]));
    const w2 = tf.variable(tf.tensor4d(rand(3 * 3 * 8 * 4, 9), [3, 3, 8, 4]));
    const opt = tf.train.sgd(0.01);
    const step = (): number => {
      const loss = opt.minimize(() => {
        const h = tf.relu(tf.conv2d(x, w1, 2, 'same'));
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        const bn = tf.batchNorm(h, mean, variance, tf.zeros([8]), tf.ones([8])) as tf.Tensor4D;
        return tf.mean(tf.square(tf.conv2d(bn, w2, 1, 'same')));
      }, true);
      const v = loss!.dataSync()[0];
      loss!.dispose();
      return v;
    };
    const first = step();
    const before = tf.memory();
    for (let i = 0; i < 5; i++) step();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(step()).toBeLessThan(first);
    tf.dispose([x, w1, w2]);
    opt.dispose();
  });
});
