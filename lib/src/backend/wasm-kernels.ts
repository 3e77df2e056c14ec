/**
 * Training kernels for the published wasm backend (@tensorflow/tfjs-backend-wasm 4.22), registered for 'wasm' only
 * (plus one backend-independent gradient). It lacks Conv2DBackpropFilter and the depthwise backprops, and several of
 * its kernels are naive loops that dominated a training step (see lib/src/models/README.md, "Speed log"):
 *
 * - Conv2DBackpropFilter: conv of x^T [CI,H,W,N] with dy^T [OH,OW,N,CO] as the filter (dilation = stride).
 * - Conv2DBackpropInput: stride-1 conv of the padded dy with the flipped, transposed filter; for strided convs and
 *   few input channels one GEMM (dy x w^T) plus col2im instead (no multiplications by inserted zeros).
 * - DepthwiseConv2dNativeBackpropFilter/Input (SeparableConv2D): JS loop / depthwise conv of the flipped filter.
 * - MaxPoolGrad: JS loop (first maximum per window, as the cpu backend).
 * - Sum/Mean over [0,1,2] or [1,2] of NHWC: one AvgPool pass instead of transpose + reduce.
 * - Identity/Cast-to-same-dtype: share the buffer (reference counted, as the cpu backend does) instead of copying.
 * - FusedBatchNorm gradient (all backends): 2 per-channel reductions and no Tile.
 *
 * The kernels compose the backend's own kernel functions (Conv2D, PadV2, Slice, Reshape, BatchMatMul, AvgPool...)
 * on TensorInfos, as the backend's kernels do, and free every intermediate; a few layout moves run as JS loops
 * directly on the wasm heap, where they beat the backend's generic transpose by 5-10x.
 *
 * Notation (NHWC): x [N,H,W,CI], filter [KH,KW,CI,CO], dy [N,OH,OW,CO], stride s, padding top/left pt/pl.
 *   y[n,oy,ox,co] = sum_{kh,kw,ci} xpad[n, oy*s+kh, ox*s+kw, ci] * w[kh,kw,ci,co]
 * - filter gradient: dw[kh,kw,ci,co] = sum_{n,oy,ox} xpad[n, kh+oy*s, kw+ox*s, ci] * dy[n,oy,ox,co].
 * - input gradient: dx = stride-1 conv of dy zero-dilated by s and padded by KH-1-pt (top) / KW-1-pl (left), with
 *   the filter flipped in space and transposed to [KH,KW,CO,CI].
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Attrs = tf.NamedAttrMap;

/** The slice of the wasm backend the composed kernels touch. */
interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/** Direct access to wasm-heap tensors, for the small JS finishing steps. */
interface WasmHeap {
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo;
}

interface ConvBackpropFilterAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

interface ConvBackpropInputAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

const BACKEND = 'wasm';

/** Runs one wasm kernel on TensorInfos (no tape, no engine bookkeeping). */
function run(backend: WasmBackendLike, name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
  const kernel = tf.getKernel(name, BACKEND);
  if (!kernel) throw new Error(`wasm-kernels: kernel ${name} is not registered for the wasm backend`);
  const out = kernel.kernelFunc({ inputs, attrs, backend: backend as unknown as tf.KernelBackend });
  return (Array.isArray(out) ? out[0] : out) as TensorInfo;
}

