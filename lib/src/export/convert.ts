/**
 * TF.js LayersModel -> OnnxGraph. Walks the functional graph from the model output back through each symbolic
 * tensor's source layer (works for Sequential and functional models alike) and emits ONNX nodes in topological order.
 *
 * Layout: the ONNX input is NHWC like fer-lab's preprocessing; one Transpose turns it into NCHW, the layout ONNX
 * Conv/Pool ops use. Rank-4 values are NCHW from then on; Flatten transposes back to NHWC first so that the
 * following Dense weights keep TF.js's flatten order.
 */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { GraphBuilder, OnnxGraph } from './graph';

type SymbolicTensor = tf.SymbolicTensor;
type Layer = tf.layers.Layer;

interface Value {
  name: string;
  rank: number;
}

export interface ConvertOptions {
  /** Name of the ONNX input (NHWC float32, dynamic batch). */
  inputName?: string;
  /** Name of the ONNX output (class probabilities). */
  outputName?: string;
  /** Append a Softmax when the model ends in logits, so the output is always probabilities. Default true. */
  ensureSoftmax?: boolean;
}

const IDENTITY_LAYERS = new Set([
  'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout',
]);

/** Layer config values we read (TF.js getConfig() uses camelCase keys). */
export interface LayerConfig {
  kernelSize?: number | number[];
  strides?: number | number[];
  dilationRate?: number | number[];
  poolSize?: number | number[];
  padding?: string | number | number[] | number[][];
  activation?: string;
  useBias?: boolean;
  dataFormat?: string;
  depthMultiplier?: number;
  axis?: number | number[];
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  maxValue?: number | null;
  alpha?: number;
  negativeSlope?: number;
  threshold?: number;
  /** BatchNormalization moving-average momentum, Dropout rate (read by the training graph). */
  momentum?: number;
  rate?: number;
}

/** A TF.js size setting (one number or a pair) as [height, width]. */
export function pair(v: number | number[] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0], v[1] ?? v[0]];
}

/**
 * TF 'same' padding as explicit ONNX pads [top, left, bottom, right]: the extra pixel of an odd total goes to the
 * bottom/right, as TF does (ONNX SAME_UPPER agrees, but explicit pads are unambiguous for every runtime).
 */
export function samePads(inSize: [number, number], kernel: [number, number], stride: [number, number],
  dilation: [number, number] = [1, 1]): number[] {
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(inSize[i] / stride[i]);
    const effK = (kernel[i] - 1) * dilation[i] + 1;
    const total = Math.max((out - 1) * stride[i] + effK - inSize[i], 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  }
  return [...before, ...after];
}

/**
 * Visit a layers model's graph from `root` back to the values already in `values` (e.g. the input), calling `emit`
 * once per symbolic tensor with its inputs' results, inputs first. Iterative post-order DFS: deep nets cannot
 * overflow the stack. Returns root's result; `values` keeps every result by tensor id.
 */
export function walkModel<T>(root: SymbolicTensor, values: Map<number, T>, emit: (t: SymbolicTensor, inputs: T[]) => T): T {
  const stack: Array<{ t: SymbolicTensor; expanded: boolean }> = [{ t: root, expanded: false }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (values.has(top.t.id)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      for (const inp of top.t.inputs) if (!values.has(inp.id)) stack.push({ t: inp, expanded: false });
      continue;
    }
    stack.pop();
    values.set(top.t.id, emit(top.t, top.t.inputs.map((inp) => values.get(inp.id) as T)));
  }
  return values.get(root.id) as T;
}

/** Whether the model's output already passes through a softmax. */
export function endsWithSoftmax(model: tf.LayersModel): boolean {
  let t = model.outputs[0];
  // Dropout and friends are identities at inference: look through them.
  while (IDENTITY_LAYERS.has(t.sourceLayer.getClassName()) && t.inputs.length === 1) t = t.inputs[0];
  const layer = t.sourceLayer;
  const cls = layer.getClassName();
  if (cls === 'Softmax') return true;
  const cfg = layer.getConfig() as LayerConfig;
  return cfg.activation === 'softmax';
}

