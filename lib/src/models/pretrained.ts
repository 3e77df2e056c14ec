/**
 * ImageNet ResNet-18 weights from an ONNX file (the ONNX model zoo's resnet18-v1-7.onnx, or torch.onnx.export of
 * torchvision's resnet18) copied onto our `resnet18`. Nothing is downloaded: the user gives the file.
 *
 * The file's layers are found by the graph's structure, not by names (every exporter names them differently, and
 * the node order of a block's shortcut differs too): the 8 residual Adds in graph order are the 8 basic blocks; on
 * each Add, the branch whose conv reads another conv (through BN/ReLU) is the block body (conv1 -> conv2), a conv on
 * the other branch is the 1x1 shortcut; the one conv left over is the stem. Each conv's BatchNormalization is the
 * node that alone reads its output; without one, BN was folded into the conv bias (torch.onnx.export in eval mode).
 * The classifier (Gemm 512 -> 1000) is not used: our head has other sizes.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { FerError, errorMessage } from '../errors';
import { BN_EPSILON } from './build';

export type InputNormalization = 'imagenet' | 'none';

export interface PretrainedOptions {
  /**
   * 'imagenet' (default): fold ImageNet's input normalisation ((x - mean) / std per RGB channel, x in [0, 1]) into
   * the stem conv and its BatchNorm mean, so that on our x/255 input the stem computes what it computed on ImageNet
   * (exact except where the 7x7 window overlaps the zero padding). 'none': copy the stem as it is.
   */
  normalization?: InputNormalization;
}

/** torchvision's ImageNet statistics (the ONNX model zoo's ResNets use the same). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

interface BnParams {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** One conv of the file (OIHW weights) with its BatchNorm, or its bias when BN was folded into it. */
export interface OnnxConvUnit {
  /** Our layer name (stem_conv, layer2_0_conv1, layer2_0_down, ...). */
  layer: string;
  /** The ONNX node's name (or its output's), for messages. */
  node: string;
  /** [out, in, kh, kw] */
  dims: number[];
  weight: Float32Array;
  bias: Float32Array | null;
  bn: BnParams | null;
}

export interface ResNet18OnnxWeights {
  file: string;
  /** 'batchnorm': BatchNormalization nodes (model zoo v1); 'folded': BN folded into conv biases (torch export). */
  layout: 'batchnorm' | 'folded';
  /** The 20 convs in our order: stem, then per block conv1, conv2 (, down). */
  units: OnnxConvUnit[];
  /** Ops between the graph input and the stem conv other than layout moves (a file's own preprocessing). */
  preprocessingOps: string[];
}

export interface PretrainedReport {
  file: string;
  layout: ResNet18OnnxWeights['layout'];
  /** Our layers that got the file's weights. */
  loaded: string[];
  /** Our layers that keep their fresh initialisation. */
  kept: string[];
  /** What was done, for the user (channel sum, normalisation, skipped stem, ...). */
  notes: string[];
}

/** 2 basic blocks per stage, widths 64-512; blocks 2, 4, 6 (layer2_0, layer3_0, layer4_0) have a 1x1/2 shortcut. */
const WIDTHS = [64, 128, 256, 512];
const BLOCK_NAMES = WIDTHS.flatMap((_, s) => [`layer${s + 1}_0`, `layer${s + 1}_1`]);

function blockShapes(block: number): { conv1: number[]; conv2: number[]; down: number[] | null } {
  const stage = Math.floor(block / 2);
  const out = WIDTHS[stage];
  const inp = block % 2 === 0 && stage > 0 ? WIDTHS[stage - 1] : out;
  return { conv1: [out, inp, 3, 3], conv2: [out, out, 3, 3], down: inp !== out ? [out, inp, 1, 1] : null };
}

/** The file's layers that are not used, and why (for the notes). */
const HEAD_LAYERS = ['head_fc1', 'head_bn', 'logits'];

function toNumber(v: number | { toNumber(): number }): number {
  return typeof v === 'number' ? v : v.toNumber();
}

