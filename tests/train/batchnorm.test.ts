import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import { recomputeBatchNorm } from '../../lib/src/train/batchnorm';
import { createRandom } from '../../lib/src/train/random';
import { tinyModel } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

/** n images of uniform noise in [lo, hi). */
function noise(n: number, lo: number, hi: number, seed = 3): Uint8Array {
  const random = createRandom(seed);
  return Uint8Array.from({ length: n * PIXELS_PER_IMAGE }, () => lo + Math.floor(random() * (hi - lo)));
}

/** n flat images, each one grey level drawn in [0, 256): their batches' means differ a lot. */
function flat(n: number, seed = 5): Uint8Array {
  const random = createRandom(seed);
  const out = new Uint8Array(n * PIXELS_PER_IMAGE);
  for (let i = 0; i < n; i++) out.fill(Math.floor(random() * 256), i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE);
  return out;
}

const bnLayer = (m: tf.LayersModel) => m.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
const stats = (m: tf.LayersModel) => bnLayer(m).getWeights().slice(-2).map((w) => Array.from(w.dataSync()));

describe('recomputeBatchNorm', () => {
  test('the moving statistics become the mean and variance of the layer input over the images', () => {
    const model = tinyModel(3, true, 7);
    const pixels = flat(64);
    // The layer input (the conv output) over all 64 images, computed directly.
    const conv = model.layers.find((l) => l.getClassName() === 'Conv2D')!;
    const convOut = tf.tidy(() => conv.apply(tf.tensor4d(Array.from(pixels, (p) => p / 255), [64, 48, 48, 1])) as tf.Tensor);
    const { mean, variance } = tf.moments(convOut, [0, 1, 2]);
    const [expectedMean, expectedVariance] = [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
    tf.dispose([convOut, mean, variance]);
    expect(stats(model)[0].every((v) => v === 0)).toBe(true); // a fresh layer: mean 0, variance 1

    expect(recomputeBatchNorm(model, pixels, { batchSize: 16 })).toBe(64);
    const [gotMean, gotVariance] = stats(model);
    gotMean.forEach((v, k) => expect(v).toBeCloseTo(expectedMean[k], 4));
    // E[x^2] - E[x]^2 over all images: the spread between batches counts, not only the mean of batch variances.
    gotVariance.forEach((v, k) => expect(v).toBeCloseTo(expectedVariance[k], 3));
    expect(Math.max(...gotVariance)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  test('statistics follow the images: brighter images, a larger second moment; gamma and beta are kept', () => {
    const dark = tinyModel(3, true, 7);
    const bright = tinyModel(3, true, 7);
    const before = bnLayer(bright).getWeights().slice(0, 2).map((w) => Array.from(w.dataSync()));
    recomputeBatchNorm(dark, noise(32, 0, 40), { batchSize: 16 });
    recomputeBatchNorm(bright, noise(32, 200, 256), { batchSize: 16 });
    const sq = (m: tf.LayersModel) => stats(m)[0].reduce((a, v, k) => a + v * v + stats(m)[1][k], 0); // sum of E[x^2]
    expect(sq(bright)).toBeGreaterThan(10 * sq(dark));
    expect(bnLayer(bright).getWeights().slice(0, 2).map((w) => Array.from(w.dataSync()))).toEqual(before);
    dark.dispose();
    bright.dispose();
  });

  test('maxImages draws whole batches; one image or no batch-norm layer fail clearly', () => {
    const model = tinyModel(3, true, 7);
    expect(recomputeBatchNorm(model, noise(50, 0, 256), { batchSize: 16, maxImages: 40 })).toBe(32);
    expect(recomputeBatchNorm(model, noise(10, 0, 256), { batchSize: 16 })).toBe(10); // fewer than a batch: one batch
    expect(() => recomputeBatchNorm(model, noise(1, 0, 256), { batchSize: 16 })).toThrow(/at least 2 images; got 1/);
    const plain = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [48, 48, 1] }), tf.layers.dense({ units: 3 })] });
    expect(() => recomputeBatchNorm(plain, noise(16, 0, 256), { batchSize: 16 })).toThrow(/no batch-norm layer/);
    model.dispose();
    plain.dispose();
  });
});
