/**
 * The training step of a TF.js LayersModel as one ONNX graph: forward pass in training mode (batch-norm batch
 * statistics, dropout masks fed in), softmax cross-entropy, and the backward pass written out op by op, so that
 * onnxruntime's CPU kernels (multi-threaded MLAS GEMM/conv) compute every gradient. The optimizer stays in JS.
 *
 * Inputs:  x [N,H,W,C] (NHWC, preprocessed) - targets [N,K] (already label-smoothed) - weights [N] (per-example
 *          loss weights summing to 1) - param_i (each trainable weight in TF.js layout) - mask_j (each dropout
 *          layer: 0 or 1/(1-rate), the shape of its input).
 * Outputs: loss [] - logits [N,K] - grad_i (TF.js layout, same order as params) - bn_mean_j / bn_var_j (batch
 *          statistics of each batch-norm layer, for the moving averages).
 *
 * Layout: NCHW inside (ONNX Conv/Pool); conv kernels are transposed from TF's [kh,kw,in,out] in the graph and
 * their gradients back. Each forward op records how to send a gradient back to its inputs; the backward pass walks
 * the records in reverse and sums gradients of values used more than once (residual connections).
 */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../../errors';
import { LayerConfig, pair, samePads, walkModel } from '../../export/convert';
import { GraphBuilder, OnnxGraph, ValueInfo } from '../../export/graph';

type SymbolicTensor = tf.SymbolicTensor;
type Layer = tf.layers.Layer;

/** opset 17: ReduceSum takes axes as an input, ReduceMean still as an attribute; ScatterElements has reduction. */
const TRAIN_OPSET = 17;

export interface TrainingGraph {
  graph: OnnxGraph;
  /** Trainable variables in the order of the param_i inputs / grad_i outputs. */
  params: Array<{ input: string; grad: string; variable: tf.LayerVariable; shape: number[] }>;
  /** Dropout layers: mask input name, rate, and the per-example shape of the mask. */
  dropouts: Array<{ input: string; layer: string; rate: number; shape: number[] }>;
  /** Batch-norm layers: output names of the batch statistics and the moving-average variables to update. */
  batchNorms: Array<{ layer: string; mean: string; variance: string; movingMean: tf.LayerVariable; movingVariance: tf.LayerVariable; momentum: number }>;
  classes: number;
}

interface ConvGeometry {
  cin: number;
  cout: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** [top, left, bottom, right] */
  pads: number[];
}

export interface TrainingGraphOptions {
  /**
   * Convolutions with at most this many output pixels run as im2col + one batch-wide GEMM instead of
   * onnxruntime's Conv (faster on small maps; see convCore()). 0 = never.
   */
  gemmConvMaxPixels: number;
  /**
   * 3x3 stride-1 'same' convolutions on even-sized maps whose input and output both have at least this many channels
   * run as Winograd F(2x2,3x3) (see convWinograd()): 2.25x fewer multiplications in the forward GEMM and in both
   * gradients, for some memory passes that pay off only with enough channels. 0 = never.
   */
  winogradMinChannels: number;
}

/**
 * 36: only 6x6 maps and smaller run as im2col + GEMM. 144 (12x12 too) was chosen on vgg-compact in November; paired
 * whole-graph timings on 2026-12-04 (`node benchmarks/train-graph-ab.js dist dist-36 --arch <arch>`, 10-12 rounds;
 * results/benchmarks/train-speed-vgg-large.md) gave 36 / 144 = 0.973 on vgg-large, 0.976 on vgg-wide, 0.994 on
 * vgg-compact, 0.976 on resnet18, 0.993 on mini-xception.
 *
 * winogradMinChannels 192: paired whole-graph ratios against Winograd off (`train-graph-ab.js dist
 * dist:winogradMinChannels=N --arch <arch> --rounds 6-8`, 2026-12-04, results/benchmarks/winograd-ab.txt; that build's
 * default was 0; against today's build pass dist:winogradMinChannels=0 as the reference). At 128:
 * vgg-large 0.83-0.91, vgg-wide 0.86, vgg-compact 0.92, but resnet18 1.31 (its 128-channel 6x6 maps lose). At 256
 * (the same convolutions as 192 on vgg-large, vgg-compact and resnet18): 0.82-0.91, 0.92 and 0.98; vgg-wide at 192
 * 0.87 (256: 0.94). At 64 (48x48 maps too) vgg-large got slower (1.02).
 */
export const DEFAULT_TRAINING_GRAPH_OPTIONS: TrainingGraphOptions = { gemmConvMaxPixels: 36, winogradMinChannels: 192 };

interface Value {
  name: string;
  /** Static shape in the graph's layout (NCHW for rank 4); the batch dimension is -1. */
  shape: number[];
  /** Whether a gradient must flow back to this value (false for the image input and what only depends on it). */
  needsGrad: boolean;
}

const SUPPORTED =
  'Conv2D, SeparableConv2D (depth multiplier 1), Dense, BatchNormalization, ReLU, Activation (relu/linear), MaxPooling2D, GlobalAveragePooling2D, Flatten, Add, Dropout';

class TrainingGraphBuilder {
  private readonly b: GraphBuilder;
  private readonly values = new Map<number, Value>();
  private readonly backward: Array<() => void> = [];
  /** value name -> gradient contributions (summed when read). */
  private readonly grads = new Map<string, string[]>();
  private readonly consts = new Map<string, string>();
  private readonly result: TrainingGraph;
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly paramGradNames: string[] = [];