const shapeText = (d: readonly number[]) => `[${d.join(', ')}]`;

/** Reads tensors (initializers, Constant nodes, Identity of either) and walks the node graph. */
class OnnxReader {
  private readonly tensors = new Map<string, onnx.ITensorProto>();
  private readonly producer = new Map<string, onnx.INodeProto>();
  private readonly readers = new Map<string, onnx.INodeProto[]>();
  readonly nodes: onnx.INodeProto[];

  constructor(readonly graph: onnx.IGraphProto, readonly file: string) {
    this.nodes = graph.node ?? [];
    for (const t of graph.initializer ?? []) if (t.name) this.tensors.set(t.name, t);
    for (const node of this.nodes) {
      for (const out of node.output ?? []) this.producer.set(out, node);
      for (const inp of node.input ?? []) {
        if (!inp) continue;
        const list = this.readers.get(inp) ?? [];
        list.push(node);
        this.readers.set(inp, list);
      }
      if (node.opType === 'Constant') {
        const value = node.attribute?.find((a) => a.name === 'value')?.t;
        if (value && node.output?.[0]) this.tensors.set(node.output[0], value);
      }
    }
  }

  isTensor(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  private resolve(name: string): onnx.ITensorProto | undefined {
    let n = name;
    for (let hops = 0; hops < 8; hops++) {
      const t = this.tensors.get(n);
      if (t) return t;
      const p = this.producer.get(n);
      if (!p || p.opType !== 'Identity' || !p.input?.[0]) return undefined;
      n = p.input[0];
    }
    return undefined;
  }

  /** A float32 tensor's dims and values (raw_data or float_data). */
  floats(name: string, what: string): { dims: number[]; data: Float32Array } {
    const t = this.resolve(name);
    if (!t) throw new FerError(`${this.file}: ${what} reads "${name}", which is not a weight stored in the file.`, { file: this.file });
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      throw new FerError(
        `${this.file}: the weights of ${what} are in an external data file; save the model with its weights inside ` +
          '(onnx.save(model, path, save_as_external_data=False)).',
        { file: this.file },
      );
    }
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) {
      const type = onnx.TensorProto.DataType[t.dataType ?? 0] ?? String(t.dataType);
      throw new FerError(`${this.file}: the weights of ${what} are ${type}, not float32: use the float32 (unquantized) model.`,
        { file: this.file });
    }
    const dims = (t.dims ?? []).map(toNumber);
    const count = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (t.rawData && t.rawData.length > 0) {
      // copy: raw_data may sit at an unaligned offset of the file's buffer; ONNX stores it little-endian, as Node does
      data = new Float32Array(new Uint8Array(t.rawData).buffer, 0, Math.floor(t.rawData.length / 4));
    } else {
      data = Float32Array.from(t.floatData ?? []);
    }
    if (data.length !== count) {
      throw new FerError(`${this.file}: ${what} has ${data.length} values for shape ${shapeText(dims)}: the file is damaged.`,
        { file: this.file });
    }
    return { dims, data };
  }

  producerOf(value: string): onnx.INodeProto | undefined {
    return this.producer.get(value);
  }

  readersOf(value: string): onnx.INodeProto[] {
    return this.readers.get(value) ?? [];
  }

  /** The node that makes `value`, looking back through the given ops (along their first input). */
  back(value: string, through: ReadonlySet<string>): onnx.INodeProto | undefined {
    let node = this.producer.get(value);
    while (node && through.has(node.opType ?? '') && node.input?.[0]) node = this.producer.get(node.input[0]);
    return node;
  }
}

const THROUGH_BN = new Set(['BatchNormalization', 'Identity']);
const THROUGH_BN_RELU = new Set(['BatchNormalization', 'Relu', 'Identity']);
const LAYOUT_OPS = new Set(['Transpose', 'Identity', 'Cast', 'Reshape']);

function nodeLabel(node: onnx.INodeProto): string {
  return node.name || node.output?.[0] || '(unnamed)';
}

