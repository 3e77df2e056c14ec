/**
 * Re-estimate a model's batch-norm statistics from images (as PyTorch's `torch.optim.swa_utils.update_bn`): one pass
 * in training mode, so every batch-norm layer normalises with its batch's statistics, as in training; each layer's
 * moving mean and variance become the mean over all images of its input and its input's variance (E[x^2] - E[x]^2,
 * so the spread between batches counts too). Weight averages (soups, SWA) need it: averaged weights do not match
 * averaged statistics. The layers before the batch-norm layers must not be stochastic in training mode (vgg nets put
 * their only dropout after the last one).
 */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { PIXELS_PER_IMAGE } from '../emotions';
import { pixelsToTensor } from '../transforms/preprocess';
import { createRandom } from './random';

export interface RecomputeBatchNormOptions {
  /** Images per forward pass (default 256, or all the images when fewer): each layer normalises with their statistics. */
  batchSize?: number;
  /** Use at most this many images, drawn at random (default: all). */
  maxImages?: number;
  /** Seed of the draw and of the batches' order (default 1). */
  seed?: number;
}

/**
 * Replace the moving statistics of every BatchNormalization layer of `model` with those of `pixels` (n 48x48 uint8
 * images, preprocessed as the model expects). Changes the model in place; returns the number of images used (whole
 * batches only). Fails when the model has no batch-norm layer or there are fewer than 2 images.
 */
export function recomputeBatchNorm(model: tf.LayersModel, pixels: Uint8Array, options: RecomputeBatchNormOptions = {}): number {
  const layers = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
  if (layers.length === 0) throw new FerError(`Model "${model.name}" has no batch-norm layer to re-estimate.`);
  const total = pixels.length / PIXELS_PER_IMAGE;
  const order = Array.from({ length: total }, (_, i) => i);
  const random = createRandom(options.seed ?? 1);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const used = Math.min(total, options.maxImages ?? total);
  const batchSize = Math.min(options.batchSize ?? 256, used);
  if (batchSize < 2) throw new FerError(`Batch-norm re-estimation needs at least 2 images; got ${used}.`);
  const batches = Math.floor(used / batchSize);

  const probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.input as tf.SymbolicTensor) });
  const sums = layers.map(() => ({ mean: new Float64Array(0), square: new Float64Array(0) }));
  const batch = new Uint8Array(batchSize * PIXELS_PER_IMAGE);
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < batchSize; i++) {
      const src = order[b * batchSize + i] * PIXELS_PER_IMAGE;
      batch.set(pixels.subarray(src, src + PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE);
    }
    const stats = tf.tidy(() => {
      const inputs = probe.apply(pixelsToTensor(batch), { training: true }) as tf.Tensor | tf.Tensor[];
      return (Array.isArray(inputs) ? inputs : [inputs]).map((t) => {
        const axes = t.shape.map((_, k) => k).slice(0, -1); // every axis but the channels
        return [tf.mean(t, axes).dataSync(), tf.mean(tf.square(t), axes).dataSync()];
      });
    });
    stats.forEach(([mean, square], i) => {
      if (sums[i].mean.length === 0) sums[i] = { mean: new Float64Array(mean.length), square: new Float64Array(mean.length) };
      for (let k = 0; k < mean.length; k++) {
        sums[i].mean[k] += mean[k];
        sums[i].square[k] += square[k];
      }
    });
  }
  layers.forEach((layer, i) => {
    const mean = Array.from(sums[i].mean, (s) => s / batches);
    const variance = Array.from(sums[i].square, (s, k) => Math.max(0, s / batches - mean[k] ** 2));
    // Weights of a BatchNormalization layer: [gamma, beta, moving mean, moving variance] (the first two when enabled).
    const weights = layer.getWeights();
    tf.tidy(() => layer.setWeights([...weights.slice(0, -2), tf.tensor1d(mean), tf.tensor1d(variance)]));
  });
  return batches * batchSize;
}