  constructor(private readonly model: tf.LayersModel, private readonly options: TrainingGraphOptions) {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new FerError(`onnxruntime training needs one image input and one class output; model "${model.name}" has ${model.inputs.length} and ${model.outputs.length}.`);
    }
    const inShape = model.inputs[0].shape as number[];
    const classes = model.outputs[0].shape[1] as number;
    this.b = new GraphBuilder(`${model.name}_train_step`, { name: 'x', shape: ['N', ...inShape.slice(1)] }, { name: 'loss', shape: [] });
    this.b.graph.opset = TRAIN_OPSET;
    for (const n of ['targets', 'weights', 'logits']) this.b.unique(n);
    this.inputs.push({ name: 'targets', shape: ['N', classes] }, { name: 'weights', shape: ['N'] });
    this.outputs.push({ name: 'logits', shape: ['N', classes] });
    this.result = { graph: this.b.graph, params: [], dropouts: [], batchNorms: [], classes };
  }

  build(): TrainingGraph {
    const inputTensor = this.model.inputs[0];
    const [, h, w, c] = inputTensor.shape as number[];
    const x = this.b.node('Transpose', ['x'], { perm: [0, 3, 1, 2] }, 'x_nchw');
    this.values.set(inputTensor.id, { name: x, shape: [-1, c, h, w], needsGrad: false });
    const logits = this.visit(this.model.outputs[0]);
    if (logits.shape.length !== 2) throw new FerError(`Model "${this.model.name}" output is not [batch, classes].`);
    this.loss(logits);
    for (let i = this.backward.length - 1; i >= 0; i--) this.backward[i]();
    this.result.params.forEach((p, i) => {
      const g = this.gradOf(this.paramGradNames[i]);
      if (!g) throw new FerError(`Weight ${p.variable.name} gets no gradient from the loss: is it used by the model output?`);
      const node = this.b.graph.nodes.find((n) => n.outputs.includes(g));
      if (node && !this.b.graph.nodes.some((n) => n.inputs.includes(g)) && !this.outputs.some((o) => o.name === g)) {
        node.outputs[node.outputs.indexOf(g)] = p.grad;
      } else {
        this.b.graph.nodes.push({ opType: 'Identity', inputs: [g], outputs: [p.grad], name: this.b.unique(`${p.grad}_node`), attrs: {} });
      }
      this.outputs.push({ name: p.grad, shape: p.shape });
    });
    // model.trainableWeights order, so optimizer state is interchangeable with the TF.js engine's
    const order = this.model.trainableWeights;
    const missing = order.filter((v) => !this.result.params.some((p) => p.variable === v));
    if (missing.length > 0) throw new FerError(`Weights ${missing.map((v) => v.name).join(', ')} are not used by the model output.`);
    this.result.params.sort((a, b) => order.indexOf(a.variable) - order.indexOf(b.variable));
    this.b.graph.extraInputs = this.inputs;
    this.b.graph.extraOutputs = this.outputs;
    return this.result;
  }

  // ----- helpers -----

  /** One initializer per key, shared by every node that asks for it (`data` runs only the first time). */
  private sharedInit(key: string, base: string, dims: number[], data: () => Float32Array | BigInt64Array): string {
    let name = this.consts.get(key);
    if (!name) {
      name = this.b.init(base, dims, data());
      this.consts.set(key, name);
    }
    return name;
  }

  private int64(values: number[]): string {
    return this.sharedInit(`i64:${values.join(',')}`, 'c', [values.length], () => BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  private scalar(v: number): string {
    return this.sharedInit(`f32:${v}`, 'c', [], () => Float32Array.of(v));
  }

  /** [C, P, N] -> [C, P+1, N] with a zero row at index P, where gathers send taps that fall outside the map. */
  private appendZeroRow(v: string, name: string): string {
    return this.op('Pad', [v, this.int64([0, 0, 0, 0, 1, 0])], {}, name);
  }

  /** M = elements per channel of a batch-norm input (N*H*W or N) as a float scalar; N is only known at run time. */
  private elementsPerChannel(x: Value, name: string): string {
    const n = this.op('Cast', [this.op('Gather', [this.op('Shape', [x.name]), this.int64([0])])], { to: 1 }, `${name}_n`);
    const perImage = x.shape.length === 4 ? x.shape[2] * x.shape[3] : 1;
    return perImage === 1 ? this.op('Reshape', [n, this.int64([])]) : this.op('Mul', [this.op('Reshape', [n, this.int64([])]), this.scalar(perImage)], {}, `${name}_count`);
  }

  private op(opType: string, inputs: string[], attrs: Record<string, number | number[] | string | { f: number }> = {}, base = opType): string {
    return this.b.node(opType, inputs, attrs, base);
  }

  private addGrad(value: string, grad: string): void {
    const list = this.grads.get(value) ?? [];
    list.push(grad);
    this.grads.set(value, list);
  }

  /** The summed gradient of a value, or undefined when nothing downstream reaches the loss. */
  private gradOf(value: string): string | undefined {
    const list = this.grads.get(value);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    const sum = this.op('Sum', list, {}, `${value}_grad_sum`);
    this.grads.set(value, [sum]);
    return sum;
  }

  /** Record how to push the gradient of `out` back (run in reverse order after the loss). */
  private onBackward(out: Value, fn: (dy: string) => void): void {
    if (!out.needsGrad) return;
    this.backward.push(() => {
      const dy = this.gradOf(out.name);
      if (dy) fn(dy);
    });
  }

  private param(variable: tf.LayerVariable): string {
    // A layer applied twice shares its weights: one input, gradients summed.
    const known = this.result.params.find((p) => p.variable === variable);
    if (known) return known.input;
    const i = this.result.params.length;
    const input = this.b.unique(`param_${i}`);
    const grad = this.b.unique(`grad_${i}`);
    this.result.params.push({ input, grad, variable, shape: variable.shape as number[] });
    this.inputs.push({ name: input, shape: variable.shape as number[] });
    this.paramGradNames.push(input);
    return input;
  }

  private unsupported(layer: Layer, why: string): FerError {
    return new FerError(
      `onnxruntime training cannot run layer "${layer.name}" (${layer.getClassName()}): ${why}. ` +
        `Supported: ${SUPPORTED}. Train this model with --engine tfjs.`,
    );
  }

  private visit(root: SymbolicTensor): Value {
    return walkModel(root, this.values, (t, inputs) => this.emit(t.sourceLayer, inputs, t === root));
  }

  // ----- layers -----

  private emit(layer: Layer, inputs: Value[], isOutput: boolean): Value {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as LayerConfig;
    if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast') throw this.unsupported(layer, `dataFormat ${cfg.dataFormat}`);
    const x = inputs[0];
    switch (cls) {
      case 'Conv2D':
        return this.activation(layer, cfg.activation, this.conv(layer, cfg, x), isOutput);
      case 'SeparableConv2D':
        return this.activation(layer, cfg.activation, this.separableConv(layer, cfg, x), isOutput);
      case 'Dense':
        return this.activation(layer, cfg.activation, this.dense(layer, cfg, x), isOutput);
      case 'BatchNormalization':
        return this.batchNorm(layer, cfg, x);
      case 'ReLU':
        if ((cfg.maxValue ?? null) !== null || (cfg.negativeSlope ?? 0) !== 0 || (cfg.threshold ?? 0) !== 0) {
          throw this.unsupported(layer, 'only plain ReLU (no max value, slope or threshold)');
        }
        return this.relu(x, layer.name);
      case 'Activation':
        return this.activation(layer, cfg.activation, x, isOutput);
      case 'Dropout':
        return this.dropout(layer, cfg, x);
      case 'MaxPooling2D':
        return this.maxPool(layer, cfg, x);
      case 'GlobalAveragePooling2D':
        return this.globalAveragePool(layer, x);
      case 'Flatten':
        return this.flatten(x, layer.name);
      case 'Add':
        return this.add(inputs, layer.name);
      default:
        throw this.unsupported(layer, 'this layer type');
    }
  }

  private activation(layer: Layer, activation: string | undefined, x: Value, isOutput: boolean): Value {
    if (activation === undefined || activation === 'linear') return x;
    if (activation === 'relu') return this.relu(x, `${layer.name}_relu`);
    // The loss takes logits: a final softmax is folded into the softmax cross-entropy.
    if (activation === 'softmax' && isOutput) return x;
    throw this.unsupported(layer, `activation ${activation}`);
  }

  /** Kernel size, strides and padding of a conv-like layer on input x; throws for what the graph cannot do. */
  private geometry(layer: Layer, cfg: LayerConfig, x: Value, cout: number): ConvGeometry {
    if (x.shape.length !== 4) throw this.unsupported(layer, `rank-${x.shape.length} input`);
    const [kh, kw] = pair(cfg.kernelSize, 3);
    const [sh, sw] = pair(cfg.strides, 1);
    const [dh, dw] = pair(cfg.dilationRate, 1);
    if (dh !== 1 || dw !== 1) throw this.unsupported(layer, 'dilated convolution');
    const [, cin, h, w] = x.shape;
    const pads = cfg.padding === 'same' ? samePads([h, w], [kh, kw], [sh, sw]) : [0, 0, 0, 0];
    const ho = Math.floor((h + pads[0] + pads[2] - kh) / sh) + 1;
    const wo = Math.floor((w + pads[1] + pads[3] - kw) / sw) + 1;
    return { cin, cout, h, w, ho, wo, kh, kw, sh, sw, pads };
  }

  private conv(layer: Layer, cfg: LayerConfig, x: Value): Value {
    const [kernelVar, biasVar] = layer.trainableWeights;
    if (!kernelVar || (cfg.useBias !== false && !biasVar)) throw this.unsupported(layer, 'frozen (non-trainable) weights');
    const geo = this.geometry(layer, cfg, x, kernelVar.shape[3] as number);
    return this.convCore(layer.name, geo, x, this.param(kernelVar), cfg.useBias === false ? undefined : this.param(biasVar));
  }

  /** A full convolution with kernel `kernelTf` (TF layout [kh,kw,in,out]) and optional bias, forward and backward. */
  private convCore(name: string, geo: ConvGeometry, x: Value, kernelTf: string, bias: string | undefined): Value {
    const { cin, cout, h, w, ho, wo, kh, kw } = geo;
    if (this.winogradApplies(geo)) return this.convWinograd(name, geo, x, kernelTf, bias);
    // Small feature maps: onnxruntime's Conv runs one small GEMM per image there (25 GFLOP/s measured on 6x6x256),
    // while one GEMM over the whole batch reaches 150+. Large maps: its per-image im2col stays in cache and wins.
    const asGemm = ho * wo <= this.options.gemmConvMaxPixels;
    const fwd: { kind: 'gemm'; y: string; cols: string } | { kind: 'ort'; y: string; kernelOihw: string } = asGemm
      ? { kind: 'gemm', ...this.convForwardGemm(name, geo, x.name, kernelTf, bias) }
      : { kind: 'ort', ...this.convForwardOrt(name, geo, x.name, kernelTf, bias) };
    const out: Value = { name: fwd.y, shape: [-1, cout, ho, wo], needsGrad: true };
    this.onBackward(out, (dy) => {
      // Batch-innermost layouts: dy as [out, ho*wo*N], the input's im2col matrix as [in*kh*kw, ho*wo*N].
      const dyt = this.op('Reshape', [this.op('Transpose', [dy], { perm: [1, 2, 3, 0] }), this.int64([cout, -1])], {}, `${name}_dyt`);
      const cols = fwd.kind === 'gemm' ? fwd.cols : this.im2col(`${name}_x`, this.toChannelsFirst(x.name, cin, h * w), geo, false);
      // dW[(i,a,b),o] = sum_{n,p,q} xpad[n,i,p*s+a,q*s+b] * dy[n,o,p,q]: one GEMM over the whole batch, whose
      // [in,kh,kw,out] result reaches TF's [kh,kw,in,out] by moving whole rows of `out` (a fast transpose).
      const dwIhwo = this.op('Reshape', [this.op('Gemm', [cols, dyt], { transB: 1 }, `${name}_dw`), this.int64([cin, kh, kw, cout])]);
      this.addGrad(kernelTf, this.op('Transpose', [dwIhwo], { perm: [1, 2, 0, 3] }, `${name}_dw_tf`));
      if (bias) this.addGrad(bias, this.op('ReduceSum', [dyt, this.int64([1])], { keepdims: 0 }, `${name}_db`));
      if (!x.needsGrad) return;
      if (fwd.kind === 'gemm') {
        // dx[i,pos] = sum_{o,a,b} W[o,i,a,b] * dy[o, the output that read pos through tap (a,b)]: gather dy's
        // "transposed im2col" (zero where no output reads pos), then one GEMM with W as [out*kh*kw, in]
        // (transposed in the GEMM; [out,kh,kw,in] is TF's kernel as a plain 2-D transpose).
        const dcols = this.im2col(`${name}_dy`, this.op('Reshape', [dyt, this.int64([cout, ho * wo, -1])]), geo, true);
        const wOhwi = this.op('Transpose', [this.op('Reshape', [kernelTf, this.int64([kh * kw * cin, cout])])], { perm: [1, 0] }, `${name}_w_ohwi`);
        const wm = this.op('Reshape', [wOhwi, this.int64([cout * kh * kw, cin])], {}, `${name}_w_dxmat`);
        this.addGrad(x.name, this.fromChannelsFirst(this.op('Gemm', [wm, dcols], { transA: 1 }, `${name}_dxm`), cin, h, w, `${name}_dx`));
      } else {
        this.addGrad(x.name, this.inputGradient(name, dy, geo, kernelTf, fwd.kernelOihw, 1));
      }
    });
    return out;
  }

  /** (Dilated convolutions never get here: geometry() refuses them.) */
  private winogradApplies(geo: ConvGeometry): boolean {
    const { cin, cout, h, w, kh, kw, sh, sw, pads } = geo;
    const min = this.options.winogradMinChannels;
    return min > 0 && cin >= min && cout >= min && kh === 3 && kw === 3 && sh === 1 && sw === 1 &&
      pads.every((p) => p === 1) && h % 2 === 0 && w % 2 === 0;
  }

  /**
   * A 3x3 'same' convolution as Winograd F(2x2,3x3) (Lavin & Gray 2016). Each 2x2 block of outputs is
   * A^T [(G g G^T) * (B^T d B)] A, d the 4x4 input tile around it: per tile, 16 products per (in, out) channel pair
   * instead of 36. With the 16 tile positions as a batch axis this is one batched GEMM per direction:
   *   forward  M[k] = U[k]^T V[k]      (U = the transformed kernel [16,in,out], V = the input tiles [16,in,T*N])
   *   kernel   dU[k] = V[k] dM[k]^T    (dM = the output gradient pushed back through A), then G^T dU G
   *   input    dV[k] = U[k] dM[k],     then B dV B^T summed over the overlapping tiles
   * These are the exact gradients of the forward's arithmetic, so they equal the convolution's up to rounding.
   * Layouts are channels first, batch innermost ([C, pixels, N]), as for im2col; tiles are gathered with the same
   * zero-row trick.
   */
  private convWinograd(name: string, geo: ConvGeometry, x: Value, kernelTf: string, bias: string | undefined): Value {
    const { cin, cout, h, w } = geo;
    const th = h / 2;
    const tw = w / 2;
    const tiles = th * tw;
    // Transform matrices and tile indices are shared by every Winograd convolution (indices: per map size).
    const mat = (base: string, rows: number, cols: number, data: () => Float32Array) => this.sharedInit(`wino:${base}`, `winograd_${base}`, [rows, cols], data);
    const f = WINOGRAD_F2X3;
    const bk = mat('input', 16, 16, () => f.inputTransform);
    const gk = mat('kernel', 16, 9, () => f.kernelTransform);
    const ak = mat('output', 4, 16, () => f.outputTransform);
    // U[k, i, o]: TF's [3,3,in,out] kernel is [9, in*out] as it lies.
    const u = this.op('Reshape', [this.op('MatMul', [gk, this.op('Reshape', [kernelTf, this.int64([9, cin * cout])])], {}, `${name}_wino_gg`), this.int64([16, cin, cout])], {}, `${name}_wino_u`);
    // V: gather the 16 elements of every tile ([in, 16, T, N]), move the 16 first, transform.
    const d = this.op('Gather', [
      this.appendZeroRow(this.toChannelsFirst(x.name, cin, h * w), `${name}_x_zrow`),
      this.sharedInit(`wino-tiles:${h}x${w}`, `winograd_tile_index_${h}x${w}`, [16, tiles], () => winogradTileIndex(h, w)),
    ], { axis: 1 }, `${name}_wino_tiles`);
    const d16 = this.op('Reshape', [this.op('Transpose', [this.op('Reshape', [d, this.int64([cin, 16, -1])])], { perm: [1, 0, 2] }, `${name}_wino_d16`), this.int64([16, -1])]);
    const v = this.op('Reshape', [this.op('MatMul', [bk, d16], {}, `${name}_wino_btd`), this.int64([16, cin, -1])], {}, `${name}_wino_v`);
    const mm = this.op('MatMul', [this.op('Transpose', [u], { perm: [0, 2, 1] }), v], {}, `${name}_wino_m`); // [16, out, T*N]
    const y4 = this.op('MatMul', [ak, this.op('Reshape', [mm, this.int64([16, -1])])], {}, `${name}_wino_y`); // [4, out*T*N]
    // [a, b, out, ty, tx, N] -> NCHW with row 2ty+a, column 2tx+b
    let y = this.op('Reshape', [
      this.op('Transpose', [this.op('Reshape', [y4, this.int64([2, 2, cout, th, tw, -1])])], { perm: [5, 2, 3, 0, 4, 1] }, `${name}_wino_y_nchw`),
      this.int64([-1, cout, h, w]),
    ], {}, bias ? `${name}_nobias` : name);
    if (bias) y = this.op('Add', [y, this.op('Reshape', [bias, this.int64([1, cout, 1, 1])])], {}, name);
    const out: Value = { name: y, shape: [-1, cout, h, w], needsGrad: true };
    this.onBackward(out, (dy) => {
      // dy's 2x2 blocks as [4, out*T*N] (the inverse of the forward's rearrangement), then through A^T's adjoint.
      const dy4 = this.op('Reshape', [
        this.op('Transpose', [this.op('Reshape', [dy, this.int64([-1, cout, th, 2, tw, 2])])], { perm: [3, 5, 1, 2, 4, 0] }, `${name}_wino_dy_tiles`),
        this.int64([4, -1]),
      ], {}, `${name}_wino_dy4`);
      const dm = this.op('Reshape', [this.op('MatMul', [mat('output_adjoint', 16, 4, () => transpose(f.outputTransform, 4, 16)), dy4], {}, `${name}_wino_ady`), this.int64([16, cout, -1])], {}, `${name}_wino_dm`);
      const du = this.op('MatMul', [v, this.op('Transpose', [dm], { perm: [0, 2, 1] })], {}, `${name}_wino_du`); // [16, in, out]
      const dg = this.op('MatMul', [mat('kernel_adjoint', 9, 16, () => transpose(f.kernelTransform, 16, 9)), this.op('Reshape', [du, this.int64([16, -1])])], {}, `${name}_wino_gtdu`);
      this.addGrad(kernelTf, this.op('Reshape', [dg, this.int64([3, 3, cin, cout])], {}, `${name}_dw_tf`));
      if (bias) this.addGrad(bias, this.op('ReduceSum', [dy, this.int64([0, 2, 3])], { keepdims: 0 }, `${name}_db`));
      if (!x.needsGrad) return;
      const dv = this.op('MatMul', [u, dm], {}, `${name}_wino_dv`); // [16, in, T*N]
      const dd = this.op('MatMul', [mat('input_adjoint', 16, 16, () => transpose(f.inputTransform, 16, 16)), this.op('Reshape', [dv, this.int64([16, -1])])], {}, `${name}_wino_bdv`);
      // [16, in, T*N] -> [in, 16*T, N], then each input pixel sums the (up to 4) tile elements that read it.
      const ddc = this.op('Reshape', [this.op('Transpose', [this.op('Reshape', [dd, this.int64([16, cin, -1])])], { perm: [1, 0, 2] }, `${name}_wino_dd_cf`), this.int64([cin, 16 * tiles, -1])]);
      const parts = this.op('Gather', [
        this.appendZeroRow(ddc, `${name}_wino_dzrow`),
        this.sharedInit(`wino-scatter:${h}x${w}`, `winograd_scatter_index_${h}x${w}`, [4, h * w], () => winogradScatterIndex(h, w)),
      ], { axis: 1 }, `${name}_wino_dparts`);
      const dxcf = this.op('ReduceSum', [parts, this.int64([1])], { keepdims: 0 }, `${name}_wino_dx`);
      this.addGrad(x.name, this.fromChannelsFirst(dxcf, cin, h, w, `${name}_dx`));
    });
    return out;
  }

  /**
   * Keras SeparableConv2D = depthwise kxk conv (one filter per channel, multiplier 1) then a 1x1 conv (+ bias).
   * Depthwise backward: dW[c,tap] = sum over batch and pixels of the im2col of x times dz (one broadcast Mul +
   * ReduceSum); dx = grouped Conv of dz with the flipped kernel (stride 1) or grouped ConvTranspose (strided).
   */
  private separableConv(layer: Layer, cfg: LayerConfig, x: Value): Value {
    const [depthwiseVar, pointwiseVar, biasVar] = layer.trainableWeights;
    if (!depthwiseVar || !pointwiseVar || (cfg.useBias !== false && !biasVar)) throw this.unsupported(layer, 'frozen (non-trainable) weights');
    // (the kernel shape, not getConfig(): TF.js's SeparableConv2D config leaves depthMultiplier out)
    const multiplier = depthwiseVar.shape[3] as number;
    if (multiplier !== 1) throw this.unsupported(layer, `depth multiplier ${multiplier}`);
    const geo = this.geometry(layer, cfg, x, x.shape[1]);
    const { cin: c, h, w, ho, wo, kh, kw, sh, sw, pads } = geo;
    const name = layer.name;
    const dwTf = this.param(depthwiseVar); // [kh, kw, c, 1]
    const wd = this.op('Transpose', [dwTf], { perm: [2, 3, 0, 1] }, `${name}_dw_w`); // [c, 1, kh, kw]
    const z = this.op('Conv', [x.name, wd], { kernel_shape: [kh, kw], strides: [sh, sw], pads, group: c }, `${name}_depthwise`);
    const zValue: Value = { name: z, shape: [-1, c, ho, wo], needsGrad: true };
    this.onBackward(zValue, (dz) => {
      const cols = this.op('Reshape', [this.im2col(`${name}_x`, this.toChannelsFirst(x.name, c, h * w), geo, false), this.int64([c, kh * kw, -1])]);
      const dzt = this.op('Reshape', [this.op('Transpose', [dz], { perm: [1, 2, 3, 0] }), this.int64([c, 1, -1])], {}, `${name}_dzt`);
      const dwFlat = this.op('ReduceSum', [this.op('Mul', [cols, dzt]), this.int64([2])], { keepdims: 0 }, `${name}_ddw`); // [c, kh*kw]
      this.addGrad(dwTf, this.op('Reshape', [this.op('Transpose', [dwFlat], { perm: [1, 0] }), this.int64([kh, kw, c, 1])], {}, `${name}_ddw_tf`));
      if (!x.needsGrad) return;
      this.addGrad(x.name, this.inputGradient(name, dz, geo, dwTf, wd, c));
    });
    const pointwise: ConvGeometry = { cin: c, cout: pointwiseVar.shape[3] as number, h: ho, w: wo, ho, wo, kh: 1, kw: 1, sh: 1, sw: 1, pads: [0, 0, 0, 0] };
    return this.convCore(`${name}_pointwise`, pointwise, zValue, this.param(pointwiseVar), cfg.useBias === false ? undefined : this.param(biasVar));
  }

  /**
   * dx of a convolution on onnxruntime's kernels. Stride 1: a plain (grouped) Conv of dy with the spatially flipped
   * kernel, in/out swapped (onnxruntime's Conv is ~3x faster than its ConvTranspose for the same work, measured
   * here). Strided: ConvTranspose with the forward kernel. `kernelTf` is TF layout [kh,kw,in,out] (depthwise:
   * [kh,kw,c,1]), `kernelOihw` the forward ONNX kernel; `group` = 1, or the channels of a depthwise conv.
   */
  private inputGradient(name: string, dy: string, geo: ConvGeometry, kernelTf: string, kernelOihw: string, group: number): string {
    const { h, w, ho, wo, kh, kw, sh, sw, pads } = geo;
    if (sh === 1 && sw === 1) {
      const flipped = this.op('Slice', [kernelTf, this.int64([-1, -1]), this.int64([-kh - 1, -kw - 1]), this.int64([0, 1]), this.int64([-1, -1])], {}, `${name}_w_flip`);
      const wflip = this.op('Transpose', [flipped], { perm: [2, 3, 0, 1] }, `${name}_w_dx`);
      const dxPads = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]];
      return this.op('Conv', [dy, wflip], { kernel_shape: [kh, kw], strides: [1, 1], pads: dxPads, group }, `${name}_dx`);
    }
    const fullH = sh * (ho - 1) + kh - pads[0] - pads[2];
    const fullW = sw * (wo - 1) + kw - pads[1] - pads[3];
    return this.op('ConvTranspose', [dy, kernelOihw], {
      kernel_shape: [kh, kw], strides: [sh, sw], pads, output_padding: [h - fullH, w - fullW], group,
    }, `${name}_dx`);
  }

  /** onnxruntime's Conv (NCHW, kernel transposed from TF's [kh,kw,in,out] to OIHW in the graph). */
  private convForwardOrt(name: string, geo: ConvGeometry, x: string, kernelTf: string, bias: string | undefined): { y: string; kernelOihw: string } {
    const { kh, kw, sh, sw, pads } = geo;
    const kernelOihw = this.op('Transpose', [kernelTf], { perm: [3, 2, 0, 1] }, `${name}_w_oihw`);
    const y = this.op('Conv', bias ? [x, kernelOihw, bias] : [x, kernelOihw], { kernel_shape: [kh, kw], strides: [sh, sw], pads }, name);
    return { y, kernelOihw };
  }

  /** Convolution as im2col (one Gather) + one GEMM over the whole batch; the im2col matrix is reused for dW. */
  private convForwardGemm(name: string, geo: ConvGeometry, x: string, kernelTf: string, bias: string | undefined): { y: string; cols: string } {
    const { cin, cout, h, w, ho, wo, kh, kw } = geo;
    // The weights as [in*kh*kw, out] (transposed in the GEMM): TF's [kh,kw,in,out] with whole rows of `out` moved,
    // where OIHW would move single floats (2-3x slower on vgg-wide's 384x384 kernel).
    const wm = this.op('Reshape', [this.op('Transpose', [kernelTf], { perm: [2, 0, 1, 3] }), this.int64([cin * kh * kw, cout])], {}, `${name}_w_mat`);
    const cols = this.im2col(`${name}_x`, this.toChannelsFirst(x, cin, h * w), geo, false);
    const inputs = [wm, cols];
    if (bias) inputs.push(this.op('Reshape', [bias, this.int64([cout, 1])], {}, `${name}_b_col`));
    const ym = this.op('Gemm', inputs, { transA: 1 }, `${name}_mat`);
    return { y: this.fromChannelsFirst(ym, cout, ho, wo, name), cols };
  }

  /** NCHW [N,C,H,W] -> [C, H*W, N] (batch innermost, so im2col gathers whole batch rows). */
  private toChannelsFirst(x: string, c: number, pixels: number): string {
    return this.op('Reshape', [this.op('Transpose', [x], { perm: [1, 2, 3, 0] }, `${x}_cpn`), this.int64([c, pixels, -1])]);
  }

  /** [C, H*W*N] (batch innermost) -> NCHW [N,C,H,W]. */
  private fromChannelsFirst(m: string, c: number, h: number, w: number, name: string): string {
    return this.op('Transpose', [this.op('Reshape', [m, this.int64([c, h, w, -1])])], { perm: [3, 0, 1, 2] }, name);
  }

  /**
   * im2col of a [C, P, N] value as [C*kh*kw, Q*N]: one Gather of whole batch rows along P, after one zero row is
   * appended at index P for taps that fall into the padding. Forward (transposed = false): P = input pixels,
   * Q = output pixels. transposed = true gathers dy (P = output pixels) for each input pixel: the output that read
   * it through tap (a,b), or zero when none did (padding, stride gaps).
   */
  private im2col(name: string, v: string, geo: ConvGeometry, transposed: boolean): string {
    const { cin, cout, h, w, ho, wo, kh, kw, sh, sw, pads } = geo;
    const [c, srcH, srcW, dstH, dstW] = transposed ? [cout, ho, wo, h, w] : [cin, h, w, ho, wo];
    const zeroRow = srcH * srcW;
    const index = new BigInt64Array(kh * kw * dstH * dstW);
    let k = 0;
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        for (let p = 0; p < dstH; p++) {
          for (let q = 0; q < dstW; q++) {
            let src = zeroRow;
            if (!transposed) {
              const i = p * sh + a - pads[0];
              const j = q * sw + b - pads[1];
              if (i >= 0 && i < h && j >= 0 && j < w) src = i * w + j;
            } else {
              const r = p + pads[0] - a;
              const s = q + pads[1] - b;
              if (r >= 0 && s >= 0 && r % sh === 0 && s % sw === 0 && r / sh < ho && s / sw < wo) src = (r / sh) * wo + s / sw;
            }
            index[k++] = BigInt(src);
          }
        }
      }
    }
    const padded = this.appendZeroRow(v, `${name}_zrow`);
    const taps = this.b.init(`${name}_im2col_index`, [kh * kw, dstH * dstW], index);
    return this.op('Reshape', [this.op('Gather', [padded, taps], { axis: 1 }, `${name}_im2col`), this.int64([c * kh * kw, -1])], {}, `${name}_cols`);
  }

  private dense(layer: Layer, cfg: LayerConfig, x: Value): Value {
    if (x.shape.length !== 2) throw this.unsupported(layer, `rank-${x.shape.length} input (add a Flatten first)`);
    const [kernelVar, biasVar] = layer.trainableWeights;
    if (!kernelVar || (cfg.useBias !== false && !biasVar)) throw this.unsupported(layer, 'frozen (non-trainable) weights');
    const kernel = this.param(kernelVar);
    const bias = cfg.useBias === false ? undefined : this.param(biasVar);
    const y = this.op('Gemm', bias ? [x.name, kernel, bias] : [x.name, kernel], {}, layer.name);
    const out: Value = { name: y, shape: [-1, kernelVar.shape[1] as number], needsGrad: true };
    this.onBackward(out, (dy) => {
      this.addGrad(kernel, this.op('Gemm', [x.name, dy], { transA: 1 }, `${layer.name}_dw`));
      if (bias) this.addGrad(bias, this.op('ReduceSum', [dy, this.int64([0])], { keepdims: 0 }, `${layer.name}_db`));
      if (x.needsGrad) this.addGrad(x.name, this.op('Gemm', [dy, kernel], { transB: 1 }, `${layer.name}_dx`));
    });
    return out;
  }

  private batchNorm(layer: Layer, cfg: LayerConfig, x: Value): Value {
    const axis = typeof cfg.axis === 'number' ? cfg.axis : Array.isArray(cfg.axis) && cfg.axis.length === 1 ? cfg.axis[0] : -1;
    const rank = x.shape.length;
    if (axis !== -1 && axis !== rank - 1) throw this.unsupported(layer, `axis ${axis} (only the channel axis)`);
    if (cfg.scale === false || cfg.center === false) throw this.unsupported(layer, 'batch norm without scale or center');
    const [gammaVar, betaVar] = layer.trainableWeights;
    const moving = layer.nonTrainableWeights;
    if (!gammaVar || !betaVar || moving.length !== 2) throw this.unsupported(layer, 'frozen (non-trainable) scale/offset');
    const channels = x.shape[1];
    const axes = rank === 4 ? [0, 2, 3] : [0];
    const bshape = rank === 4 ? [1, channels, 1, 1] : [1, channels];
    const gamma = this.param(gammaVar);
    const beta = this.param(betaVar);
    const eps = cfg.epsilon ?? 1e-3;
    const mean = this.op('ReduceMean', [x.name], { axes, keepdims: 1 }, `${layer.name}_mean`);
    const xc = this.op('Sub', [x.name, mean], {}, `${layer.name}_xc`);
    const count = this.elementsPerChannel(x, layer.name);
    // (Not ReduceSumSquare: onnxruntime's result over axes [0,2,3] was wrong for some shapes here, e.g. [8,64,24,24].)
    const variance = this.op('ReduceMean', [this.op('Mul', [xc, xc])], { axes, keepdims: 1 }, `${layer.name}_var`);
    const rstd = this.op('Reciprocal', [this.op('Sqrt', [this.op('Add', [variance, this.scalar(eps)])])], {}, `${layer.name}_rstd`);
    // y = xc * gamma * rstd + beta: two full-size passes (per-channel factors are computed on [C] first).
    const g = this.op('Reshape', [gamma, this.int64(bshape)], {}, `${layer.name}_g`);
    const scale = this.op('Mul', [g, rstd], {}, `${layer.name}_scale`);
    const y = this.op('Add', [this.op('Mul', [xc, scale]), this.op('Reshape', [beta, this.int64(bshape)])], {}, layer.name);
    // Batch statistics out, for the moving averages (TF.js updates them with the biased variance, as here).
    const meanOut = this.b.unique(`bn_mean_${this.result.batchNorms.length}`);
    const varOut = this.b.unique(`bn_var_${this.result.batchNorms.length}`);
    this.b.graph.nodes.push({ opType: 'Reshape', inputs: [mean, this.int64([-1])], outputs: [meanOut], name: this.b.unique(`${meanOut}_node`), attrs: {} });
    this.b.graph.nodes.push({ opType: 'Reshape', inputs: [variance, this.int64([-1])], outputs: [varOut], name: this.b.unique(`${varOut}_node`), attrs: {} });
    this.outputs.push({ name: meanOut, shape: [channels] }, { name: varOut, shape: [channels] });
    this.result.batchNorms.push({
      layer: layer.name, mean: meanOut, variance: varOut,
      movingMean: moving[0], movingVariance: moving[1], momentum: cfg.momentum ?? 0.99,
    });
    const out: Value = { name: y, shape: x.shape, needsGrad: true };
    this.onBackward(out, (dy) => {
      // With s1 = sum(dy), s2 = sum(dy * xc) per channel: dbeta = s1, dgamma = rstd * s2, and
      // dx = scale * (dy - s1/M - xc * rstd^2 * s2/M), computed as scale*dy + xc*c + d with per-channel c, d.
      const s1 = this.op('ReduceSum', [dy, this.int64(axes)], { keepdims: 1 }, `${layer.name}_s1`);
      const s2 = this.op('ReduceSum', [this.op('Mul', [dy, xc]), this.int64(axes)], { keepdims: 1 }, `${layer.name}_s2`);
      this.addGrad(beta, this.op('Reshape', [s1, this.int64([-1])], {}, `${layer.name}_dbeta`));
      this.addGrad(gamma, this.op('Reshape', [this.op('Mul', [s2, rstd]), this.int64([-1])], {}, `${layer.name}_dgamma`));
      if (!x.needsGrad) return;
      const negScaleOverM = this.op('Neg', [this.op('Div', [scale, count])]);
      const c = this.op('Mul', [negScaleOverM, this.op('Mul', [this.op('Mul', [rstd, rstd]), s2])], {}, `${layer.name}_c`);
      const d = this.op('Mul', [negScaleOverM, s1], {}, `${layer.name}_d`);
      const dx = this.op('Add', [this.op('Add', [this.op('Mul', [dy, scale]), this.op('Mul', [xc, c])]), d], {}, `${layer.name}_dx`);
      this.addGrad(x.name, dx);
    });
    return out;
  }

  private relu(x: Value, name: string): Value {
    const y = this.op('Relu', [x.name], {}, name);
    const out: Value = { name: y, shape: x.shape, needsGrad: x.needsGrad };
    this.onBackward(out, (dy) => {
      const zero = this.scalar(0);
      this.addGrad(x.name, this.op('Where', [this.op('Greater', [y, zero]), dy, zero], {}, `${name}_dx`));
    });
    return out;
  }

  private dropout(layer: Layer, cfg: LayerConfig, x: Value): Value {
    const rate = cfg.rate ?? 0;
    if (rate <= 0) return x;
    const input = this.b.unique(`mask_${this.result.dropouts.length}`);
    this.inputs.push({ name: input, shape: ['N', ...x.shape.slice(1)] });
    // Masks are fed in NCHW for rank-4 values; the runner draws them in that layout.
    this.result.dropouts.push({ input, layer: layer.name, rate, shape: x.shape.slice(1) });
    const y = this.op('Mul', [x.name, input], {}, layer.name);
    const out: Value = { name: y, shape: x.shape, needsGrad: x.needsGrad };
    this.onBackward(out, (dy) => this.addGrad(x.name, this.op('Mul', [dy, input], {}, `${layer.name}_dx`)));
    return out;
  }

  private maxPool(layer: Layer, cfg: LayerConfig, x: Value): Value {
    const [kh, kw] = pair(cfg.poolSize, 2);
    const [sh, sw] = pair(cfg.strides ?? cfg.poolSize, 2);
    const [, c, h, w] = x.shape;
    const pads = cfg.padding === 'same' ? samePads([h, w], [kh, kw], [sh, sw]) : [0, 0, 0, 0];
    const ho = Math.floor((h + pads[0] + pads[2] - kh) / sh) + 1;
    const wo = Math.floor((w + pads[1] + pads[3] - kw) / sw) + 1;
    const tiles = kh === sh && kw === sw && h % sh === 0 && w % sw === 0 && pads.every((p) => p === 0);
    if (tiles) {
      const y = this.op('MaxPool', [x.name], { kernel_shape: [kh, kw], strides: [sh, sw] }, layer.name);
      const out: Value = { name: y, shape: [-1, c, ho, wo], needsGrad: x.needsGrad };
      this.onBackward(out, (dy) => {
        // Non-overlapping windows: the gradient goes to the input(s) equal to the window's maximum, split equally
        // when several tie (a valid subgradient; TF.js gives it all to one of them). Ties are mostly ReLU zeros,
        // whose gradient the ReLU discards, but blank or saturated images tie at positive values too.
        // y and dy are upsampled to the input's size by nearest-neighbour Resize so that every elementwise op
        // runs without broadcasting (broadcasting over the size-2 window axes was ~4x slower in onnxruntime).
        const scales = this.b.init(`${layer.name}_up_scales`, [4], Float32Array.of(1, 1, kh, kw));
        const up = (v: string, base: string) =>
          this.op('Resize', [v, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, base);
        const isMax = this.op('Cast', [this.op('Equal', [x.name, up(y, `${layer.name}_y_up`)])], { to: 1 }, `${layer.name}_argmax`);
        const ties = this.op('Mul', [this.op('AveragePool', [isMax], { kernel_shape: [kh, kw], strides: [sh, sw] }), this.scalar(kh * kw)], {}, `${layer.name}_ties`);
        const share = this.op('Div', [dy, ties], {}, `${layer.name}_dy_share`);
        this.addGrad(x.name, this.op('Mul', [isMax, up(share, `${layer.name}_dy_up`)], {}, `${layer.name}_dx`));
      });
      return out;
    }
    // Overlapping or padded windows: route each output's gradient to its argmax index.
    const node = { opType: 'MaxPool', inputs: [x.name], outputs: [this.b.unique(layer.name), this.b.unique(`${layer.name}_idx`)], name: this.b.unique(`${layer.name}_node`), attrs: { kernel_shape: [kh, kw], strides: [sh, sw], pads } };
    this.b.graph.nodes.push(node);
    const [y, idx] = node.outputs;
    const out: Value = { name: y, shape: [-1, c, ho, wo], needsGrad: x.needsGrad };
    this.onBackward(out, (dy) => {
      const flatShape = this.op('Shape', [this.op('Reshape', [x.name, this.int64([-1])])], {}, `${layer.name}_n`);
      const zeros = this.op('ConstantOfShape', [flatShape], {}, `${layer.name}_zeros`);
      const flatIdx = this.op('Reshape', [idx, this.int64([-1])]);
      const flatDy = this.op('Reshape', [dy, this.int64([-1])]);
      const dxFlat = this.op('ScatterElements', [zeros, flatIdx, flatDy], { axis: 0, reduction: 'add' }, `${layer.name}_dxflat`);
      this.addGrad(x.name, this.op('Reshape', [dxFlat, this.int64([-1, c, h, w])], {}, `${layer.name}_dx`));
    });
    return out;
  }

  private globalAveragePool(layer: Layer, x: Value): Value {
    if (x.shape.length !== 4) throw this.unsupported(layer, `rank-${x.shape.length} input`);
    const [, c, h, w] = x.shape;
    const y = this.op('Flatten', [this.op('GlobalAveragePool', [x.name], {}, layer.name)], { axis: 1 }, `${layer.name}_flat`);
    const out: Value = { name: y, shape: [-1, c], needsGrad: x.needsGrad };
    this.onBackward(out, (dy) => {
      const scaled = this.op('Mul', [this.op('Reshape', [dy, this.int64([0, c, 1, 1])]), this.scalar(1 / (h * w))]);
      this.addGrad(x.name, this.op('Expand', [scaled, this.op('Shape', [x.name])], {}, `${layer.name}_dx`));
    });
    return out;
  }

  private flatten(x: Value, name: string): Value {
    if (x.shape.length === 2) return x;
    const [, c, h, w] = x.shape;
    // TF.js flattens NHWC: transpose back first so the next Dense's weights line up.
    const y = this.op('Reshape', [this.op('Transpose', [x.name], { perm: [0, 2, 3, 1] }), this.int64([0, -1])], {}, name);
    const out: Value = { name: y, shape: [-1, c * h * w], needsGrad: x.needsGrad };
    this.onBackward(out, (dy) => {
      const nhwc = this.op('Reshape', [dy, this.int64([-1, h, w, c])]);
      this.addGrad(x.name, this.op('Transpose', [nhwc], { perm: [0, 3, 1, 2] }, `${name}_dx`));
    });
    return out;
  }

  private add(inputs: Value[], name: string): Value {
    const y = this.op(inputs.length === 2 ? 'Add' : 'Sum', inputs.map((v) => v.name), {}, name);
    const out: Value = { name: y, shape: inputs[0].shape, needsGrad: inputs.some((v) => v.needsGrad) };
    this.onBackward(out, (dy) => {
      for (const v of inputs) if (v.needsGrad) this.addGrad(v.name, dy);
    });
    return out;
  }

  /** loss = sum_i weights_i * -sum_c targets_ic log softmax(z)_ic ; dz = weights_i * (softmax(z) - targets). */
  private loss(z: Value): void {
    const graph = this.b.graph;
    graph.nodes.push({ opType: 'Identity', inputs: [z.name], outputs: ['logits'], name: this.b.unique('logits_node'), attrs: {} });
    const logp = this.op('LogSoftmax', [z.name], { axis: 1 }, 'logp');
    const ce = this.op('Neg', [this.op('ReduceSum', [this.op('Mul', ['targets', logp]), this.int64([1])], { keepdims: 0 })], {}, 'ce');
    graph.nodes.push({ opType: 'ReduceSum', inputs: [this.op('Mul', [ce, 'weights']), this.int64([0])], outputs: ['loss'], name: this.b.unique('loss_node'), attrs: { keepdims: 0 } });
    const w = this.op('Reshape', ['weights', this.int64([-1, 1])]);
    this.addGrad(z.name, this.op('Mul', [this.op('Sub', [this.op('Exp', [logp]), 'targets']), w], {}, 'dlogits'));
  }
}

