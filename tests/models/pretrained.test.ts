/**
 * ImageNet ResNet-18 initialisation from ONNX files, offline: the "ImageNet" files are made here from a seeded
 * 3-channel resnet18 with random BatchNorm statistics, in three layouts:
 *   - our exporter, BN kept (conv -> BatchNormalization; the shortcut conv comes before the block body in node order)
 *   - our exporter, BN folded into conv biases (what torch.onnx.export of torchvision's resnet18 gives)
 *   - hand-built like the ONNX model zoo's resnet18-v1-7 (NCHW "data" input straight into the stem conv, body before
 *     shortcut, BN epsilon attribute + spatial, float_data weights, Flatten + Gemm 1000-class head)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { Command } from 'commander';
import { initBackend } from '../../lib/src/backend';
import { register } from '../../lib/src/cli/train';
import { defaultTrainConfig, mergeTrainConfig, validateTrainConfig } from '../../lib/src/config';
import { formatFer2013Csv } from '../../lib/src/data';
import { FerError } from '../../lib/src/errors';
import { encodeModel, exportOnnx } from '../../lib/src/export';
import { hwioToOihw } from '../../lib/src/export/convert';
import { GraphBuilder } from '../../lib/src/export/graph';
import {
  createModel, IMAGENET_MEAN, IMAGENET_STD, loadImageNetResNet18, readResNet18Onnx,
} from '../../lib/src/models';
import { loadModelDir } from '../../lib/src/util/model-io';
import { randomizeWeights } from '../export/fixtures';
import { syntheticDataset } from '../train/helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-pretrained-'));
const file = (name: string) => path.join(dir, name);

/** Our conv layers of resnet18 in order, with whether the layer is a shortcut. */
const CONVS = ['stem_conv', ...[1, 2, 3, 4].flatMap((s) => [0, 1].flatMap((b) => {
  const names = [`layer${s}_${b}_conv1`, `layer${s}_${b}_conv2`];
  return s > 1 && b === 0 ? [...names, `layer${s}_${b}_down`] : names;
}))];

function values(model: tf.LayersModel, layer: string): Float32Array[] {
  return model.getLayer(layer).getWeights().map((w) => w.dataSync() as Float32Array);
}

/** Bit-equal weights (jest's toEqual is far too slow on millions of floats). */
function sameWeights(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
    Buffer.from(b[i].buffer, b[i].byteOffset, b[i].byteLength)));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function randomGray(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * 48 * 48);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 24) / 255;
  }
  return out;
}

