import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { EMOTIONS } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import { exportOnnx, maxAbsDiff, randomCrops } from '../../lib/src/export';
import { DEFAULT_PREDICTOR_OPTIONS, defaultModelPath, loadPredictor, Predictor } from '../../lib/src/inference';
import { withPredictorDefaults } from '../../lib/src/inference/types';
import { createModel } from '../../lib/src/models';
import { projectRoot } from '../../lib/src/util/fs';
import { defaultMeta, saveModelDir } from '../../lib/src/util/model-io';
import { kitchenSinkModel, logitsModel, randomizeWeights } from '../export/fixtures';

let tmp: string;
let ckpt: string;
let onnxFile: string;

beforeAll(async () => {
  await initBackend('wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-predictor-'));
  // A checkpoint folder like `fer train` writes: <dir>/best is the model folder.
  ckpt = path.join(tmp, 'run');
  const model = kitchenSinkModel();
  await saveModelDir(model, path.join(ckpt, 'best'), defaultMeta('kitchen', model));
  onnxFile = path.join(tmp, 'kitchen.onnx');
  fs.writeFileSync(onnxFile, exportOnnx(model, { arch: 'kitchen' }));
  model.dispose();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function probs(p: Predictor, px: Uint8Array): Promise<Float32Array> {
  try {
    return await p.predict(px);
  } finally {
    await p.dispose();
  }
}

describe('loadPredictor', () => {
  const pixels = randomCrops(6, 21);

  test('checkpoint dir on both engines and the .onnx file give the same probabilities', async () => {
    const viaOnnx = await loadPredictor(ckpt);
    expect(viaOnnx.engine).toBe('onnx');
    expect(viaOnnx.source).toBe(path.join(ckpt, 'best'));
    expect(viaOnnx.classes).toEqual([...EMOTIONS]);
    const viaTfjs = await loadPredictor(ckpt, { engine: 'tfjs' });
    expect(viaTfjs.engine).toBe('tfjs');
    const viaFile = await loadPredictor(onnxFile, { threads: 1 });
    expect(viaFile.source).toBe(onnxFile);
    const [a, b, c] = [await probs(viaOnnx, pixels), await probs(viaTfjs, pixels), await probs(viaFile, pixels)];
    expect(a).toHaveLength(6 * 7);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
    expect(maxAbsDiff(a, c)).toBe(0);
    for (let i = 0; i < 6; i++) expect(a.subarray(i * 7, i * 7 + 7).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });

  test('model folder, model.json file, and a folder with model.onnx are all accepted', async () => {
    const folder = await loadPredictor(path.join(ckpt, 'best'), { engine: 'tfjs' });
    const json = await loadPredictor(path.join(ckpt, 'best', 'model.json'), { engine: 'tfjs' });
    expect(json.source).toBe(path.join(ckpt, 'best'));
    const shipped = path.join(tmp, 'shipped');
    fs.mkdirSync(shipped);
    fs.copyFileSync(onnxFile, path.join(shipped, 'model.onnx'));
    const fromDir = await loadPredictor(shipped);
    expect(fromDir.source).toBe(path.join(shipped, 'model.onnx'));
    const [a, b, c] = [await probs(folder, pixels), await probs(json, pixels), await probs(fromDir, pixels)];
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, c)).toBeLessThan(1e-4);
  });

  test('batches larger than batchSize are split with identical results; empty input gives empty output', async () => {
    const small = await loadPredictor(onnxFile, { batchSize: 4 });
    const big = await loadPredictor(onnxFile);
    const many = randomCrops(11, 2);
    expect(maxAbsDiff(await probs(small, many), await probs(big, many))).toBeLessThan(1e-6);
    const p = await loadPredictor(onnxFile);
    expect(await probs(p, new Uint8Array(0))).toHaveLength(0);
  });

  test('a logits-only model gets probabilities from both engines', async () => {
    const model = logitsModel();
    const dir = path.join(tmp, 'logits');
    await saveModelDir(model, dir, defaultMeta('logits', model));
    model.dispose();
    const a = await probs(await loadPredictor(dir), pixels);
    const b = await probs(await loadPredictor(dir, { engine: 'tfjs' }), pixels);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
    expect(a.subarray(0, 7).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });

  test('softmax followed by dropout is not softmaxed twice by either engine', async () => {
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [48, 48, 1], filters: 3, kernelSize: 5, strides: 4 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 7, activation: 'softmax' }));
    model.add(tf.layers.dropout({ rate: 0.3 }));
    const expected = tf.tidy(() => (model.predict(tf.tensor4d(Float32Array.from(pixels, (v) => v / 255),
      [6, 48, 48, 1])) as tf.Tensor).dataSync() as Float32Array);
    const dir = path.join(tmp, 'softmax-dropout');
    await saveModelDir(model, dir, defaultMeta('sd', model));
    model.dispose();
    expect(maxAbsDiff(await probs(await loadPredictor(dir, { engine: 'tfjs' }), pixels), expected)).toBeLessThan(1e-6);
    expect(maxAbsDiff(await probs(await loadPredictor(dir), pixels), expected)).toBeLessThan(1e-4);
  });

  test('vgg-compact checkpoint: onnx and tfjs engines agree', async () => {
    const model = createModel('vgg-compact');
    randomizeWeights(model, 8);
    const dir = path.join(tmp, 'vgg');
    await saveModelDir(model, dir, defaultMeta('vgg-compact', model));
    model.dispose();
    const a = await probs(await loadPredictor(dir), pixels);
    const b = await probs(await loadPredictor(dir, { engine: 'tfjs' }), pixels);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
  });

  test('defaultModelPath is <projectRoot>/checkpoints/fer-lab-default', () => {
    expect(defaultModelPath()).toBe(path.join(projectRoot(), 'checkpoints', 'fer-lab-default'));
  });
});