/** Kronecker square of a row-major r x c matrix: (P X P^T) in row-major vec form is kron(P, P) vec(X). */
function kron(p: number[][]): Float32Array {
  const r = p.length;
  const c = p[0].length;
  const out = new Float32Array(r * r * c * c);
  for (let a = 0; a < r; a++) {
    for (let b = 0; b < r; b++) {
      for (let i = 0; i < c; i++) {
        for (let j = 0; j < c; j++) out[(a * r + b) * c * c + i * c + j] = p[a][i] * p[b][j];
      }
    }
  }
  return out;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
  return t;
}

/** F(2x2,3x3) on 16-element row-major tiles: V = B^T d B, U = G g G^T, Y = A^T M A as matrices on the vec forms. */
const WINOGRAD_F2X3 = {
  inputTransform: kron([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]), // 16 x 16
  kernelTransform: kron([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]), // 16 x 9
  outputTransform: kron([[1, 1, 1, 0], [0, 1, -1, -1]]), // 4 x 16
};

/** For tile element (i, j) of tile (ty, tx): the input pixel (2ty+i-1, 2tx+j-1), or h*w (the zero row) in the padding. */
function winogradTileIndex(h: number, w: number): BigInt64Array {
  const th = h / 2;
  const tw = w / 2;
  const index = new BigInt64Array(16 * th * tw);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      for (let ty = 0; ty < th; ty++) {
        for (let tx = 0; tx < tw; tx++) {
          const r = 2 * ty + i - 1;
          const c = 2 * tx + j - 1;
          index[((i * 4 + j) * th + ty) * tw + tx] = BigInt(r >= 0 && r < h && c >= 0 && c < w ? r * w + c : h * w);
        }
      }
    }
  }
  return index;
}

