import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import {
  buildOnnxGraph, compareOnnxToTfjs, exportOnnx, fromFloat16Bits, randomCrops, readOnnxMetadata, decodeOnnx,
  toFloat16Bits,
} from '../../lib/src/export';
import { EMOTIONS } from '../../lib/src/emotions';
import { createModel } from '../../lib/src/models';
import { createOnnxPredictor, createTfjsPredictor } from '../../lib/src/inference';
import { kitchenSinkModel, randomizeWeights } from './fixtures';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('float16 conversion', () => {
  test('exact values, rounding, overflow, underflow, NaN', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(0.1)).toBe(0x2e66);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(1e-9)).toBe(0);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
  });

  test('round trip keeps 11 significant bits', () => {
    let s = 3;
    for (let i = 0; i < 5000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const v = ((s / 2 ** 32) - 0.5) * 2 ** ((s % 30) - 15);
      if (Math.abs(v) < 2 ** -14) continue; // subnormals have absolute, not relative, precision
      expect(Math.abs(fromFloat16Bits(toFloat16Bits(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11);
    }
  });
});

describe('smaller ONNX weights', () => {
  let model: tf.LayersModel;
  beforeAll(() => {
    model = createModel('vgg-compact');
    randomizeWeights(model, 5);
  });
  afterAll(() => model.dispose());

  test('float16 halves the file, int8 quarters it; metadata records the format', () => {
    const f32 = exportOnnx(model);
    const f16 = exportOnnx(model, { weights: 'float16' });
    const i8 = exportOnnx(model, { weights: 'int8' });
    expect(f16.length / f32.length).toBeLessThan(0.55);
    expect(i8.length / f32.length).toBeLessThan(0.3);
    expect(readOnnxMetadata(decodeOnnx(f16, 'f16'), 'f16').weights).toBe('float16');
    expect(readOnnxMetadata(decodeOnnx(i8, 'i8'), 'i8').weights).toBe('int8');
    const graph = buildOnnxGraph(model, { weights: 'int8' });
    expect(graph.nodes.filter((n) => n.opType === 'DequantizeLinear')).toHaveLength(9); // 8 convs + 1 dense
  });

  test('float16 and int8 predictions stay close to float32 and keep the predicted class', async () => {
    const pixels = randomCrops(32, 9);
    const tfjs = createTfjsPredictor(model, EMOTIONS, 'tfjs');
    const ref = await tfjs.predict(pixels);
    const argmax = (p: Float32Array, i: number) => {
      const row = Array.from(p.subarray(i * 7, i * 7 + 7));
      return row.indexOf(Math.max(...row));
    };
    for (const [weights, tol] of [['float16', 2e-3], ['int8', 3e-2]] as const) {
      const onnx = await createOnnxPredictor(exportOnnx(model, { weights }), weights);
      const p = await onnx.predict(pixels);
      let d = 0;
      let agree = 0;
      for (let i = 0; i < p.length; i++) d = Math.max(d, Math.abs(p[i] - ref[i]));
      for (let i = 0; i < 32; i++) agree += argmax(p, i) === argmax(ref, i) ? 1 : 0;
      expect(d).toBeLessThan(tol);
      expect(agree).toBeGreaterThanOrEqual(weights === 'float16' ? 32 : 30);
      await onnx.dispose();
    }
  });

  test('every layer kind survives float16 and int8 (depthwise/separable/dense weights)', async () => {
    const kitchen = kitchenSinkModel();
    for (const weights of ['float16', 'int8'] as const) {
      const diff = await compareOnnxToTfjs(kitchen, exportOnnx(kitchen, { weights }), EMOTIONS);
      expect(diff).toBeLessThan(weights === 'float16' ? 2e-3 : 3e-2);
    }
    kitchen.dispose();
  });
});
