/** Parity on real faces: the shipped FER2013 subset (data/sample) through both engines, for each architecture. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import { Dataset, loadDataset, sampleDataPath, subset } from '../../lib/src/data';
import { exportOnnx, maxAbsDiff } from '../../lib/src/export';
import { createOnnxPredictor, createTfjsPredictor } from '../../lib/src/inference';
import { createModel } from '../../lib/src/models';
import { randomizeWeights } from '../export/fixtures';

let faces: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  const ds = await loadDataset(sampleDataPath(), { cache: false, workers: 0 });
  // 24 images spread over the whole sample (every class).
  const step = Math.floor(ds.labels.length / 24);
  faces = subset(ds, Array.from({ length: 24 }, (_, i) => i * step));
});

test('the sample gives real, varied 48x48 faces', () => {
  expect(faces.pixels.length).toBe(24 * PIXELS_PER_IMAGE);
  expect(new Set(faces.labels).size).toBeGreaterThanOrEqual(5);
  const mean = faces.pixels.reduce((s, v) => s + v, 0) / faces.pixels.length;
  expect(mean).toBeGreaterThan(40);
  expect(mean).toBeLessThan(220);
});

for (const arch of ['vgg-compact', 'resnet18']) {
  test(`${arch}: onnxruntime and TF.js agree on real faces (max abs diff < 1e-4)`, async () => {
    // He/Glorot kernels: larger than the default PyTorch-style ones, so an untrained model's outputs differ
    // clearly between faces (the check below), as a trained model's do.
    const model = createModel(arch, { weightInit: 'keras' });
    randomizeWeights(model, 23);
    const onnx = await createOnnxPredictor(exportOnnx(model, { arch }), `${arch}.onnx`);
    const tfjs = createTfjsPredictor(model, onnx.classes, arch);
    const [a, b] = [await onnx.predict(faces.pixels), await tfjs.predict(faces.pixels)];
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
    // Not a degenerate (constant) output: the faces get different distributions.
    expect(maxAbsDiff(a.subarray(0, 7), a.subarray(7, 14))).toBeGreaterThan(1e-4);
    await onnx.dispose();
    await tfjs.dispose();
    expect(tf.memory().numTensors).toBeLessThan(10);
  });
}
