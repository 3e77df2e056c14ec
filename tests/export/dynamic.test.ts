import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { buildOnnxGraph, compareOnnxToTfjs, decodeOnnx, exportOnnx, randomCrops, readOnnxMetadata } from '../../lib/src/export';
import { EMOTIONS } from '../../lib/src/emotions';
import { createModel } from '../../lib/src/models';
import { createOnnxPredictor } from '../../lib/src/inference';
import { loadDataset, sampleDataPath } from '../../lib/src/data';
import { kitchenSinkModel, randomizeWeights } from './fixtures';

beforeAll(async () => {
  await initBackend('wasm');
});

const argmax = (p: Float32Array, i: number): number => {
  const row = Array.from(p.subarray(i * 7, i * 7 + 7));
  return row.indexOf(Math.max(...row));
};

describe('int8-dynamic ONNX export', () => {
  let model: tf.LayersModel;
  beforeAll(() => {
    model = createModel('vgg-compact');
    randomizeWeights(model, 5);
  });
  afterAll(() => model.dispose());

  test('Conv/Gemm become integer ops fed by DynamicQuantizeLinear; file is smaller; metadata records it', () => {
    const graph = buildOnnxGraph(model, { weights: 'int8-dynamic' });
    const ops = graph.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'ConvInteger')).toHaveLength(8);
    expect(ops.filter((o) => o === 'MatMulInteger')).toHaveLength(1);
    expect(ops).not.toContain('Conv');
    expect(ops).not.toContain('Gemm');
    expect(ops.filter((o) => o === 'DynamicQuantizeLinear')).toHaveLength(9);
    const f32 = exportOnnx(model);
    const dyn = exportOnnx(model, { weights: 'int8-dynamic' });
    expect(dyn.length / f32.length).toBeLessThan(0.3);
    expect(readOnnxMetadata(decodeOnnx(dyn, 'dyn'), 'dyn').weights).toBe('int8-dynamic');
  });

  test('onnxruntime runs it; probabilities close to float32, same class on random and real crops', async () => {
    const sample = await loadDataset(sampleDataPath());
    const real = sample.pixels.subarray(0, 16 * 48 * 48);
    const pixels = new Uint8Array(32 * 48 * 48);
    pixels.set(randomCrops(16, 9));
    pixels.set(real, 16 * 48 * 48);
    const ref = await (await createOnnxPredictor(exportOnnx(model), 'f32')).predict(pixels);
    const dyn = await createOnnxPredictor(exportOnnx(model, { weights: 'int8-dynamic' }), 'dyn');
    const p = await dyn.predict(pixels);
    await dyn.dispose();
    let d = 0;
    let agree = 0;
    for (let i = 0; i < p.length; i++) d = Math.max(d, Math.abs(p[i] - ref[i]));
    for (let i = 0; i < 32; i++) agree += argmax(p, i) === argmax(ref, i) ? 1 : 0;
    console.log(`int8-dynamic vs float32: max |dp| = ${d.toExponential(2)}, same class ${agree}/32`);
    expect(d).toBeLessThan(2e-2); // measured 4.3e-3
    expect(agree).toBeGreaterThanOrEqual(29);
  });

  test('kitchen-sink model (every layer kind; small depthwise kernels stay float) matches TF.js', async () => {
    const kitchen = kitchenSinkModel();
    const graph = buildOnnxGraph(kitchen, { weights: 'int8-dynamic' });
    expect(graph.nodes.filter((n) => n.opType === 'ConvInteger')).toHaveLength(3);
    expect(graph.nodes.filter((n) => n.opType === 'MatMulInteger')).toHaveLength(1);
    const diff = await compareOnnxToTfjs(kitchen, exportOnnx(kitchen, { weights: 'int8-dynamic' }), EMOTIONS);
    console.log(`kitchen int8-dynamic max |dp| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(2e-2);
    kitchen.dispose();
  });

  test('grouped (depthwise) ConvInteger runs in onnxruntime', async () => {
    const input = tf.input({ shape: [48, 48, 1] });
    let x = tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.separableConv2d({ filters: 48, kernelSize: 3, padding: 'same', depthMultiplier: 1 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 7, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
    const dw = tf.model({ inputs: input, outputs: out, name: 'dw' });
    randomizeWeights(dw, 3);
    const graph = buildOnnxGraph(dw, { weights: 'int8-dynamic' });
    const grouped = graph.nodes.filter((n) => n.opType === 'ConvInteger' && n.attrs.group !== 1);
    expect(grouped.length).toBeGreaterThanOrEqual(2); // the depthwise layer and the separable's depthwise half
    const diff = await compareOnnxToTfjs(dw, exportOnnx(dw, { weights: 'int8-dynamic' }), EMOTIONS);
    console.log(`depthwise int8-dynamic max |dp| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(2e-2);
    dw.dispose();
  });
});