function attrInt(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.i !== undefined && a.i !== null ? toNumber(a.i) : fallback;
}

function attrFloat(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.f !== undefined && a.f !== null && a.type === onnx.AttributeProto.AttributeType.FLOAT ? a.f : fallback;
}

function decodeFile(file: string): onnx.IGraphProto {
  if (!fs.existsSync(file)) {
    throw new FerError(
      `No ONNX file at ${file}: give the path of an ImageNet ResNet-18 .onnx file (e.g. the ONNX model zoo's ` +
        'resnet18-v1-7.onnx; see lib/src/models/README.md). Nothing is downloaded.',
      { file },
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new FerError(`Cannot read ${file} (${errorMessage(err)}): check that it is a readable file.`, { file, cause: err });
  }
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new FerError(`${file} is not an ONNX model (${errorMessage(err)}): give an ImageNet ResNet-18 .onnx file.`,
      { file, cause: err });
  }
  if (!model.graph || !model.graph.node?.length) {
    throw new FerError(`${file} is not an ONNX model (it has no graph): give an ImageNet ResNet-18 .onnx file.`, { file });
  }
  return model.graph;
}

function notResnet(file: string, why: string): FerError {
  return new FerError(
    `${file} is not an ImageNet ResNet-18 (${why}). Use the ONNX model zoo's resnet18-v1-7.onnx or ` +
      "torch.onnx.export of torchvision's resnet18.",
    { file },
  );
}

/**
 * Read an ONNX ResNet-18 and check it layer by layer: 20 float32 convs in torchvision's shapes, each with a
 * BatchNormalization or a bias. Throws a FerError naming the file and the layer that differs.
 */