describe('clear errors naming the file', () => {
  async function expectFerError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FerError);
    expect((err as Error).message).toMatch(pattern);
  }

  test('missing path, folder without a model, unknown file type', async () => {
    await expectFerError(loadPredictor(path.join(tmp, 'nope.onnx')), /No model at .*nope\.onnx/);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    await expectFerError(loadPredictor(empty), /empty holds no model/);
    const txt = path.join(tmp, 'notes.txt');
    fs.writeFileSync(txt, 'hi');
    await expectFerError(loadPredictor(txt), /notes\.txt is neither an \.onnx file nor/);
  });

  test('corrupt and truncated .onnx files', async () => {
    const garbage = path.join(tmp, 'garbage.onnx');
    fs.writeFileSync(garbage, Buffer.from(randomCrops(1, 99).subarray(0, 3000)));
    await expectFerError(loadPredictor(garbage), /garbage\.onnx/);
    const text = path.join(tmp, 'text.onnx');
    fs.writeFileSync(text, 'this is not a model\n');
    await expectFerError(loadPredictor(text), /text\.onnx is not a valid ONNX model/);
    const cut = path.join(tmp, 'truncated.onnx');
    const bytes = fs.readFileSync(onnxFile);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectFerError(loadPredictor(cut), /truncated\.onnx/);
  });

  test('a model with the wrong input shape', async () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [64, 64, 1], filters: 2, kernelSize: 3 }));
    m.add(tf.layers.globalAveragePooling2d({}));
    m.add(tf.layers.dense({ units: 7, activation: 'softmax' }));
    const file = path.join(tmp, 'big.onnx');
    fs.writeFileSync(file, exportOnnx(m));
    await expectFerError(loadPredictor(file), /big\.onnx expects input \[N, 64, 64, 1\]/);
    const dir = path.join(tmp, 'big-tfjs');
    await saveModelDir(m, dir, defaultMeta('big', m));
    await expectFerError(loadPredictor(dir, { engine: 'tfjs' }), /big-tfjs expects input/);
    m.dispose();
  });

  test('class metadata that does not match the output, or is malformed', async () => {
    const m = logitsModel();
    const wrong = path.join(tmp, 'wrong-classes.onnx');
    fs.writeFileSync(wrong, exportOnnx(m, { metadata: { classes: JSON.stringify(['a', 'b', 'c']) } }));
    await expectFerError(loadPredictor(wrong), /wrong-classes\.onnx outputs \[N, 7\] but its metadata names 3 classes/);
    const bad = path.join(tmp, 'bad-classes.onnx');
    fs.writeFileSync(bad, exportOnnx(m, { metadata: { classes: '{not json' } }));
    await expectFerError(loadPredictor(bad), /bad-classes\.onnx: metadata "classes" is not valid JSON/);
    const dir = path.join(tmp, 'wrong-meta');
    await saveModelDir(m, dir, { ...defaultMeta('x', m), classes: ['happy', 'sad'] });
    await expectFerError(loadPredictor(dir, { engine: 'tfjs' }), /wrong-meta outputs \[.*7\] but its metadata names 2/);
    m.dispose();
  });

  test('an .onnx file with the tfjs engine, bad byte counts, use after dispose', async () => {
    await expectFerError(loadPredictor(onnxFile, { engine: 'tfjs' }), /kitchen\.onnx is an ONNX file: the tfjs engine/);
    const p = await loadPredictor(onnxFile);
    await expectFerError(p.predict(new Uint8Array(2305)), /2305 bytes: expected n 48x48/);
    await p.dispose();
    await expectFerError(p.predict(new Uint8Array(2304)), /was disposed/);
  });
});

describe('withPredictorDefaults', () => {
  test('an option given as undefined keeps its default; given values win', () => {
    expect(withPredictorDefaults({ threads: undefined, batchSize: 8 })).toEqual({ ...DEFAULT_PREDICTOR_OPTIONS, batchSize: 8 });
    expect(withPredictorDefaults().threads).toBe(DEFAULT_PREDICTOR_OPTIONS.threads);
  });
});