/**
 * The adjoint of winogradTileIndex: for input pixel (r, c), the 2 x 2 tiles whose elements read it, as indices into
 * [16 * T] (element-major), or 16*T (the zero row) for a tile past the border.
 */
function winogradScatterIndex(h: number, w: number): BigInt64Array {
  const th = h / 2;
  const tw = w / 2;
  const tiles = th * tw;
  const index = new BigInt64Array(4 * h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          // the tile starting at row 2ty-1 reads row r as its element i = r+1-2ty; two tiles per axis do
          const ty = Math.floor((r + 1) / 2) - 1 + a;
          const tx = Math.floor((c + 1) / 2) - 1 + b;
          const i = r + 1 - 2 * ty;
          const j = c + 1 - 2 * tx;
          const inside = ty >= 0 && ty < th && tx >= 0 && tx < tw;
          index[(a * 2 + b) * h * w + r * w + c] = BigInt(inside ? (i * 4 + j) * tiles + ty * tw + tx : 16 * tiles);
        }
      }
    }
  }
  return index;
}

/** Build the training-step graph of `model` (see the file comment); throws a FerError for unsupported layers. */
export function buildTrainingGraph(model: tf.LayersModel, options: Partial<TrainingGraphOptions> = {}): TrainingGraph {
  return new TrainingGraphBuilder(model, { ...DEFAULT_TRAINING_GRAPH_OPTIONS, ...options }).build();
}