export function readResNet18Onnx(file: string): ResNet18OnnxWeights {
  const r = new OnnxReader(decodeFile(file), file);
  const convs = r.nodes.filter((n) => n.opType === 'Conv');
  const adds = r.nodes.filter(
    (n) => (n.opType === 'Add' || n.opType === 'Sum') && n.input?.length === 2 && !n.input.some((i) => r.isTensor(i)),
  );
  if (convs.length !== 20 || adds.length !== 8) {
    throw notResnet(file, `it has ${convs.length} Conv layers and ${adds.length} residual additions; ResNet-18 has 20 and 8`);
  }

  type Found = { conv1: onnx.INodeProto; conv2: onnx.INodeProto; down: onnx.INodeProto | null };
  const blocks: Found[] = adds.map((add, b) => {
    const branches = (add.input as string[]).map((v) => r.back(v, THROUGH_BN));
    let body: Found | undefined;
    let down: onnx.INodeProto | null = null;
    for (const [i, node] of branches.entries()) {
      if (node?.opType !== 'Conv') continue;
      const prev = r.back(node.input?.[0] ?? '', THROUGH_BN_RELU);
      if (prev?.opType === 'Conv' && !body) body = { conv1: prev, conv2: node, down: null };
      else if (!down) down = node;
      else throw notResnet(file, `residual addition ${nodeLabel(adds[b])} (block ${BLOCK_NAMES[b]}) has convs on both inputs, branch ${i}`);
    }
    if (!body) throw notResnet(file, `no conv -> conv body feeds residual addition ${nodeLabel(add)} (block ${BLOCK_NAMES[b]})`);
    if (down && down.input?.[0] !== body.conv1.input?.[0]) {
      throw notResnet(file, `the shortcut conv ${nodeLabel(down)} of block ${BLOCK_NAMES[b]} does not read the block input`);
    }
    return { ...body, down };
  });
  const used = new Set(blocks.flatMap((b) => [b.conv1, b.conv2, b.down]));
  const stems = convs.filter((c) => !used.has(c));
  if (stems.length !== 1) throw notResnet(file, `${stems.length} convs are outside the residual blocks; ResNet-18 has 1 (the stem)`);
  const stem = stems[0];

  const unit = (node: onnx.INodeProto, layer: string, want: number[]): OnnxConvUnit => {
    const what = `conv ${nodeLabel(node)} (our ${layer})`;
    if (attrInt(node, 'group', 1) !== 1) throw notResnet(file, `${what} is a grouped conv`);
    const { dims, data } = r.floats(node.input?.[1] ?? '', what);
    if (dims.length !== 4 || dims.some((d, i) => d !== want[i])) {
      throw notResnet(file, `${what} has weights ${shapeText(dims)}; ResNet-18's ${layer} has ${shapeText(want)}`);
    }
    const bias = node.input?.[2] ? r.floats(node.input[2], `the bias of ${what}`).data : null;
    const out = node.output?.[0] ?? '';
    const readers = r.readersOf(out);
    let bn: BnParams | null = null;
    if (readers.length === 1 && readers[0].opType === 'BatchNormalization' && readers[0].input?.[0] === out) {
      const n = readers[0];
      const p = (i: number, name: string) => {
        const t = r.floats(n.input?.[i] ?? '', `${name} of BatchNormalization ${nodeLabel(n)} (our ${layer}_bn)`);
        if (t.data.length !== want[0]) throw notResnet(file, `BatchNormalization ${nodeLabel(n)} has ${t.data.length} channels, not ${want[0]}`);
        return t.data;
      };
      bn = { gamma: p(1, 'scale'), beta: p(2, 'B'), mean: p(3, 'mean'), variance: p(4, 'var'), epsilon: attrFloat(n, 'epsilon', 1e-5) };
    } else if (!bias) {
      throw notResnet(file,
        `${what} is followed by neither a BatchNormalization nor a bias: a pre-activation ResNet (v2) does not fit our resnet18; use resnet18-v1`);
    }
    return { layer, node: nodeLabel(node), dims, weight: data, bias, bn };
  };

  const units: OnnxConvUnit[] = [unit(stem, 'stem_conv', [64, 3, 7, 7])];
  blocks.forEach((b, i) => {
    const want = blockShapes(i);
    const name = BLOCK_NAMES[i];
    if (!want.down !== !b.down) {
      throw notResnet(file, `block ${name} ${b.down ? 'has a 1x1 shortcut conv' : 'has no 1x1 shortcut conv'}; ResNet-18's ${want.down ? 'has' : 'has not'}`);
    }
    units.push(unit(b.conv1, `${name}_conv1`, want.conv1), unit(b.conv2, `${name}_conv2`, want.conv2));
    if (b.down && want.down) units.push(unit(b.down, `${name}_down`, want.down));
  });

  // Preprocessing baked into the file (Sub/Div/Mul before the stem) is not applied by our model: tell the user.
  const preprocessingOps: string[] = [];
  for (let node = r.producerOf(stem.input?.[0] ?? ''); node; node = r.producerOf(node.input?.find((i) => !r.isTensor(i)) ?? '')) {
    if (!LAYOUT_OPS.has(node.opType ?? '')) preprocessingOps.push(node.opType ?? '?');
  }
  return {
    file,
    layout: units.every((u) => u.bn) ? 'batchnorm' : 'folded',
    units,
    preprocessingOps: preprocessingOps.reverse(),
  };
}

/** OIHW -> HWIO (TF.js conv kernels). */
function oihwToHwio(src: Float32Array, [co, ci, kh, kw]: number[]): Float32Array {
  const dst = new Float32Array(src.length);
  for (let o = 0; o < co; o++)
    for (let c = 0; c < ci; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) dst[((i * kw + j) * ci + c) * co + o] = src[((o * ci + c) * kh + i) * kw + j];
  return dst;
}

/**
 * The stem for `channels` input channels: RGB filters as they are (3), or summed over RGB (1: grayscale = the same
 * value on R, G and B). With ImageNet normalisation each RGB filter is divided by its std first, and `shift`
 * (per output channel: the response to the mean image, sum W * mean / std) must be added to the BatchNorm mean.
 */
