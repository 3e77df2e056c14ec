/**
 * THE one place where uint8 face crops become model input. Training, evaluation, export metadata and every
 * inference engine use these definitions, so they cannot drift apart.
 */
import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../emotions';

/** What a model expects; stored in checkpoints and ONNX metadata so a user of the file alone can feed it. */
export interface PreprocessSpec {
  /** Square input side in pixels. */
  size: number;
  /** 1 = grayscale. */
  channels: number;
  /** input = pixel * scale + offset */
  scale: number;
  offset: number;
  layout: 'NHWC';
}

export const PREPROCESS: PreprocessSpec = { size: IMAGE_SIZE, channels: 1, scale: 1 / 255, offset: 0, layout: 'NHWC' };

/** Normalise uint8 pixels (n * 48 * 48) into a Float32Array ready for a model (any engine). */
export function normalizePixels(pixels: Uint8Array, spec: PreprocessSpec = PREPROCESS): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] * spec.scale + spec.offset;
  return out;
}

/** uint8 pixels (n * 48 * 48) -> float32 tensor [n, 48, 48, 1]. The caller disposes it. */
export function pixelsToTensor(pixels: Uint8Array, spec: PreprocessSpec = PREPROCESS): tf.Tensor4D {
  const n = pixels.length / PIXELS_PER_IMAGE;
  return tf.tensor4d(normalizePixels(pixels, spec), [n, spec.size, spec.size, spec.channels]);
}
