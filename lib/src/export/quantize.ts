/**
 * Smaller ONNX files. Both passes keep the model's input and output float32 and compute in float32; only the stored
 * weights shrink, decoded once when onnxruntime loads the model:
 *   float16: every float weight stored as float16, followed by a Cast to float32 (half the size).
 *   int8:    Conv and Dense (Gemm) weights stored as int8 with one scale per output channel (symmetric), followed by
 *            DequantizeLinear (about a quarter of the size). Weight-only quantization: activations stay float32.
 */
import { OnnxGraph, consumers } from './graph';
import { toDynamicInt8 } from './dynamic';
import { quantizeSymmetric } from './int8';

/** int8-dynamic: real integer Conv/Gemm with activations quantized at run time (see dynamic.ts). */
export type WeightFormat = 'float32' | 'float16' | 'int8' | 'int8-dynamic';

/** Weights with fewer elements than this stay float32 (a Cast node would cost more than it saves). */
const MIN_ELEMENTS = 16;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE half bits, round to nearest even (overflow -> inf, tiny -> subnormal/zero). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let bits = sign | (e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (bits & 1))) bits++; // may carry into the exponent: still correct
  return bits;
}

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function freshName(graph: OnnxGraph, base: string): string {
  let name = base;
  for (let i = 1; graph.initializers.has(name); i++) name = `${base}${i}`;
  return name;
}

/** Store float weights as float16 + Cast. Returns the number of weights converted. Mutates the graph. */
export function toFloat16Weights(graph: OnnxGraph): number {
  const casts = [];
  for (const [name, init] of [...graph.initializers]) {
    if (!(init.data instanceof Float32Array) || init.data.length < MIN_ELEMENTS) continue;
    const half = new Uint16Array(init.data.length);
    for (let i = 0; i < half.length; i++) half[i] = toFloat16Bits(init.data[i]);
    const stored = freshName(graph, `${name}_fp16`);
    graph.initializers.delete(name);
    graph.initializers.set(stored, { dims: init.dims, data: half });
    casts.push({ opType: 'Cast', inputs: [stored], outputs: [name], name: `${name}_cast`, attrs: { to: 1 } });
  }
  graph.nodes.unshift(...casts);
  return casts.length;
}

/**
 * Store Conv/Gemm weights as per-channel symmetric int8 + DequantizeLinear. Returns the number of weights converted.
 * Mutates the graph.
 */
export function toInt8Weights(graph: OnnxGraph): number {
  const readers = consumers(graph);
  const dequant = [];
  for (const [name, init] of [...graph.initializers]) {
    if (!(init.data instanceof Float32Array) || init.data.length < 256) continue;
    const users = readers.get(name) ?? [];
    const asWeight = users.every((n) => (n.opType === 'Conv' || (n.opType === 'Gemm' && !n.attrs.transB)) &&
      n.inputs[1] === name && n.inputs[0] !== name);
    if (!users.length || !asWeight) continue;
    // Conv weights are OIHW (channel = axis 0); Gemm B is [in, out] (channel = axis 1).
    const axis = users[0].opType === 'Conv' ? 0 : 1;
    const channels = init.dims[axis];
    const w = init.data;
    const inner = axis === 0 ? w.length / channels : 1;
    const stride = axis === 0 ? 1 : channels;
    const channelOf = (i: number): number => (axis === 0 ? Math.floor(i / inner) : i % stride);
    const { q, scales } = quantizeSymmetric(w, channels, channelOf);
    const qName = freshName(graph, `${name}_int8`);
    const sName = freshName(graph, `${name}_scale`);
    const zName = freshName(graph, `${name}_zero_point`);
    graph.initializers.delete(name);
    graph.initializers.set(qName, { dims: init.dims, data: q });
    graph.initializers.set(sName, { dims: [channels], data: scales });
    graph.initializers.set(zName, { dims: [channels], data: new Int8Array(channels) });
    dequant.push({ opType: 'DequantizeLinear', inputs: [qName, sName, zName], outputs: [name], name: `${name}_dequantize`,
      attrs: { axis } });
  }
  graph.nodes.unshift(...dequant);
  return dequant.length;
}

export function applyWeightFormat(graph: OnnxGraph, format: WeightFormat): number {
  if (format === 'float16') return toFloat16Weights(graph);
  if (format === 'int8') return toInt8Weights(graph);
  if (format === 'int8-dynamic') return toDynamicInt8(graph);
  return 0;
}