function stemWeights(u: OnnxConvUnit, channels: number, normalization: InputNormalization): { weight: Float32Array; dims: number[]; shift: Float64Array } {
  const [co, ci, kh, kw] = u.dims;
  const k = kh * kw;
  const scale = (c: number) => (normalization === 'imagenet' ? 1 / IMAGENET_STD[c] : 1);
  const shift = new Float64Array(co);
  const out = new Float32Array(co * channels * k);
  for (let o = 0; o < co; o++) {
    for (let c = 0; c < ci; c++) {
      for (let p = 0; p < k; p++) {
        const w = u.weight[(o * ci + c) * k + p];
        const dst = channels === 1 ? o * k + p : (o * channels + c) * k + p;
        out[dst] += w * scale(c);
        if (normalization === 'imagenet') shift[o] += (w * IMAGENET_MEAN[c]) / IMAGENET_STD[c];
      }
    }
  }
  return { weight: out, dims: [co, channels, kh, kw], shift };
}

/**
 * Our BatchNorm [gamma, beta, moving_mean, moving_variance] that reproduces the file's conv (+ bias) + BN on the
 * conv output, for an input shifted by `shift` (see stemWeights): the file's epsilon is moved into the variance.
 * A folded conv (bias, no BN) gets an identity BN (gamma 1, beta 0, variance 1) with the bias in the mean.
 */
function bnWeights(u: OnnxConvUnit, shift: Float64Array | null): Float32Array[] {
  const n = u.dims[0];
  const gamma = new Float32Array(n);
  const beta = new Float32Array(n);
  const mean = new Float32Array(n);
  const variance = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const b = u.bias ? u.bias[c] : 0;
    const s = shift ? shift[c] : 0;
    if (u.bn) {
      gamma[c] = u.bn.gamma[c];
      beta[c] = u.bn.beta[c];
      mean[c] = u.bn.mean[c] - b + s;
      variance[c] = Math.max(u.bn.variance[c] + u.bn.epsilon - BN_EPSILON, 0);
    } else {
      gamma[c] = 1;
      mean[c] = s - b;
      variance[c] = 1 - BN_EPSILON;
    }
  }
  return [gamma, beta, mean, variance];
}

function layerOf(model: tf.LayersModel, name: string, file: string): tf.layers.Layer {
  try {
    return model.getLayer(name);
  } catch {
    throw new FerError(
      `Model "${model.name}" has no layer "${name}": ImageNet ResNet-18 weights (${file}) fit only a fer-lab resnet18 ` +
        "(createModel('resnet18') / --arch resnet18).",
      { file },
    );
  }
}

function setLayer(layer: tf.layers.Layer, values: Float32Array[], file: string, what: string): void {
  const current = layer.getWeights();
  if (current.length !== values.length) {
    throw new FerError(`Layer "${layer.name}" has ${current.length} weights, ${what} in ${file} has ${values.length}.`, { file });
  }
  const tensors = values.map((v, i) => tf.tensor(v, current[i].shape, 'float32'));
  layer.setWeights(tensors);
  tf.dispose(tensors);
}