class Converter {
  private readonly b: GraphBuilder;
  private readonly values = new Map<number, Value>();
  /** Weights of a layer converted once even if the layer is called several times (shared layers). */
  private readonly weightCache = new Map<string, string[]>();

  constructor(private readonly model: tf.LayersModel, private readonly options: Required<ConvertOptions>) {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new FerError(
        `Model "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs: ` +
          'ONNX export supports one image input and one class output.',
      );
    }
    const inShape = model.inputs[0].shape;
    const outShape = model.outputs[0].shape;
    if (inShape.length !== 4 || inShape.slice(1).some((d) => d === null)) {
      throw new FerError(`Model "${model.name}" input shape [${inShape.join(',')}] is not [batch, height, width, channels].`);
    }
    if (outShape.length !== 2 || outShape[1] === null) {
      throw new FerError(`Model "${model.name}" output shape [${outShape.join(',')}] is not [batch, classes].`);
    }
    this.b = new GraphBuilder(
      model.name,
      { name: options.inputName, shape: ['N', ...(inShape.slice(1) as number[])] },
      { name: options.outputName, shape: ['N', outShape[1]] },
    );
  }

  run(): OnnxGraph {
    const inputTensor = this.model.inputs[0];
    const nchw = this.b.node('Transpose', [this.options.inputName], { perm: [0, 3, 1, 2] }, 'input_nchw');
    this.values.set(inputTensor.id, { name: nchw, rank: 4 });
    let out = this.visit(this.model.outputs[0]);
    const last = this.b.graph.nodes[this.b.graph.nodes.length - 1];
    if (this.options.ensureSoftmax && !(last && last.outputs[0] === out.name && last.opType === 'Softmax')) {
      out = { name: this.b.node('Softmax', [out.name], { axis: 1 }, 'softmax'), rank: 2 };
    }
    // Give the final value the public output name.
    const producer = this.b.graph.nodes.find((n) => n.outputs.includes(out.name));
    if (!producer) throw new FerError(`Model "${this.model.name}" output is its input: nothing to export.`);
    if (this.b.graph.nodes.some((n) => n.inputs.includes(out.name))) {
      out = { name: this.b.node('Identity', [out.name], {}, 'output'), rank: 2 };
    }
    const final = this.b.graph.nodes.find((n) => n.outputs.includes(out.name)) ?? producer;
    final.outputs[final.outputs.indexOf(out.name)] = this.options.outputName;
    return this.b.graph;
  }

  private visit(root: SymbolicTensor): Value {
    return walkModel(root, this.values, (t, inputs) => {
      if (t.sourceLayer.getClassName() === 'InputLayer') {
        throw new FerError(`Model "${this.model.name}" has an extra input layer "${t.sourceLayer.name}".`);
      }
      return this.emit(t.sourceLayer, inputs, t);
    });
  }

  private unsupported(layer: Layer, why: string): FerError {
    return new FerError(
      `Cannot export layer "${layer.name}" (${layer.getClassName()}) to ONNX: ${why}. ` +
        'Supported: Conv2D, DepthwiseConv2D, SeparableConv2D, BatchNormalization, Dense, Flatten, pooling, ' +
        'activations, Add/Multiply/Maximum/Minimum/Average/Concatenate, ZeroPadding2D, Dropout.',
    );
  }

  private weights(layer: Layer): tf.Tensor[] {
    return layer.getWeights();
  }

  private emit(layer: Layer, inputs: Value[], output: SymbolicTensor): Value {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as LayerConfig;
    if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast') {
      throw this.unsupported(layer, `dataFormat ${cfg.dataFormat} (only channelsLast)`);
    }
    const x = inputs[0];
    const inShape = (output.inputs[0]?.shape ?? []) as Array<number | null>;
    const rank = output.shape.length;
    if (IDENTITY_LAYERS.has(cls)) return x;
    switch (cls) {
      case 'Conv2D':
      case 'DepthwiseConv2D':
      case 'SeparableConv2D': {
        const y = this.conv(layer, cls, cfg, x, inShape);
        return this.activation(layer, cfg.activation, y);
      }
      case 'Dense': {
        if (x.rank !== 2) throw this.unsupported(layer, `Dense on a rank-${x.rank} input (add a Flatten first)`);
        const [kernel, bias] = this.layerWeights(layer, () => {
          const w = this.weights(layer);
          const k = this.b.init(`${layer.name}/kernel`, w[0].shape, w[0].dataSync() as Float32Array);
          return cfg.useBias === false ? [k] : [k, this.b.init(`${layer.name}/bias`, w[1].shape, w[1].dataSync() as Float32Array)];
        });
        const y = this.b.node('Gemm', bias ? [x.name, kernel, bias] : [x.name, kernel], {}, layer.name);
        return this.activation(layer, cfg.activation, { name: y, rank: 2 });
      }
      case 'BatchNormalization': {
        const axis = typeof cfg.axis === 'number' ? cfg.axis : -1;
        if (axis !== -1 && axis !== x.rank - 1) throw this.unsupported(layer, `axis ${axis} (only the channel axis)`);
        const params = this.layerWeights(layer, () => {
          const w = this.weights(layer);
          let i = 0;
          const channels = w[w.length - 1].shape[0];
          const gamma = cfg.scale === false ? new Float32Array(channels).fill(1) : (w[i++].dataSync() as Float32Array);
          const beta = cfg.center === false ? new Float32Array(channels) : (w[i++].dataSync() as Float32Array);
          const mean = w[i++].dataSync() as Float32Array;
          const variance = w[i++].dataSync() as Float32Array;
          return [
            this.b.init(`${layer.name}/gamma`, [channels], gamma),
            this.b.init(`${layer.name}/beta`, [channels], beta),
            this.b.init(`${layer.name}/moving_mean`, [channels], mean),
            this.b.init(`${layer.name}/moving_variance`, [channels], variance),
          ];
        });
        const y = this.b.node('BatchNormalization', [x.name, ...params], { epsilon: float(cfg.epsilon ?? 1e-3) }, layer.name);
        return { name: y, rank: x.rank };
      }
      case 'Activation':
        return this.activation(layer, cfg.activation, x);
      case 'ReLU': {
        if (cfg.maxValue !== undefined && cfg.maxValue !== null) return this.clip(layer, x, 0, cfg.maxValue);
        return { name: this.b.node('Relu', [x.name], {}, layer.name), rank: x.rank };
      }
      case 'LeakyReLU':
        return { name: this.b.node('LeakyRelu', [x.name], { alpha: float(cfg.alpha ?? 0.3) }, layer.name), rank: x.rank };
      case 'ELU':
        return { name: this.b.node('Elu', [x.name], { alpha: float(cfg.alpha ?? 1) }, layer.name), rank: x.rank };
      case 'Softmax': {
        const axis = typeof cfg.axis === 'number' ? cfg.axis : -1;
        if (axis !== -1 && axis !== x.rank - 1) throw this.unsupported(layer, `softmax over axis ${axis}`);
        return { name: this.b.node('Softmax', [x.name], { axis: x.rank === 4 ? 1 : -1 }, layer.name), rank: x.rank };
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const kernel = pair(cfg.poolSize, 2);
        const strides = pair(cfg.strides ?? cfg.poolSize, 2);
        const pads = cfg.padding === 'same'
          ? samePads([inShape[1] as number, inShape[2] as number], kernel, strides)
          : [0, 0, 0, 0];
        const op = cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool';
        // AveragePool's default count_include_pad=0 matches TF, which averages only the real pixels.
        const y = this.b.node(op, [x.name], { kernel_shape: kernel, strides, pads }, layer.name);
        return { name: y, rank: 4 };
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const op = cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
        const pooled = this.b.node(op, [x.name], {}, layer.name);
        if (rank === 4) return { name: pooled, rank: 4 }; // keepDims
        return { name: this.b.node('Flatten', [pooled], { axis: 1 }, `${layer.name}/flatten`), rank: 2 };
      }
      case 'Flatten': {
        if (x.rank === 2) return x;
        if (x.rank !== 4) throw this.unsupported(layer, `rank-${x.rank} input`);
        const nhwc = this.b.node('Transpose', [x.name], { perm: [0, 2, 3, 1] }, `${layer.name}/nhwc`);
        return { name: this.b.node('Flatten', [nhwc], { axis: 1 }, layer.name), rank: 2 };
      }
      case 'ZeroPadding2D': {
        const p = cfg.padding as number[][];
        const pads = this.b.init(`${layer.name}/pads`, [8], BigInt64Array.from(
          [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]].map((v) => BigInt(v))));
        return { name: this.b.node('Pad', [x.name, pads], { mode: 'constant' }, layer.name), rank: 4 };
      }
      case 'Add':
      case 'Multiply':
      case 'Maximum':
      case 'Minimum':
      case 'Average': {
        const op = { Add: 'Sum', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min', Average: 'Mean' }[cls];
        if (op === 'Mul' && inputs.length !== 2) {
          let acc = inputs[0].name;
          for (let i = 1; i < inputs.length; i++) acc = this.b.node(op, [acc, inputs[i].name], {}, layer.name);
          return { name: acc, rank: x.rank };
        }
        const onnxOp = op === 'Sum' && inputs.length === 2 ? 'Add' : op;
        return { name: this.b.node(onnxOp, inputs.map((v) => v.name), {}, layer.name), rank: x.rank };
      }
      case 'Concatenate': {
        const axis = typeof cfg.axis === 'number' ? cfg.axis : -1;
        if (axis !== -1 && axis !== x.rank - 1) throw this.unsupported(layer, `concatenation over axis ${axis}`);
        return { name: this.b.node('Concat', inputs.map((v) => v.name), { axis: 1 }, layer.name), rank: x.rank };
      }
      default:
        throw this.unsupported(layer, 'this layer type has no ONNX conversion');
    }
  }

  private layerWeights(layer: Layer, make: () => string[]): string[] {
    let names = this.weightCache.get(layer.name);
    if (!names) {
      names = make();
      this.weightCache.set(layer.name, names);
    }
    return names;
  }

  private conv(layer: Layer, cls: string, cfg: LayerConfig, x: Value, inShape: Array<number | null>): Value {
    const kernel = pair(cfg.kernelSize, 1);
    const strides = pair(cfg.strides, 1);
    const dilations = pair(cfg.dilationRate, 1);
    const pads = cfg.padding === 'same'
      ? samePads([inShape[1] as number, inShape[2] as number], kernel, strides, dilations)
      : [0, 0, 0, 0];
    const channels = inShape[3] as number;
    const useBias = cfg.useBias !== false;
    const attrs = { kernel_shape: kernel, strides, dilations, pads };
    if (cls === 'Conv2D') {
      const [w, bias] = this.layerWeights(layer, () => {
        const t = this.weights(layer);
        const names = [this.b.init(`${layer.name}/kernel`, oihwShape(t[0]), hwioToOihw(t[0]))];
        if (useBias) names.push(this.b.init(`${layer.name}/bias`, t[1].shape, t[1].dataSync() as Float32Array));
        return names;
      });
      const y = this.b.node('Conv', bias ? [x.name, w, bias] : [x.name, w], { ...attrs, group: 1 }, layer.name);
      return { name: y, rank: 4 };
    }
    // Depthwise part (also the first half of SeparableConv2D).
    const names = this.layerWeights(layer, () => {
      const t = this.weights(layer);
      const out = [this.b.init(`${layer.name}/depthwise_kernel`, depthwiseShape(t[0]), depthwiseToOihw(t[0]))];
      if (cls === 'SeparableConv2D') {
        out.push(this.b.init(`${layer.name}/pointwise_kernel`, oihwShape(t[1]), hwioToOihw(t[1])));
        if (useBias) out.push(this.b.init(`${layer.name}/bias`, t[2].shape, t[2].dataSync() as Float32Array));
      } else if (useBias) {
        out.push(this.b.init(`${layer.name}/bias`, t[1].shape, t[1].dataSync() as Float32Array));
      }
      return out;
    });
    if (cls === 'DepthwiseConv2D') {
      const [w, bias] = names;
      const y = this.b.node('Conv', bias ? [x.name, w, bias] : [x.name, w], { ...attrs, group: channels }, layer.name);
      return { name: y, rank: 4 };
    }
    const [dw, pw, bias] = names;
    const mid = this.b.node('Conv', [x.name, dw], { ...attrs, group: channels }, `${layer.name}/depthwise`);
    const y = this.b.node('Conv', bias ? [mid, pw, bias] : [mid, pw],
      { kernel_shape: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], group: 1 }, layer.name);
    return { name: y, rank: 4 };
  }

  private clip(layer: Layer, x: Value, min: number, max: number): Value {
    const lo = this.b.init(`${layer.name}/clip_min`, [], Float32Array.of(min));
    const hi = this.b.init(`${layer.name}/clip_max`, [], Float32Array.of(max));
    return { name: this.b.node('Clip', [x.name, lo, hi], {}, layer.name), rank: x.rank };
  }

  private activation(layer: Layer, act: string | undefined, x: Value): Value {
    const name = `${layer.name}/${act}`;
    const unary = (op: string, attrs = {}): Value => ({ name: this.b.node(op, [x.name], attrs, name), rank: x.rank });
    switch (act) {
      case undefined:
      case 'linear':
        return x;
      case 'relu': return unary('Relu');
      case 'relu6': return this.clip(layer, x, 0, 6);
      case 'sigmoid': return unary('Sigmoid');
      case 'tanh': return unary('Tanh');
      case 'elu': return unary('Elu', { alpha: float(1) });
      case 'selu': return unary('Selu');
      case 'softplus': return unary('Softplus');
      case 'softsign': return unary('Softsign');
      case 'hardSigmoid':
      case 'hard_sigmoid':
        return unary('HardSigmoid', { alpha: float(0.2), beta: float(0.5) });
      case 'softmax': return unary('Softmax', { axis: x.rank === 4 ? 1 : -1 });
      case 'swish': {
        const s = this.b.node('Sigmoid', [x.name], {}, `${name}/sigmoid`);
        return { name: this.b.node('Mul', [x.name, s], {}, name), rank: x.rank };
      }
      default:
        throw this.unsupported(layer, `activation "${act}"`);
    }
  }
}