/** A layer's output (inference mode) for NHWC input. */
function featuresAt(model: tf.LayersModel, layer: string, x: tf.Tensor4D): Float32Array {
  const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor });
  return tf.tidy(() => (sub.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

interface ZooOptions {
  /** Stage widths (a wrong one makes a "not ResNet-18" file). */
  widths?: number[];
  /** BatchNormalization epsilon attribute. */
  epsilon?: number;
  /** Pre-activation blocks as in the model zoo's resnet18-v2 (BN + ReLU before each conv, none after conv2). */
  preActivation?: boolean;
}

/**
 * A model-zoo-style ResNet-18 (resnet18-v1-7 layout) with `source`'s conv/BN weights (HWIO -> OIHW); layers whose
 * shape the source lacks (other widths) get seeded random weights.
 */
function zooStyleOnnx(source: tf.LayersModel, options: ZooOptions = {}): Uint8Array {
  const widths = options.widths ?? [64, 128, 256, 512];
  const eps = options.epsilon ?? 1e-5;
  const g = new GraphBuilder('resnetv15', { name: 'data', shape: ['N', 3, 'H', 'W'] }, { name: 'resnetv15_dense0_fwd', shape: ['N', 1000] });
  let seed = 1;
  const random = (n: number, lo: number, hi: number) => tf.tidy(() => tf.randomUniform([n], lo, hi, 'float32', seed++).dataSync() as Float32Array);
  const convBn = (x: string, ours: string, co: number, ci: number, k: number, stride: number, withBn = true): string => {
    const kernel = source.getLayer(ours).getWeights()[0];
    const fits = kernel.shape[0] === k && kernel.shape[2] === ci && kernel.shape[3] === co;
    const w = g.init(`${ours}_weight`, [co, ci, k, k], fits ? hwioToOihw(kernel) : random(co * ci * k * k, -0.1, 0.1));
    const pad = Math.floor(k / 2);
    const y = g.node('Conv', [x, w], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group: 1 }, `${ours}_fwd`);
    if (!withBn) return y;
    const bn = fits ? values(source, `${ours}_bn`) : [random(co, 0.5, 1.5), random(co, -0.5, 0.5), random(co, -0.5, 0.5), random(co, 0.5, 1.5)];
    const params = ['gamma', 'beta', 'running_mean', 'running_var'].map((p, i) =>
      // the variance is stored for this file's epsilon: var + eps_ours - eps_file keeps var + eps the same
      g.init(`${ours}_bn_${p}`, [co], i === 3 ? bn[3].map((v) => v + 1e-5 - eps) : bn[i]));
    return g.node('BatchNormalization', [y, ...params], { epsilon: { f: eps }, spatial: 1 }, `${ours}_bn_fwd`);
  };
  let x = g.node('Relu', [convBn('data', 'stem_conv', 64, 3, 7, 2)], {}, 'relu0');
  x = g.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 'pool0');
  let inC = 64;
  widths.forEach((w, s) => {
    for (let b = 0; b < 2; b++) {
      const name = `layer${s + 1}_${b}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      const pre = options.preActivation;
      let input = x;
      if (pre) {
        const ones = g.init(`${name}_pre_ones`, [inC], new Float32Array(inC).fill(1));
        const zeros = g.init(`${name}_pre_zeros`, [inC], new Float32Array(inC));
        const bn = g.node('BatchNormalization', [x, ones, zeros, zeros, ones], { epsilon: { f: eps } }, `${name}_pre_bn`);
        input = g.node('Relu', [bn], {}, `${name}_pre_relu`);
      }
      let y = g.node('Relu', [convBn(input, `${name}_conv1`, w, inC, 3, stride)], {}, `${name}_relu1`);
      y = convBn(y, `${name}_conv2`, w, w, 3, 1, !pre);
      const shortcut = stride !== 1 || inC !== w ? convBn(input, `${name}_down`, w, inC, 1, stride, !pre) : x;
      const sum = g.node('Add', [y, shortcut], {}, `${name}_add`);
      x = pre ? sum : g.node('Relu', [sum], {}, `${name}_relu2`);
      inC = w;
    }
  });
  x = g.node('Flatten', [g.node('GlobalAveragePool', [x], {}, 'pool1')], { axis: 1 }, 'flatten0');
  const fcW = g.init('dense0_weight', [1000, inC], random(1000 * inC, -0.05, 0.05));
  const fcB = g.init('dense0_bias', [1000], random(1000, -0.1, 0.1));
  g.node('Gemm', [x, fcW, fcB], { alpha: { f: 1 }, beta: { f: 1 }, transA: 0, transB: 1 }, 'dense0');
  g.graph.nodes[g.graph.nodes.length - 1].outputs = ['resnetv15_dense0_fwd'];
  g.graph.opset = 7; // as resnet18-v1-7 (BatchNormalization still has the spatial attribute)
  const bytes = encodeModel(g.graph, { producerVersion: 'test', metadata: {} });
  // the model zoo file stores weights as float_data, not raw_data
  const model = onnx.ModelProto.decode(bytes);
  for (const t of model.graph?.initializer ?? []) {
    t.floatData = Array.from(new Float32Array(new Uint8Array(t.rawData ?? []).buffer));
    delete (t as { rawData?: Uint8Array }).rawData; // an empty raw_data would still be written
  }
  return onnx.ModelProto.encode(model).finish();
}

let source: tf.LayersModel;

beforeAll(async () => {
  await initBackend('wasm');
  source = createModel('resnet18', { inputChannels: 3, seed: 5 });
  randomizeWeights(source, 21); // BN statistics away from 0/1, so every BN value is checked
  fs.writeFileSync(file('ours-bn.onnx'), exportOnnx(source, { foldBatchNorm: false, arch: 'resnet18' }));
  fs.writeFileSync(file('ours-folded.onnx'), exportOnnx(source, { foldBatchNorm: true, arch: 'resnet18' }));
  fs.writeFileSync(file('zoo.onnx'), zooStyleOnnx(source, { epsilon: 1e-3 }));
});

afterAll(() => {
  source.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('reading an ONNX ResNet-18', () => {
  test('finds the 20 convs by structure in all three layouts', () => {
    for (const [name, layout] of [['ours-bn.onnx', 'batchnorm'], ['ours-folded.onnx', 'folded'], ['zoo.onnx', 'batchnorm']]) {
      const w = readResNet18Onnx(file(name));
      expect(w.layout).toBe(layout);
      expect(w.units.map((u) => u.layer)).toEqual(CONVS);
      expect(w.preprocessingOps).toEqual([]);
      if (layout === 'folded') expect(w.units.every((u) => u.bias && !u.bn)).toBe(true);
    }
  });

  test('the hand-built model-zoo-style file is a valid, runnable ONNX ResNet-18', async () => {
    const session = await ort.InferenceSession.create(file('zoo.onnx'));
    const out = await session.run({ data: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]) });
    expect(out.resnetv15_dense0_fwd.dims).toEqual([1, 1000]);
    await session.release();
  });
});

describe('loading into resnet18', () => {
  // Building a resnet18 is slow under jest (~8 s of seeded initialisers): the tests share one 3-channel and one
  // 1-channel target; every load overwrites all 40 conv/BN layers, so no test depends on another's.
  let rgbModel: tf.LayersModel;
  let grayModel: tf.LayersModel;
  beforeAll(() => {
    rgbModel = createModel('resnet18', { inputChannels: 3, seed: 9 });
    grayModel = createModel('resnet18', { inputChannels: 1, seed: 9 });
  });
  afterAll(() => {
    rgbModel.dispose();
    grayModel.dispose();
  });

  test('3 channels, BN layout: every conv and BatchNorm weight equals the source; the head stays fresh', () => {
    const model = rgbModel;
    const headBefore = values(model, 'logits');
    const report = loadImageNetResNet18(model, file('ours-bn.onnx'), { normalization: 'none' });
    expect(report.layout).toBe('batchnorm');
    expect(report.loaded).toHaveLength(40);
    expect(report.kept).toEqual(['head_fc1', 'head_bn', 'logits']);
    for (const layer of CONVS.flatMap((c) => [c, `${c}_bn`])) {
      expect({ layer, same: sameWeights(values(model, layer), values(source, layer)) }).toEqual({ layer, same: true });
    }
    expect(sameWeights(values(model, 'logits'), headBefore)).toBe(true);
    expect(maxAbsDiff(values(model, 'logits')[0], values(source, 'logits')[0])).toBeGreaterThan(0.01);
  });

  test('model-zoo layout (float_data, epsilon 1e-3, body-first order): same weights, variance moved to our epsilon', () => {
    const model = rgbModel;
    loadImageNetResNet18(model, file('zoo.onnx'), { normalization: 'none' });
    for (const layer of CONVS) {
      expect({ layer, same: sameWeights(values(model, layer), values(source, layer)) }).toEqual({ layer, same: true });
      const [g, b, m, v] = values(model, `${layer}_bn`);
      const [sg, sb, sm, sv] = values(source, `${layer}_bn`);
      expect(sameWeights([g, b, m], [sg, sb, sm])).toBe(true);
      expect(maxAbsDiff(v, sv)).toBeLessThan(1e-6);
    }
  });

  test('BN folded into conv biases (torch export): the loaded network computes the same features', () => {
    const model = rgbModel;
    const report = loadImageNetResNet18(model, file('ours-folded.onnx'), { normalization: 'none' });
    expect(report.layout).toBe('folded');
    expect(report.notes[0]).toMatch(/folded/);
    const x = tf.tensor4d(randomGray(6, 3), [2, 48, 48, 3]);
    const want = featuresAt(source, 'gap', x);
    const got = featuresAt(model, 'gap', x);
    const scale = Math.max(...Array.from(want, Math.abs));
    expect(scale).toBeGreaterThan(0.1);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4 * scale);
    // and the plain stem conv was scaled by the folded BN, so it differs from the source's
    expect(maxAbsDiff(values(model, 'stem_conv')[0], values(source, 'stem_conv')[0])).toBeGreaterThan(1e-3);
    x.dispose();
  });

  test('1 channel: the stem is the sum of the RGB filters; the rest is copied', () => {
    const model = grayModel;
    const report = loadImageNetResNet18(model, file('zoo.onnx'), { normalization: 'none' });
    expect(report.notes.join('\n')).toMatch(/summed over the colour channels/);
    expect(report.notes.join('\n')).toMatch(/BatchNorm adapts/);
    const rgb = values(source, 'stem_conv')[0]; // HWIO [7,7,3,64]
    const gray = values(model, 'stem_conv')[0]; // [7,7,1,64]
    expect(gray.length).toBe(7 * 7 * 64);
    const sum = new Float32Array(gray.length);
    for (let p = 0; p < 49; p++) for (let o = 0; o < 64; o++) sum[p * 64 + o] = rgb[(p * 3) * 64 + o] + rgb[(p * 3 + 1) * 64 + o] + rgb[(p * 3 + 2) * 64 + o];
    expect(maxAbsDiff(gray, sum)).toBeLessThan(1e-6);
    expect(sameWeights(values(model, 'layer4_1_conv2'), values(source, 'layer4_1_conv2'))).toBe(true);
  });

  test('ImageNet normalisation folded into the stem: on x/255 gray input the stem matches the source on normalised RGB', () => {
    const model = grayModel;
    const report = loadImageNetResNet18(model, file('ours-bn.onnx')); // default normalization: 'imagenet'
    expect(report.notes.join('\n')).toMatch(/normalisation .* folded into the stem/);
    const gray = randomGray(2, 8);
    const rgb = new Float32Array(gray.length * 3);
    for (let i = 0; i < gray.length; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = (gray[i] - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    const xg = tf.tensor4d(gray, [2, 48, 48, 1]);
    const xc = tf.tensor4d(rgb, [2, 48, 48, 3]);
    const got = featuresAt(model, 'stem_conv_bn', xg); // [2,24,24,64]
    const want = featuresAt(source, 'stem_conv_bn', xc);
    // Away from the border (7x7/2 windows with pads 2/3 stay inside the image for output rows/cols 1..21) it is exact;
    // at the border the zero padding means black for us but the mean colour for the source.
    let interior = 0;
    let border = 0;
    let scale = 0;
    for (let n = 0; n < 2; n++) for (let i = 0; i < 24; i++) for (let j = 0; j < 24; j++) for (let c = 0; c < 64; c++) {
      const k = ((n * 24 + i) * 24 + j) * 64 + c;
      const d = Math.abs(got[k] - want[k]);
      scale = Math.max(scale, Math.abs(want[k]));
      if (i >= 1 && i <= 21 && j >= 1 && j <= 21) interior = Math.max(interior, d);
      else border = Math.max(border, d);
    }
    expect(interior).toBeLessThan(1e-4 * scale);
    expect(border).toBeGreaterThan(1e-2 * scale);
    tf.dispose([xg, xc]);
  });

  test("'cifar' 3x3 stem: everything but the stem is loaded, and the report says so", () => {
    const model = createModel('resnet18', { inputChannels: 1, stem: 'cifar', seed: 9 });
    const stemBefore = values(model, 'stem_conv');
    const report = loadImageNetResNet18(model, file('zoo.onnx'));
    expect(report.loaded).toHaveLength(38);
    expect(report.kept).toEqual(['stem_conv', 'stem_conv_bn', 'head_fc1', 'head_bn', 'logits']);
    expect(report.notes.join('\n')).toMatch(/does not fit this model's 3x3 stem/);
    expect(sameWeights(values(model, 'stem_conv'), stemBefore)).toBe(true);
    expect(sameWeights(values(model, 'layer1_0_conv1'), values(source, 'layer1_0_conv1'))).toBe(true);
    model.dispose();
  });
});

describe('clear errors naming the file', () => {
  async function error(fn: () => unknown): Promise<FerError> {
    try {
      await fn();
    } catch (err) {
      expect(err).toBeInstanceOf(FerError);
      return err as FerError;
    }
    throw new Error('expected a FerError');
  }

  test('missing file, garbage bytes, an empty protobuf', async () => {
    const missing = file('nope.onnx');
    expect((await error(() => readResNet18Onnx(missing))).message).toMatch(new RegExp(`No ONNX file at ${missing}.*Nothing is downloaded`));
    const garbage = file('garbage.onnx');
    fs.writeFileSync(garbage, Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) % 256)));
    const e = await error(() => readResNet18Onnx(garbage));
    expect(e.message).toMatch(new RegExp(`${garbage} is not an ONNX model`));
    expect(e.file).toBe(garbage);
    const text = file('notes.onnx');
    fs.writeFileSync(text, 'just some text, not a model\n');
    expect((await error(() => readResNet18Onnx(text))).message).toMatch(/notes\.onnx is not an ONNX model/);
    expect((await error(() => readResNet18Onnx(dir))).message).toMatch(/Cannot read/);
  });

  test('another network (vgg-small) is not a ResNet-18, with the counts that differ', async () => {
    const vgg = createModel('vgg-small');
    const f = file('vgg.onnx');
    fs.writeFileSync(f, exportOnnx(vgg, { foldBatchNorm: false }));
    vgg.dispose();
    const e = await error(() => readResNet18Onnx(f));
    expect(e.message).toMatch(/vgg\.onnx is not an ImageNet ResNet-18 \(it has 8 Conv layers and 0 residual additions; ResNet-18 has 20 and 8\)/);
  });

  test('a ResNet with a wrong stage width names the layer and both shapes', async () => {
    const f = file('narrow.onnx');
    fs.writeFileSync(f, zooStyleOnnx(source, { widths: [64, 128, 128, 512] }));
    const e = await error(() => readResNet18Onnx(f));
    expect(e.message).toMatch(/narrow\.onnx is not an ImageNet ResNet-18 \(conv layer3_0_conv1_fwd.*\(our layer3_0_conv1\) has weights \[128, 128, 3, 3\]; ResNet-18's layer3_0_conv1 has \[256, 128, 3, 3\]/);
  });

  test('a pre-activation ResNet-18 (model zoo v2 layout) is refused with the reason', async () => {
    const f = file('v2.onnx');
    fs.writeFileSync(f, zooStyleOnnx(source, { preActivation: true }));
    const e = await error(() => readResNet18Onnx(f));
    expect(e.message).toMatch(/v2\.onnx is not an ImageNet ResNet-18 \(conv layer1_0_conv2_fwd.*is followed by neither a BatchNormalization nor a bias: a pre-activation ResNet \(v2\)/);
  });

  test('the weights fit only a resnet18 model, which is left unchanged on error', async () => {
    const vgg = createModel('vgg-small');
    const e = await error(() => loadImageNetResNet18(vgg, file('zoo.onnx')));
    expect(e.message).toMatch(/has no layer "stem_conv".*--arch resnet18/);
    vgg.dispose();
    const two = createModel('resnet18', { inputChannels: 2 });
    const before = values(two, 'layer1_0_conv1');
    expect((await error(() => loadImageNetResNet18(two, file('zoo.onnx')))).message).toMatch(/1 or 3 input channels, the model has 2/);
    expect(sameWeights(values(two, 'layer1_0_conv1'), before)).toBe(true);
    two.dispose();
  });
});

describe('fer train --init', () => {
  /** Run `fer train ...args` in-process; returns stdout and stderr text. */
  async function fer(args: string[]): Promise<string> {
    const program = new Command('fer').exitOverride();
    register(program);
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['node', 'fer', 'train', ...args]);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    return lines.join('\n');
  }

  const csv = file('fer2013.csv');
  beforeAll(() => {
    process.env.FER_CACHE_DIR = file('cache');
    const ds = syntheticDataset(7, 8, 0, 3);
    const rows = Array.from({ length: ds.size }, (_, i) => ({
      label: ds.labels[i], pixels: ds.pixels.subarray(i * 2304, (i + 1) * 2304), split: (i % 8 === 7 ? 'test' : 'train') as 'test' | 'train',
    }));
    fs.writeFileSync(csv, formatFer2013Csv(rows));
  });

  test('config validation: --init needs arch resnet18; a missing file fails before any training', async () => {
    const base = mergeTrainConfig(defaultTrainConfig(), { init: 'x.onnx' }, 'test');
    expect(() => validateTrainConfig(base)).toThrow(/init="x.onnx": ImageNet ResNet-18 weights fit only arch resnet18, not vgg-compact/);
    expect(() => validateTrainConfig({ ...base, arch: 'resnet18' })).not.toThrow();
    await expect(fer(['--data', csv, '--arch', 'vgg-small', '--init', file('zoo.onnx'), '--out', file('r0')])).rejects.toThrow(/fit only arch resnet18/);
    const missing = file('missing.onnx');
    await expect(fer(['--data', csv, '--arch', 'resnet18', '--init', missing, '--out', file('r1')])).rejects.toThrow(`No ONNX file at ${missing}`);
    expect(fs.existsSync(path.join(file('r1'), 'last'))).toBe(false);
  });

  test('a new run starts from the file; --resume restores its own weights and does not read the file', async () => {
    const init = file('init-copy.onnx');
    fs.copyFileSync(file('zoo.onnx'), init);
    const out = file('run');
    const common = ['--data', csv, '--out', out, '--backend', 'wasm'];
    const text = await fer([...common, '--arch', 'resnet18', '--init', init, '--epochs', '1', '--batch-size', '8',
      '--max-train', '8', '--lr', '0.0001', '--augment', 'none']);
    expect(text).toMatch(new RegExp(`Loaded ImageNet ResNet-18 weights from ${init} into 40 layers`));
    expect(text).toMatch(/summed over the colour channels/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).init).toBe(init);
    // after one Adam step at lr 1e-4 each weight moved by at most ~1e-4 from the loaded one
    const { model } = await loadModelDir(path.join(out, 'last'));
    expect(maxAbsDiff(values(model, 'layer4_1_conv2')[0], values(source, 'layer4_1_conv2')[0])).toBeLessThan(2e-4);
    model.dispose();

    fs.rmSync(init);
    const again = await fer([...common, '--resume', '--epochs', '2']);
    expect(again).toMatch(/Done: 2 epoch\(s\)/);
    expect(again).not.toMatch(/Loaded ImageNet/);
  });
});