/** Copy read weights onto a resnet18 built by createModel('resnet18', ...). */
export function applyResNet18Weights(
  model: tf.LayersModel,
  weights: ResNet18OnnxWeights,
  options: PretrainedOptions = {},
): PretrainedReport {
  const normalization = options.normalization ?? 'imagenet';
  if (normalization !== 'imagenet' && normalization !== 'none') {
    throw new FerError(`Option normalization must be 'imagenet' or 'none', got '${String(normalization)}'.`);
  }
  const { file } = weights;
  const loaded: string[] = [];
  const kept: string[] = [];
  const notes: string[] = [];
  // check every layer before changing any, so a mismatch leaves the model as it was
  const plan: Array<{ layer: tf.layers.Layer; values: Float32Array[]; what: string }> = [];
  for (const u of weights.units) {
    const conv = layerOf(model, u.layer, file);
    const bn = layerOf(model, `${u.layer}_bn`, file);
    const kernel = conv.getWeights()[0]?.shape ?? [];
    const [kh, kw, ci, co] = kernel;
    let dims = u.dims;
    let weight = u.weight;
    let shift: Float64Array | null = null;
    if (u.layer === 'stem_conv') {
      if (kh !== u.dims[2] || kw !== u.dims[3]) {
        kept.push(conv.name, bn.name);
        notes.push(
          `The file's ${u.dims[2]}x${u.dims[3]} stem does not fit this model's ${kh}x${kw} stem ('cifar'): stem_conv and ` +
            'stem_conv_bn keep their fresh initialisation; all residual blocks are loaded.',
        );
        continue;
      }
      if (ci !== 1 && ci !== 3) {
        throw new FerError(`${file}: an ImageNet stem takes 1 or 3 input channels, the model has ${ci}.`, { file });
      }
      ({ weight, dims, shift } = stemWeights(u, ci, normalization));
      if (ci === 1) notes.push("The stem's RGB filters are summed over the colour channels for the grayscale input.");
      notes.push(
        normalization === 'imagenet'
          ? 'ImageNet input normalisation ((x - mean) / std per RGB channel) is folded into the stem, so it sees our ' +
              'x/255 input as it saw ImageNet images (exact away from the image border); BatchNorm adapts the rest in training.'
          : 'Note: ImageNet models expect (x - mean) / std per RGB channel, our input is x/255; the stem is copied as it is ' +
              'and BatchNorm adapts during training.',
      );
    }
    const want = [dims[2], dims[3], dims[1], dims[0]];
    if (kernel.length !== 4 || want.some((d, i) => d !== kernel[i])) {
      throw new FerError(
        `Layer "${u.layer}" of model "${model.name}" has kernel ${shapeText(kernel)} but ${file} (${u.node}) gives ` +
          `${shapeText(want)} (HWIO): the model is not a resnet18.`,
        { file },
      );
    }
    if (bn.getWeights().length !== 4 || bn.getWeights()[0].shape[0] !== co) {
      throw new FerError(`Layer "${bn.name}" of model "${model.name}" is not a ${co}-channel BatchNorm with scale and center.`, { file });
    }
    plan.push({ layer: conv, values: [oihwToHwio(weight, dims)], what: `conv ${u.node}` });
    plan.push({ layer: bn, values: bnWeights(u, shift), what: `the BatchNorm of ${u.node}` });
  }
  for (const p of plan) {
    setLayer(p.layer, p.values, file, p.what);
    loaded.push(p.layer.name);
  }
  const head = HEAD_LAYERS.filter((n) => model.layers.some((l) => l.name === n));
  kept.push(...head);
  notes.unshift(
    `Loaded ImageNet ResNet-18 weights from ${file} into ${loaded.length} layers ` +
      `(${weights.layout === 'batchnorm' ? 'conv + BatchNormalization' : 'BatchNorm folded into the conv biases: BN layers start as gamma 1, beta 0'}); ` +
      `the classifier (1000 ImageNet classes) is not used: ${head.join(', ')} keep their fresh initialisation.`,
  );
  if (weights.preprocessingOps.length > 0) {
    notes.push(`The file applies its own input preprocessing (${weights.preprocessingOps.join(', ')}) before the stem; it is not part of our model.`);
  }
  return { file, layout: weights.layout, loaded, kept, notes };
}

/**
 * Initialise a fer-lab resnet18 (createModel('resnet18', ...), either stem, 1 or 3 input channels) from an ONNX
 * ImageNet ResNet-18 file. Returns what was loaded and notes for the user. FerError (naming the file) when the file
 * is missing, not ONNX, or not a ResNet-18, or the model is not a resnet18; the model is unchanged then.
 */
export function loadImageNetResNet18(model: tf.LayersModel, file: string, options: PretrainedOptions = {}): PretrainedReport {
  return applyResNet18Weights(model, readResNet18Onnx(file), options);
}
