/**
 * Smaller TF.js weight files in TF.js's own quantized formats, which every TF.js loader (tf.loadLayersModel, fer-lab's
 * loadModelDir) decodes back to float32 on load:
 *   float16: every float32 weight stored as IEEE half (half the size).
 *   uint8:   each large float32 weight stored as 8-bit codes with one affine map per tensor, value = code * scale + min
 *            (about a quarter of the size). The same format as tensorflowjs_converter --quantize_uint8.
 * TF.js has no per-channel variant (the ONNX int8 export has one: export/int8.ts), so uint8 is coarser than ONNX int8.
 */
import * as tf from '@tensorflow/tfjs';
import { FerError, errorMessage } from '../errors';
import { toFloat16Bits } from './quantize';

export type TfjsWeightFormat = 'float32' | 'float16' | 'uint8';

/**
 * uint8 leaves tensors smaller than this float32, and every 1-D tensor (batch-norm statistics, scales, biases): they
 * are a rounding error in size, and one affine map over a moving variance that spans decades would round its small
 * entries to 0.
 */
export const UINT8_MIN_ELEMENTS = 1024;

/** Whether uint8 stores this tensor as uint8 codes (kernels) or keeps it float32. */
export function uint8Quantizes(spec: tf.io.WeightsManifestEntry): boolean {
  return spec.shape.length >= 2 && elementsOf(spec) >= UINT8_MIN_ELEMENTS;
}

export interface TfjsWeights {
  specs: tf.io.WeightsManifestEntry[];
  /** The weight bytes in manifest order. */
  data: Uint8Array;
}

const elementsOf = (spec: tf.io.WeightsManifestEntry) => spec.shape.reduce((a, b) => a * b, 1);

/**
 * Affine uint8 codes for one tensor, with min nudged so that 0 is exactly representable (zero padding and pruned
 * weights stay exactly 0, as in the TF.js converter).
 */
export function quantizeUint8(values: Float32Array): { codes: Uint8Array; scale: number; min: number } {
  let lo = 0;
  let hi = 0; // the range always holds 0
  for (const v of values) {
    if (!Number.isFinite(v)) throw new FerError(`A weight is ${v}: the model is broken (diverged training?); it cannot be quantized.`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zero = Math.round(-lo / scale);
  const min = -zero * scale;
  const codes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) codes[i] = Math.min(255, Math.max(0, Math.round((values[i] - min) / scale)));
  return { codes, scale, min };
}

/** Re-encode float32 weights (as TF.js saves them) in `format`. Returns the input unchanged for float32. */
export function encodeTfjsWeights(weights: TfjsWeights, format: TfjsWeightFormat): TfjsWeights {
  if (format === 'float32') return weights;
  if (weights.specs.some((s) => s.dtype !== 'float32' || s.quantization)) {
    throw new FerError(`${format} TF.js weights need a model with plain float32 weights only: export it as float32.`);
  }
  const { data } = weights;
  const all = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of weights.specs) {
    const n = elementsOf(spec);
    const values = all.subarray(offset, offset + n);
    offset += n;
    if (format === 'float16') {
      const half = Uint16Array.from(values, toFloat16Bits);
      parts.push(new Uint8Array(half.buffer));
      specs.push({ ...spec, quantization: { dtype: 'float16' } });
    } else if (!uint8Quantizes(spec)) {
      parts.push(new Uint8Array(values.slice().buffer));
      specs.push(spec);
    } else {
      let q: ReturnType<typeof quantizeUint8>;
      try {
        q = quantizeUint8(values);
      } catch (err) {
        throw new FerError(`Weight ${spec.name}: ${errorMessage(err)}`, { cause: err });
      }
      const { codes, scale, min } = q;
      parts.push(codes);
      specs.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
    }
  }
  if (offset !== all.length) {
    throw new FerError(`The model's weight manifest describes ${offset} values but its weights hold ${all.length}.`);
  }
  return { specs, data: new Uint8Array(Buffer.concat(parts)) };
}