/** A float attribute even when the value is integral (ONNX alpha/beta are FLOAT). */
function float(v: number): { f: number } {
  return { f: v };
}

function oihwShape(t: tf.Tensor): number[] {
  const [kh, kw, ci, co] = t.shape;
  return [co, ci, kh, kw];
}

/** TF.js conv kernels are HWIO [kh, kw, in, out]; ONNX wants OIHW. */
export function hwioToOihw(t: tf.Tensor): Float32Array {
  const [kh, kw, ci, co] = t.shape;
  const src = t.dataSync() as Float32Array;
  const dst = new Float32Array(src.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) dst[((o * ci + c) * kh + i) * kw + j] = src[((i * kw + j) * ci + c) * co + o];
  return dst;
}

function depthwiseShape(t: tf.Tensor): number[] {
  const [kh, kw, ci, m] = t.shape;
  return [ci * m, 1, kh, kw];
}

/** Depthwise kernels [kh, kw, in, mult] -> grouped Conv weights [in*mult, 1, kh, kw] (output c*mult+m, as TF). */
function depthwiseToOihw(t: tf.Tensor): Float32Array {
  const [kh, kw, ci, m] = t.shape;
  const src = t.dataSync() as Float32Array;
  const dst = new Float32Array(src.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < ci; c++)
        for (let k = 0; k < m; k++) dst[((c * m + k) * kh + i) * kw + j] = src[((i * kw + j) * ci + c) * m + k];
  return dst;
}

export function convertModel(model: tf.LayersModel, options: ConvertOptions = {}): OnnxGraph {
  return new Converter(model, {
    inputName: options.inputName ?? 'input',
    outputName: options.outputName ?? 'probabilities',
    ensureSoftmax: options.ensureSoftmax ?? true,
  }).run();
}
