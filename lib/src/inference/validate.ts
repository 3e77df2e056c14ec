/** Shared by the engines: checks that a model takes 48x48 grayscale crops and outputs one score per class; batching. */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../emotions';
import { PreprocessSpec } from '../transforms/preprocess';

export function checkModelIO(source: string, inputShape: ReadonlyArray<number | string | null>,
  outputShape: ReadonlyArray<number | string | null>, spec: PreprocessSpec, classes: readonly string[]): void {
  const dims = inputShape.slice(1);
  const want = [IMAGE_SIZE, IMAGE_SIZE, 1];
  if (spec.layout !== 'NHWC' || spec.size !== IMAGE_SIZE || spec.channels !== 1 || inputShape.length !== 4 ||
    dims.some((d, i) => d !== want[i])) {
    throw new FerError(
      `${source} expects input [${inputShape.join(', ')}] (preprocess ${spec.size}x${spec.size}x${spec.channels} ` +
        `${spec.layout}); fer-lab predictors feed [N, ${want.join(', ')}] grayscale crops: use a model trained on ` +
        '48x48 grayscale faces (fer train / fer export).',
      { file: source },
    );
  }
  const units = outputShape[outputShape.length - 1];
  if (outputShape.length !== 2 || units !== classes.length) {
    throw new FerError(
      `${source} outputs [${outputShape.join(', ')}] but its metadata names ${classes.length} classes ` +
        `(${classes.join(', ')}): the model and its class list do not match; re-export it with the right classes.`,
      { file: source },
    );
  }
}

/** Number of crops in a pixel buffer (throws when it is not a whole number of 48x48 crops). */
export function cropCount(pixels: Uint8Array): number {
  if (pixels.length % PIXELS_PER_IMAGE !== 0) {
    throw new FerError(
      `predict() got ${pixels.length} bytes: expected n 48x48 grayscale crops (a multiple of ${PIXELS_PER_IMAGE} bytes).`,
    );
  }
  return pixels.length / PIXELS_PER_IMAGE;
}

/** Run `fn` on slices of at most `batch` crops and concatenate the outputs. */
export async function inBatches(pixels: Uint8Array, batch: number, classes: number,
  fn: (slice: Uint8Array, n: number) => Promise<Float32Array>): Promise<Float32Array> {
  const n = cropCount(pixels);
  const out = new Float32Array(n * classes);
  for (let start = 0; start < n; start += batch) {
    const m = Math.min(batch, n - start);
    const probs = await fn(pixels.subarray(start * PIXELS_PER_IMAGE, (start + m) * PIXELS_PER_IMAGE), m);
    out.set(probs.subarray(0, m * classes), start * classes);
  }
  return out;
}

/** Run a TF.js computation on one batch and read its result back; the result tensor is always disposed. */
export async function readTensor(compute: () => tf.Tensor): Promise<Float32Array> {
  const t = tf.tidy(compute);
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}
