/** Check an exported .onnx against the TF.js model it came from: max abs difference of probabilities. */
import * as tf from '@tensorflow/tfjs';
import { createOnnxPredictor } from '../inference/onnx';
import { createTfjsPredictor } from '../inference/tfjs';
import { PIXELS_PER_IMAGE } from '../emotions';

/** Seeded pseudo-random uint8 crops (n * 48 * 48). */
export function randomCrops(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n * PIXELS_PER_IMAGE);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/**
 * Max abs difference between TF.js (backend in use) and onnxruntime on `pixels` (default: 16 random crops).
 * The model is not disposed.
 */
export async function compareOnnxToTfjs(model: tf.LayersModel, onnxBytes: Uint8Array, classes: readonly string[],
  pixels: Uint8Array = randomCrops(16)): Promise<number> {
  const onnx = await createOnnxPredictor(onnxBytes, 'exported model', { threads: 1 });
  try {
    const tfjs = createTfjsPredictor(model, classes, 'TF.js model');
    // createTfjsPredictor owns the model only through dispose(), which we do not call here.
    const [a, b] = await Promise.all([onnx.predict(pixels), tfjs.predict(pixels)]);
    return maxAbsDiff(a, b);
  } finally {
    await onnx.dispose();
  }
}
