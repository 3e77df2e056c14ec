/** Int8 weight quantization shared by the weight-only (quantize.ts) and dynamic (dynamic.ts) formats. */

/** Symmetric per-channel quantization to [-127, 127]; `channelOf(i)` maps a flat index to its output channel. */
export function quantizeSymmetric(
  w: Float32Array, channels: number, channelOf: (i: number) => number,
): { q: Int8Array; scales: Float32Array } {
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(w[i]));
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = maxAbs[c] > 0 ? maxAbs[c] / 127 : 1;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scales[channelOf(i)])));
  return { q, scales };
}
