import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { initBackend } from '../../lib/src/backend';
import { EMOTIONS } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import {
  buildOnnxGraph, decodeOnnx, exportOnnx, readOnnxMetadata, samePads, maxAbsDiff, randomCrops,
} from '../../lib/src/export';
import { createModel, listModels } from '../../lib/src/models';
import { PREPROCESS, normalizePixels, pixelsToTensor } from '../../lib/src/transforms/preprocess';
import { kitchenSinkModel, logitsModel, mergeModel, randomizeWeights, sequentialModel } from './fixtures';

beforeAll(async () => {
  await initBackend('wasm');
});

async function runOnnx(bytes: Uint8Array, pixels: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const n = pixels.length / 2304;
  const out = await session.run({ input: new ort.Tensor('float32', normalizePixels(pixels), [n, 48, 48, 1]) });
  await session.release();
  return out.probabilities.data as Float32Array;
}

function runTfjs(model: tf.LayersModel, pixels: Uint8Array, softmax = false): Float32Array {
  return tf.tidy(() => {
    const out = model.predict(pixelsToTensor(pixels)) as tf.Tensor;
    return (softmax ? tf.softmax(out) : out).dataSync() as Float32Array;
  });
}

describe('samePads (TF "same" as explicit ONNX pads)', () => {
  test('odd totals put the extra pixel at the bottom/right, like TF', () => {
    expect(samePads([48, 48], [3, 3], [2, 2])).toEqual([0, 0, 1, 1]);
    expect(samePads([48, 48], [5, 5], [2, 2])).toEqual([1, 1, 2, 2]);
    expect(samePads([48, 48], [3, 3], [1, 1])).toEqual([1, 1, 1, 1]);
    expect(samePads([7, 9], [2, 2], [2, 2])).toEqual([0, 0, 1, 1]);
    expect(samePads([12, 12], [7, 7], [2, 2])).toEqual([2, 2, 3, 3]);
  });
});

describe('ONNX export parity with TF.js (max abs diff of probabilities < 1e-4)', () => {
  const fixtures: Array<[string, () => tf.LayersModel, boolean]> = [
    ['every layer kind (functional)', kitchenSinkModel, false],
    ['sequential, Dense+BN, Softmax layer', sequentialModel, false],
    ['logits model (softmax appended)', logitsModel, true],
    ['padding, merges and the rarer activations', mergeModel, false],
  ];
  for (const [label, make, logits] of fixtures) {
    for (const fold of [true, false]) {
      test(`${label}, foldBatchNorm=${fold}`, async () => {
        const model = make();
        const pixels = randomCrops(5, 3);
        const bytes = exportOnnx(model, { foldBatchNorm: fold });
        const diff = maxAbsDiff(await runOnnx(bytes, pixels), runTfjs(model, pixels, logits));
        expect(diff).toBeLessThan(1e-4);
        model.dispose();
      });
    }
  }

  const archs = listModels().map((m) => m.name);
  test('the registry has the shipped families', () => {
    expect(archs).toEqual(expect.arrayContaining(['vgg-compact', 'resnet18']));
  });
  for (const arch of archs) {
    test(`registered architecture ${arch}: random inputs, batch 1 and 4`, async () => {
      const model = createModel(arch);
      randomizeWeights(model, 17); // non-trivial batch-norm statistics, so folding is really exercised
      const bytes = exportOnnx(model, { arch });
      for (const n of [1, 4]) {
        const pixels = randomCrops(n, n);
        expect(maxAbsDiff(await runOnnx(bytes, pixels), runTfjs(model, pixels))).toBeLessThan(1e-4);
      }
      model.dispose();
    });
  }
});

describe('ONNX graph and file', () => {
  test('batch norm folding removes every BatchNormalization after a conv or dense and keeps the others', () => {
    const kitchen = kitchenSinkModel();
    const bns = (m: tf.LayersModel, fold: boolean) =>
      buildOnnxGraph(m, { foldBatchNorm: fold }).nodes.filter((n) => n.opType === 'BatchNormalization').length;
    expect(bns(kitchen, false)).toBe(4);
    expect(bns(kitchen, true)).toBe(1); // the one after Add
    const seq = sequentialModel();
    expect(bns(seq, false)).toBe(2);
    expect(bns(seq, true)).toBe(0); // conv+BN and dense+BN both fold
    kitchen.dispose();
    seq.dispose();
    const model = createModel('vgg-compact');
    const folded = buildOnnxGraph(model, { foldBatchNorm: true });
    const plain = buildOnnxGraph(model, { foldBatchNorm: false });
    const count = (g: typeof folded, op: string) => g.nodes.filter((n) => n.opType === op).length;
    expect(count(plain, 'BatchNormalization')).toBe(8);
    expect(count(folded, 'BatchNormalization')).toBe(0);
    expect(count(folded, 'Conv')).toBe(8);
    expect(count(folded, 'Softmax')).toBe(1);
    model.dispose();
  });

  test('input/output names, dynamic batch, opset, metadata round trip', () => {
    const model = createModel('vgg-small');
    const bytes = exportOnnx(model, { arch: 'vgg-small', metadata: { note: 'hello' } });
    const proto = decodeOnnx(bytes, 'test.onnx');
    expect(Number(String(proto.opsetImport[0].version))).toBeGreaterThanOrEqual(13);
    const graph = proto.graph as onnx.GraphProto;
    const dims = (v: onnx.IValueInfoProto) => v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(String(d.dimValue)));
    expect(graph.input.map((i) => i.name)).toEqual(['input']);
    expect(dims(graph.input[0])).toEqual(['N', 48, 48, 1]);
    expect(graph.output.map((o) => o.name)).toEqual(['probabilities']);
    expect(dims(graph.output[0])).toEqual(['N', 7]);
    const meta = readOnnxMetadata(proto, 'test.onnx');
    expect(meta.classes).toEqual([...EMOTIONS]);
    expect(meta.preprocess).toEqual(PREPROCESS);
    expect(meta.arch).toBe('vgg-small');
    expect(meta.ferLabVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(meta.raw.note).toBe('hello');
    model.dispose();
  });

  test('an unsupported layer is a FerError naming the layer', () => {
    const input = tf.input({ shape: [48, 48, 1] });
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'my_upsample' }).apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(up) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 7, activation: 'softmax' }).apply(flat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(() => exportOnnx(model)).toThrow(FerError);
    expect(() => exportOnnx(model)).toThrow(/my_upsample.*UpSampling2D/);
    model.dispose();
  });

  test('class names that do not match the output size are refused', () => {
    const model = logitsModel();
    expect(() => exportOnnx(model, { classes: ['a', 'b', 'c'] })).toThrow(/7 outputs but 3 class names/);
    model.dispose();
  });

  test('an unsupported activation is a FerError naming the layer', () => {
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [48, 48, 1], filters: 2, kernelSize: 3, activation: 'mish', name: 'mishy' }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 7, activation: 'softmax' }));
    expect(() => exportOnnx(model)).toThrow(/mishy.*activation "mish"/);
    model.dispose();
  });
});