/** Frees intermediates created inside a kernel. */
function free(backend: WasmBackendLike, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** Forward-conv padding (top, bottom, left, right) for the given sizes, as TF.js computes it. */
function convPads(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
): { top: number; bottom: number; left: number; right: number; outH: number; outW: number } {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  return {
    top: info.padInfo.top,
    bottom: info.padInfo.bottom,
    left: info.padInfo.left,
    right: info.padInfo.right,
    outH: info.outHeight,
    outW: info.outWidth,
  };
}

/**
 * Pads (positive) or crops (negative) the two spatial axes of an NHWC TensorInfo by [top, bottom, left, right].
 * Returns the input itself (not a copy) when all four are zero.
 */
function padOrCrop(backend: WasmBackendLike, x: TensorInfo, p: [number, number, number, number]): TensorInfo {
  const [t, b, l, r] = p;
  if (t === 0 && b === 0 && l === 0 && r === 0) return x;
  const [n, h, w, c] = x.shape;
  let cur = x;
  const ct = Math.max(0, -t), cb = Math.max(0, -b), cl = Math.max(0, -l), cr = Math.max(0, -r);
  if (ct || cb || cl || cr) {
    cur = run(backend, 'Slice', { x: cur }, { begin: [0, ct, cl, 0], size: [n, h - ct - cb, w - cl - cr, c] });
  }
  const pt = Math.max(0, t), pb = Math.max(0, b), pl = Math.max(0, l), pr = Math.max(0, r);
  if (pt || pb || pl || pr) {
    const padded = run(backend, 'PadV2', { x: cur }, { paddings: [[0, 0], [pt, pb], [pl, pr], [0, 0]], constantValue: 0 });
    if (cur !== x) free(backend, cur);
    cur = padded;
  }
  return cur;
}

/** Inserts s-1 zeros between the rows/columns of an NHWC tensor: [N,H,W,C] -> [N,(H-1)*sh+1,(W-1)*sw+1,C]. */
function zeroDilate(backend: WasmBackendLike, x: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  const r6 = run(backend, 'Reshape', { x }, { shape: [n, h, 1, w, 1, c] });
  const p6 = run(backend, 'PadV2', { x: r6 }, {
    paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
    constantValue: 0,
  });
  free(backend, r6);
  const r4 = run(backend, 'Reshape', { x: p6 }, { shape: [n, h * sh, w * sw, c] });
  free(backend, p6);
  // Drop the trailing zeros after the last row/column.
  const out = run(backend, 'Slice', { x: r4 }, { begin: [0, 0, 0, 0], size: [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c] });
  free(backend, r4);
  return out;
}


/**
 * [A,B,C] -> [C,B,A] (float32), done in JS on the wasm heap. The wasm Transpose kernel walks the output in order and
 * the input with a stride of B*C floats, one cache line per float; here each B-slab is an [A,C] -> [C,A] transpose
 * that stays in cache. 5-10x faster for activation-sized tensors.
 */
function transposeOuterInner(
  backend: WasmBackendLike & WasmHeap,
  x: TensorInfo,
  a: number,
  c: number,
  outShape: number[],
): TensorInfo {
  const size = x.shape.reduce((p, d) => p * d, 1);
  const b = size / (a * c);
  const out = backend.makeOutput(outShape, 'float32');
  const src = backend.typedArrayFromHeap(x); // views taken after the allocation, which may grow the heap
  const dst = backend.typedArrayFromHeap(out);
  const bc = b * c;
  const ba = b * a;
  for (let j = 0; j < b; j++) {
    for (let i = 0; i < a; i++) {
      let s = i * bc + j * c;
      let d = j * a + i;
      for (let k = 0; k < c; k++, s++, d += ba) dst[d] = src[s];
    }
  }
  return out;
}

/** [A,B,C] -> [B,A,C] (float32): moves contiguous rows of C floats; in JS on the wasm heap. */
function transposeOuter(backend: WasmBackendLike & WasmHeap, x: TensorInfo, a: number, b: number, outShape: number[]): TensorInfo {
  const size = x.shape.reduce((p, d) => p * d, 1);
  const c = size / (a * b);
  const out = backend.makeOutput(outShape, 'float32');
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      const s = (i * b + j) * c;
      const d = (j * a + i) * c;
      for (let k = 0; k < c; k++) dst[d + k] = src[s + k];
    }
  }
  return out;
}

function conv(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, dilations: [number, number]): TensorInfo {
  return run(backend, 'Conv2D', { x, filter }, {
    strides: [1, 1],
    pad: 'valid',
    dataFormat: 'NHWC',
    dilations,
    dimRoundingMode: undefined as unknown as string,
  });
}

function checkNHWC(kernel: string, dataFormat: string): void {
  if (dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports only NHWC (channelsLast), got ${dataFormat}`);
  }
}

/** dw for x [N,H,W,CI], dy [N,OH,OW,CO]. */
export function conv2DBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: Attrs;
}): TensorInfo {
  const backend = args.backend as WasmBackendLike & WasmHeap;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as ConvBackpropFilterAttrs;
  checkNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const [sh, sw] = pair(attrs.strides);
  const [kh, kw, ci, co] = attrs.filterShape;
  const xShape = x.shape as [number, number, number, number];
  const p = convPads(xShape, attrs.filterShape, [sh, sw], attrs.pad, attrs.dimRoundingMode);
  const [n, h, w] = xShape;
  const [, oh, ow] = dy.shape;
  // Rows of padded x the forward conv read: (oh-1)*sh + kh. Pad (or crop unused tail rows) to exactly that.
  const bottom = (oh - 1) * sh + kh - h - p.top;
  const right = (ow - 1) * sw + kw - w - p.left;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter (wasm): float32 only');
  const xt = transposeOuterInner(backend, x, n, ci, [ci, h, w, n]); // [CI,H,W,N]
  const xp = padOrCrop(backend, xt, [p.top, bottom, p.left, right]);
  if (xp !== xt) free(backend, xt);
  const dyt = transposeOuter(backend, dy, n, oh * ow, [oh, ow, n, co]); // [OH,OW,N,CO]
  const out = conv(backend, xp, dyt, [sh, sw]); // [CI,KH,KW,CO]
  free(backend, xp, dyt);
  if (out.shape[1] !== kh || out.shape[2] !== kw || out.shape[3] !== co) {
    free(backend, out);
    throw new Error(`Conv2DBackpropFilter (wasm): got [${out.shape}], expected [${ci},${kh},${kw},${co}]`);
  }
  const dw = transposeOuter(backend, out, ci, kh * kw, [kh, kw, ci, co]); // [KH,KW,CI,CO]
  free(backend, out);
  return dw;
}

/** Largest im2col-sized intermediate (floats) the GEMM + col2im path may allocate: 64 MB. */
const COL_LIMIT = 16 * 1024 * 1024;

/**
 * Input gradient as one GEMM plus col2im, for strided convs (the zero-dilated conv would multiply s*s-1 zeros out of
 * every s*s) and convs with few input channels (the conv's GEMM would have CI < 8 output columns, e.g. the gradient
 * the fused conv op computes, unasked, for the model's input):
 *   cols[N*OH*OW, KH*KW*CI] = dy[N*OH*OW, CO] x w^T[CO, KH*KW*CI];  dx[n, oy*s+kh-pt, ox*s+kw-pl, :] += cols[...]
 */
function backpropInputCol2Im(
  backend: WasmBackendLike & WasmHeap,
  dy: TensorInfo,
  filter: TensorInfo,
  inShape: [number, number, number, number],
  strides: [number, number],
  pads: { top: number; left: number },
): TensorInfo {
  const [n, h, w, ci] = inShape;
  const [kh, kw, , co] = filter.shape;
  const [, oh, ow] = dy.shape;
  const kk = kh * kw * ci;
  const wt = transposeOuterInner(backend, filter, kk, co, [1, co, kk]); // [KH*KW*CI, CO] -> [CO, KH*KW*CI]
  const a = run(backend, 'Reshape', { x: dy }, { shape: [1, n * oh * ow, co] });
  const cols = run(backend, 'BatchMatMul', { a, b: wt }, { transposeA: false, transposeB: false });
  free(backend, a, wt);
  const dx = backend.makeOutput([n, h, w, ci], 'float32');
  const src = backend.typedArrayFromHeap(cols);
  const dst = backend.typedArrayFromHeap(dx);
  dst.fill(0);
  const [sh, sw] = strides;
  let c = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh + ky - pads.top;
          for (let kx = 0; kx < kw; kx++, c += ci) {
            const ix = ox * sw + kx - pads.left;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const d = ((b * h + iy) * w + ix) * ci;
            for (let k = 0; k < ci; k++) dst[d + k] += src[c + k];
          }
        }
      }
    }
  }
  free(backend, cols);
  return dx;
}


/** w [KH,KW,CI,CO] -> ft[kh,kw,co,ci] = w[KH-1-kh, KW-1-kw, ci, co], in one JS pass (the wasm Reverse + Transpose
 * kernels are generic index loops, slow for 3x3x512x512 filters). */
function flipTransposeFilter(backend: WasmBackendLike & WasmHeap, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const out = backend.makeOutput([kh, kw, co, ci], 'float32');
  const src = backend.typedArrayFromHeap(filter);
  const dst = backend.typedArrayFromHeap(out);
  const plane = ci * co;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const s0 = ((kh - 1 - y) * kw + (kw - 1 - x)) * plane;
      const d0 = (y * kw + x) * plane;
      for (let i = 0; i < ci; i++) {
        let s1 = s0 + i * co;
        let d1 = d0 + i;
        for (let o = 0; o < co; o++, s1++, d1 += ci) dst[d1] = src[s1];
      }
    }
  }
  return out;
}

/** dx for dy [N,OH,OW,CO], filter [KH,KW,CI,CO]. */
export function conv2DBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: Attrs;
}): TensorInfo {
  const backend = args.backend as WasmBackendLike & WasmHeap;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvBackpropInputAttrs;
  checkNHWC('Conv2DBackpropInput', attrs.dataFormat);
  const [sh, sw] = pair(attrs.strides);
  const filterShape = filter.shape as [number, number, number, number];
  const [kh, kw, ci] = filterShape;
  const inShape = attrs.inputShape;
  const [, h, w] = inShape;
  const p = convPads(inShape, filterShape, [sh, sw], attrs.pad, attrs.dimRoundingMode);
  const [n, oh, ow] = dy.shape;
  const colSize = n * oh * ow * kh * kw * ci;
  if ((sh > 1 || sw > 1 || ci < 8) && colSize <= COL_LIMIT && dy.dtype === 'float32' && filter.dtype === 'float32') {
    return backpropInputCol2Im(backend, dy, filter, inShape, [sh, sw], p);
  }
  const dyd = zeroDilate(backend, dy, sh, sw); // [N,(OH-1)*sh+1,(OW-1)*sw+1,CO]
  const top = kh - 1 - p.top;
  const left = kw - 1 - p.left;
  const bottom = h + kh - 1 - top - ((oh - 1) * sh + 1);
  const right = w + kw - 1 - left - ((ow - 1) * sw + 1);
  const dyp = padOrCrop(backend, dyd, [top, bottom, left, right]);
  if (dyp !== dyd && dyd !== dy) free(backend, dyd);
  const ft = flipTransposeFilter(backend, filter); // [KH,KW,CO,CI], flipped in space
  const dx = conv(backend, dyp, ft, [1, 1]);
  free(backend, ft);
  if (dyp !== dy) free(backend, dyp);
  return dx;
}


/**
 * Sum/Mean over the leading axes [0,1,2] (per-channel statistics: BatchNorm, broadcast gradients) or the spatial
 * axes [1,2] of an NHWC float32 tensor. The stock wasm kernels first transpose the whole tensor to make the reduced
 * axes innermost; one AvgPool over the full H x W window (XNNPACK, SIMD over channels) reads it once instead.
 * Returns undefined when the fast path does not apply.
 */
function reduceNHWC(
  kind: 'sum' | 'mean',
  backend: WasmBackendLike & WasmHeap,
  x: TensorInfo,
  axis: number | number[],
  keepDims: boolean,
): TensorInfo | undefined {
  if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + 4 : a)).sort();
  const key = axes.join(',');
  if (key !== '0,1,2' && key !== '1,2') return undefined;
  const [n, h, w, c] = x.shape;
  if (n * h * w * c === 0) return undefined;
  const pooled = run(backend, 'AvgPool', { x }, { filterSize: [h, w], strides: [h, w], pad: 'valid' }); // [N,1,1,C]
  if (key === '1,2') {
    let out = pooled;
    if (kind === 'sum') {
      out = scaleInPlace(backend, pooled, h * w);
    }
    out.shape = keepDims ? [n, 1, 1, c] : [n, c];
    return out;
  }
  // Finish the (small) reduction over the batch in JS, in double precision.
  const src = backend.typedArrayFromHeap(pooled);
  const acc = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) acc[j] += src[i * c + j];
  free(backend, pooled);
  const k = kind === 'sum' ? h * w : 1 / n;
  const values = new Float32Array(c);
  for (let j = 0; j < c; j++) values[j] = acc[j] * k;
  return backend.makeOutput(keepDims ? [1, 1, 1, c] : [c], 'float32', undefined, values);
}

/** Multiplies a float32 TensorInfo by k in place (it must be a fresh kernel output no one else holds). */
function scaleInPlace(backend: WasmHeap, t: TensorInfo, k: number): TensorInfo {
  const a = backend.typedArrayFromHeap(t);
  for (let i = 0; i < a.length; i++) a[i] *= k;
  return t;
}

function reductionKernel(kind: 'sum' | 'mean', fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as WasmBackendLike & WasmHeap;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const out = reduceNHWC(kind, backend, args.inputs.x as TensorInfo, axis, keepDims);
    return out ?? fallback(args);
  };
}

/**
 * FusedBatchNorm gradient without the full-size Tile of the stock one (the wasm Tile kernel is a slow generic loop)
 * and with 2 per-channel reductions instead of 4: with g = scale * rsqrt(var + eps),
 *   dx = dy * g,  doffset = sum(dy),  dmean = -g * sum(dy),
 *   dscale = rsqrt(var + eps) * sum(dy * (x - mean)),  dvar = -0.5 * scale * rsqrt(var + eps)^3 * sum(dy * (x - mean)).
 * Backend-independent (gradients are registered per kernel name, not per backend); equal to the stock gradient.
 */
export const fusedBatchNormGradConfig: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const grad = dy as tf.Tensor;
    const [x, mean, variance, scale] = saved;
    const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
    const [g, rstd, sumDy, sumDyXmu] = tf.tidy(() => {
      const rstd = tf.rsqrt(tf.add(variance, tf.scalar(eps)));
      const g = scale == null ? rstd : tf.mul(rstd, scale);
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: tf.Tensor): tf.Tensor => (axes.length ? tf.reshape(tf.sum(t, axes), mean.shape) : t);
      return [g, rstd, reduce(grad), reduce(tf.mul(grad, tf.sub(x, mean)))];
    });
    const scaleValue = scale ?? tf.scalar(1);
    return {
      x: () => tf.mul(grad, g),
      mean: () => tf.neg(tf.mul(g, sumDy)),
      variance: () => tf.mul(tf.mul(tf.mul(tf.pow(rstd, 3), scaleValue), tf.scalar(-0.5)), sumDyXmu),
      scale: () => tf.mul(rstd, sumDyXmu),
      offset: () => sumDy,
    };
  },
};


/**
 * Identity (and Cast to the same dtype) sharing the input's buffer with a reference count, as the cpu backend does,
 * instead of copying it: TF.js tensors are immutable and no wasm kernel writes into its inputs. The gradient tape
 * and moments() clone every activation a few times per step.
 */
function identityShared(args: { inputs: tf.NamedTensorInfoMap; backend: object }): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  (args.backend as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function castKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { dtype } = args.attrs as { dtype: tf.DataType };
    return dtype === x.dtype && dtype !== 'string' ? identityShared(args) : stock(args);
  };
}


interface DepthwiseBackpropAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

function checkDepthwise(kernel: string, attrs: DepthwiseBackpropAttrs): [number, number] {
  const d = pair(attrs.dilations ?? 1);
  if (d[0] !== 1 || d[1] !== 1) throw new Error(`${kernel} on wasm: dilations other than 1 are not supported`);
  return pair(attrs.strides);
}

/** Geometry of a depthwise conv: batch, input and output sizes, strides, padding, kernel size, channels. */
interface DepthwiseGeometry {
  n: number; h: number; w: number; c: number; oh: number; ow: number; cm: number;
  kh: number; kw: number; sh: number; sw: number; pt: number; pl: number;
}

/**
 * Every (output pixel, kernel tap) pair of a depthwise conv that lands inside the input: calls
 * `tap(d0, x0, k0)` with the offsets of dy[b, oy, ox, 0], x[b, iy, ix, 0] and filter[ky, kx, 0, 0]. Channels stay
 * innermost in the callers' loops, so their reads are sequential.
 */
function forEachDepthwiseTap(g: DepthwiseGeometry, tap: (d0: number, x0: number, k0: number) => void): void {
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        const d0 = ((b * g.oh + oy) * g.ow + ox) * g.cm;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh + ky - g.pt;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw + kx - g.pl;
            if (ix < 0 || ix >= g.w) continue;
            tap(d0, ((b * g.h + iy) * g.w + ix) * g.c, (ky * g.kw + kx) * g.cm);
          }
        }
      }
    }
  }
}

/**
 * Depthwise filter gradient, dw[kh,kw,c,q] = sum_{n,oy,ox} xpad[n, oy*s+kh, ox*s+kw, c] * dy[n,oy,ox,c*m+q], as a
 * JS loop on the wasm heap (channels innermost, so both reads are sequential). Depthwise layers are cheap: this
 * is a few tens of million multiply-adds per step for a mini-Xception.
 */
export function depthwiseBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: Attrs;
}): TensorInfo {
  const backend = args.backend as WasmBackendLike & WasmHeap;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as DepthwiseBackpropAttrs;
  const [sh, sw] = checkDepthwise('DepthwiseConv2dNativeBackpropFilter', attrs);
  const filterShape = attrs.filterShape!;
  const [kh, kw, c, m] = filterShape;
  const xShape = x.shape as [number, number, number, number];
  const [n, h, w] = xShape;
  const [, oh, ow, cm] = dy.shape;
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, [sh, sw], 1, attrs.pad, attrs.dimRoundingMode, true);
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const acc = new Float64Array(kh * kw * cm);
  const xs = backend.typedArrayFromHeap(x);
  const ds = backend.typedArrayFromHeap(dy);
  forEachDepthwiseTap({ n, h, w, c, oh, ow, cm, kh, kw, sh, sw, pt, pl }, (d0, x0, a0) => {
    if (m === 1) {
      for (let k = 0; k < c; k++) acc[a0 + k] += xs[x0 + k] * ds[d0 + k];
    } else {
      for (let k = 0; k < cm; k++) acc[a0 + k] += xs[x0 + ((k / m) | 0)] * ds[d0 + k];
    }
  });
  return backend.makeOutput([kh, kw, c, m], 'float32', undefined, Float32Array.from(acc));
}

/**
 * Depthwise input gradient. Channel multiplier 1 (SeparableConv2D's default): a depthwise conv (XNNPACK) of the
 * zero-dilated, padded dy with the spatially flipped filter. Other multipliers: a JS scatter loop.
 */
export function depthwiseBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: Attrs;
}): TensorInfo {
  const backend = args.backend as WasmBackendLike & WasmHeap;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as DepthwiseBackpropAttrs;
  const [sh, sw] = checkDepthwise('DepthwiseConv2dNativeBackpropInput', attrs);
  const inShape = attrs.inputShape!;
  const [n, h, w, c] = inShape;
  const filterShape = filter.shape as [number, number, number, number];
  const [kh, kw, , m] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(inShape, filterShape, [sh, sw], 1, attrs.pad, attrs.dimRoundingMode, true);
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const [, oh, ow, cm] = dy.shape;
  if (m === 1) {
    const dyd = zeroDilate(backend, dy, sh, sw);
    const top = kh - 1 - pt;
    const left = kw - 1 - pl;
    const bottom = h + kh - 1 - top - ((oh - 1) * sh + 1);
    const right = w + kw - 1 - left - ((ow - 1) * sw + 1);
    const dyp = padOrCrop(backend, dyd, [top, bottom, left, right]);
    if (dyp !== dyd && dyd !== dy) free(backend, dyd);
    const flipped = run(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
    const dx = run(backend, 'DepthwiseConv2dNative', { x: dyp, filter: flipped }, {
      strides: [1, 1],
      pad: 'valid',
      dilations: [1, 1],
      dimRoundingMode: undefined as unknown as string,
    });
    free(backend, flipped);
    if (dyp !== dy) free(backend, dyp);
    return dx;
  }
  const dx = backend.makeOutput([n, h, w, c], 'float32');
  const ws = backend.typedArrayFromHeap(filter);
  const ds = backend.typedArrayFromHeap(dy);
  const out = backend.typedArrayFromHeap(dx);
  out.fill(0);
  forEachDepthwiseTap({ n, h, w, c, oh, ow, cm, kh, kw, sh, sw, pt, pl }, (d0, x0, w0) => {
    for (let k = 0; k < cm; k++) out[x0 + ((k / m) | 0)] += ds[d0 + k] * ws[w0 + k];
  });
  return dx;
}

/**
 * MaxPoolGrad in JS on the wasm heap: per output pixel, the first maximum of each channel's window (row-major, as the
 * cpu backend picks it) receives dy. Channels innermost, so reads are sequential. The stock wasm kernel took ~8x the
 * forward max-pool here.
 */
export function maxPoolGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: Attrs }): TensorInfo {
  const backend = args.backend as WasmBackendLike & WasmHeap;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const attrs = args.attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'same' | 'valid' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const dx = backend.makeOutput(input.shape, 'float32');
  const xs = backend.typedArrayFromHeap(input);
  const ds = backend.typedArrayFromHeap(dy);
  const out = backend.typedArrayFromHeap(dx);
  out.fill(0);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = Math.max(0, oy * sh - pt);
      const y1 = Math.min(h, oy * sh - pt + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = Math.max(0, ox * sw - pl);
        const x1 = Math.min(w, ox * sw - pl + fw);
        best.fill(-Infinity);
        at.fill(-1);
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) {
            const base = ((b * h + y) * w + x) * c;
            for (let k = 0; k < c; k++) {
              const v = xs[base + k];
              if (v > best[k]) {
                best[k] = v;
                at[k] = base + k;
              }
            }
          }
        }
        const d0 = ((b * oh + oy) * ow + ox) * c;
        for (let k = 0; k < c; k++) if (at[k] >= 0) out[at[k]] += ds[d0 + k];
      }
    }
  }
  return dx;
}

let registered = false;

/**
 * Registers the conv gradient kernels for the 'wasm' backend. Idempotent; safe before or after the backend is
 * initialised (the kernels have no setup step of their own).
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  // Load the backend's own kernels first so that its Conv2DBackpropInput cannot overwrite ours later.
  require('@tensorflow/tfjs-backend-wasm');
  const replace = (config: tf.KernelConfig): void => {
    if (tf.getKernel(config.kernelName, BACKEND)) tf.unregisterKernel(config.kernelName, BACKEND);
    tf.registerKernel(config);
  };
  replace({
    kernelName: 'Conv2DBackpropFilter',
    backendName: BACKEND,
    kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc,
  });
  replace({
    kernelName: 'Conv2DBackpropInput',
    backendName: BACKEND,
    kernelFunc: conv2DBackpropInputWasm as unknown as tf.KernelFunc,
  });
  replace({
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: BACKEND,
    kernelFunc: depthwiseBackpropFilterWasm as unknown as tf.KernelFunc,
  });
  replace({
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: BACKEND,
    kernelFunc: depthwiseBackpropInputWasm as unknown as tf.KernelFunc,
  });
  const stockMaxPoolGrad = tf.getKernel('MaxPoolGrad', BACKEND);
  replace({
    ...stockMaxPoolGrad,
    kernelFunc: (args) =>
      (args.inputs.input as TensorInfo).dtype === 'float32'
        ? maxPoolGradWasm(args as Parameters<typeof maxPoolGradWasm>[0])
        : stockMaxPoolGrad.kernelFunc(args),
  });
  for (const [name, kind] of [['Sum', 'sum'], ['Mean', 'mean']] as const) {
    const stock = tf.getKernel(name, BACKEND);
    replace({ ...stock, kernelFunc: reductionKernel(kind, stock.kernelFunc) });
  }
  const stockIdentity = tf.getKernel('Identity', BACKEND);
  replace({
    ...stockIdentity,
    kernelFunc: (args) =>
      (args.inputs.x as TensorInfo).dtype === 'string' ? stockIdentity.kernelFunc(args) : identityShared(args),
  });
  const stockCast = tf.getKernel('Cast', BACKEND);
  replace({ ...stockCast, kernelFunc: castKernel(stockCast.kernelFunc) });
  tf.registerGradient(fusedBatchNormGradConfig);
}
