import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { exportWeb } from '../../lib/src/export/web';
import { initBackend } from '../../lib/src/backend';
import { train } from '../../lib/src/train/trainer';
import { loadCheckpoint, readCheckpoint, readSavedConfig } from '../../lib/src/train/checkpoint';
import { loadModelDir } from '../../lib/src/util/model-io';
import { FerError } from '../../lib/src/errors';
import { syntheticDataset, testConfig, tinyModel, tmpDir, weightValues } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

const ds = syntheticDataset(3, 24, 6);
const factory = () => tinyModel(3);

describe('train', () => {
  test('learns the synthetic task and writes config, history, best and last', async () => {
    const out = tmpDir();
    const epochs: number[] = [];
    let batches = 0;
    const result = await train(testConfig(out, { epochs: 6, augment: 'light', lr: 3e-3 }), {
      dataset: ds, createModel: factory, onEpoch: ({ record }) => void epochs.push(record.epoch), onBatch: () => void batches++,
    });
    expect(result.stoppedBy).toBe('completed');
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(batches).toBe(6 * 3); // 54 train images, batch 16: 3 batches (the 6-image remainder joins the last)
    const h = result.history;
    expect(h).toHaveLength(6);
    expect(h[5].trainLoss).toBeLessThan(h[0].trainLoss);
    expect(result.best!.valAcc).toBeGreaterThan(0.6);
    for (const f of ['config.json', 'history.json', 'history.csv']) expect(fs.existsSync(path.join(out, f))).toBe(true);
    const csv = fs.readFileSync(path.join(out, 'history.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('epoch,trainLoss,trainAcc,valLoss,valAcc,lr,seconds,imagesPerSecond,engine,rawValLoss,rawValAcc');
    expect(csv[1].split(',').slice(8)).toEqual(['tfjs-wasm', '', '']); // no ema: no own-weights columns
    expect(csv).toHaveLength(7);
    // best/ is a model folder others can load, carrying meta
    const { model, meta } = await loadModelDir(path.join(out, 'best'));
    expect(meta.arch).toBe('tiny');
    expect(meta.classes).toEqual(['angry', 'disgust', 'fear']);
    expect(meta.params).toBe(model.countParams());
    expect(meta.preprocess.size).toBe(48);
    const viaCheckpoint = await loadCheckpoint(out);
    expect(viaCheckpoint.state?.best?.epoch).toBe(result.best!.epoch);
    model.dispose();
    viaCheckpoint.model.dispose();
    result.model.dispose();
  });

  test('memory stays flat across epochs', async () => {
    const out = tmpDir();
    const counts: number[] = [];
    const result = await train(testConfig(out, { epochs: 4, mix: { mixupAlpha: 0.4, cutmixAlpha: 1 } }), {
      dataset: ds, createModel: factory, onEpoch: () => void counts.push(tf.memory().numTensors),
    });
    expect(counts).toHaveLength(4);
    expect(new Set(counts.slice(1)).size).toBe(1);
    result.model.dispose();
  });

  test('checkpoint round trip is bit-exact for weights and optimizer state', async () => {
    const out = tmpDir();
    const result = await train(testConfig(out, { epochs: 1 }), { dataset: ds, createModel: factory });
    const ckpt = await readCheckpoint(path.join(out, 'last'));
    const a = weightValues(result.model);
    const b = weightValues(ckpt.model);
    expect(b.length).toBe(a.length);
    a.forEach((w, i) => expect(Buffer.from(b[i].buffer).equals(Buffer.from(w.buffer))).toBe(true));
    expect(ckpt.optimizer?.name).toBe('adam');
    expect(ckpt.optimizer?.step).toBe(3);
    const m = ckpt.optimizer!.slots.m;
    expect(m).toHaveLength(result.model.trainableWeights.length);
    expect(m.some((arr) => arr.some((v) => v !== 0))).toBe(true);
    // saving what was read gives identical bytes
    const { saveCheckpoint } = await import('../../lib/src/train/checkpoint');
    const again = path.join(tmpDir(), 'copy');
    await saveCheckpoint(again, ckpt);
    for (const f of ['weights.bin', 'optimizer.bin']) {
      expect(fs.readFileSync(path.join(again, f)).equals(fs.readFileSync(path.join(out, 'last', f)))).toBe(true);
    }
    result.model.dispose();
    ckpt.model.dispose();
  });

  test.each([
    ['after epoch 1', 'epoch', false],
    ['in the middle of epoch 2', 'batch', false],
    ['in the middle of epoch 2, without validation (valFraction 0)', 'batch', true],
  ])('resume after a stop %s matches an unbroken run exactly', async (_label, where, noValidation) => {
    const over = { epochs: 3, mix: { mixupAlpha: 0.4 }, optimizer: 'sgd' as const, schedule: 'cosine' as const, lr: 0.05, ...(noValidation ? { valFraction: 0 } : {}) };
    const data = noValidation ? syntheticDataset(3, 24, 0) : ds;
    const unbroken = await train(testConfig(tmpDir(), over), { dataset: data, createModel: factory });

    const out = tmpDir();
    const controller = new AbortController();
    const first = await train(testConfig(out, over), {
      dataset: data, createModel: factory, signal: controller.signal,
      onEpoch: ({ record }) => { if (where === 'epoch' && record.epoch === 1) controller.abort(); },
      onBatch: (b) => { if (where === 'batch' && b.epoch === 1 && b.batch === 2) controller.abort(); },
    });
    expect(first.stoppedBy).toBe('interrupted');
    expect(first.epochs).toBe(1);
    first.model.dispose();
    // a fresh model factory proves the weights come from the checkpoint
    const resumed = await train(testConfig(out, { ...over, resume: true }), {
      dataset: data, createModel: () => { throw new Error('must not build a new model when resuming'); },
    });
    expect(resumed.stoppedBy).toBe('completed');
    expect(resumed.epochs).toBe(3);
    const a = weightValues(unbroken.model);
    const b = weightValues(resumed.model);
    a.forEach((w, i) => expect(Array.from(b[i])).toEqual(Array.from(w)));
    const strip = (h: typeof unbroken.history) => h.map(({ seconds, imagesPerSecond, ...rest }) => rest);
    expect(strip(resumed.history)).toEqual(strip(unbroken.history));
    unbroken.model.dispose();
    resumed.model.dispose();
  });

  test('a run in an existing folder needs --resume or --overwrite; resuming with changed settings is refused', async () => {
    const out = tmpDir();
    (await train(testConfig(out, { epochs: 1 }), { dataset: ds, createModel: factory })).model.dispose();
    await expect(train(testConfig(out, { epochs: 1 }), { dataset: ds, createModel: factory })).rejects.toThrow(/--resume/);
    await expect(train(testConfig(out, { epochs: 2, lr: 0.01, resume: true }), { dataset: ds, createModel: factory })).rejects.toThrow(
      /lr \(saved 0.001, given 0.01\)/,
    );
    const more = await train(testConfig(out, { epochs: 2, resume: true }), { dataset: ds, createModel: factory });
    expect(more.history.map((h) => h.epoch)).toEqual([1, 2]);
    more.model.dispose();
  });

  test('a finished run kept without last/ is neither resumed nor trained over, and still gives its config', async () => {
    const out = tmpDir();
    (await train(testConfig(out, { epochs: 1, lr: 2e-3 }), { dataset: ds, createModel: factory })).model.dispose();
    fs.rmSync(path.join(out, 'last'), { recursive: true });
    const bestBefore = fs.readFileSync(path.join(out, 'best', 'weights.bin'));
    expect(readSavedConfig(out)).toMatchObject({ lr: 2e-3, epochs: 1, arch: 'tiny' });
    for (const resume of [true, false]) {
      await expect(train(testConfig(out, { epochs: 2, lr: 2e-3, resume }), { dataset: ds, createModel: factory })).rejects.toThrow(
        resume ? /without its last\/ folder .* cannot be resumed.*--overwrite/ : /without its last\/ folder .* is not trained over/,
      );
    }
    expect(fs.readFileSync(path.join(out, 'best', 'weights.bin'))).toEqual(bestBefore);
    const again = await train(testConfig(out, { epochs: 1, overwrite: true }), { dataset: ds, createModel: factory });
    expect(again.history.map((h) => h.epoch)).toEqual([1]);
    again.model.dispose();
  });

  test('early stopping ends the run after `patience` epochs without a better val accuracy', async () => {
    const out = tmpDir();
    const logs: string[] = [];
    // a learning rate too small to change anything: val accuracy never improves after epoch 1
    const result = await train(testConfig(out, { epochs: 10, earlyStopping: 2, lr: 1e-12, schedule: 'none' }), {
      dataset: ds, createModel: factory, onLog: (m) => void logs.push(m),
    });
    expect(result.stoppedBy).toBe('early-stopping');
    expect(result.history).toHaveLength(3);
    expect(result.best!.epoch).toBe(1);
    expect(logs.join('\n')).toMatch(/Early stopping: no better validation accuracy for 2 epochs/);
    result.model.dispose();
  });

  test('a NaN loss stops with a clear FerError', async () => {
    const out = tmpDir();
    const run = train(testConfig(out, { epochs: 2, optimizer: 'sgd', lr: 10, schedule: 'none', augment: 'none' }), {
      dataset: ds,
      // a linear model with huge learning rate overflows float32 quickly
      createModel: () => {
        const input = tf.input({ shape: [48, 48, 1] });
        const x = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
        const y = tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.constant({ value: 1e36 }) }).apply(x) as tf.SymbolicTensor;
        return tf.model({ inputs: input, outputs: y });
      },
    });
    await expect(run).rejects.toThrow(FerError);
    await expect(run).rejects.toThrow(/loss became NaN|loss became Infinity/);
  });

  test('soft labels and class weights train', async () => {
    const out = tmpDir();
    const soft = syntheticDataset(3, 20, 5, 2, true);
    const result = await train(testConfig(out, { epochs: 1, classWeights: 'inverse' }), { dataset: soft, createModel: factory });
    expect(Number.isFinite(result.history[0].trainLoss)).toBe(true);
    const state = JSON.parse(fs.readFileSync(path.join(out, 'last', 'state.json'), 'utf8'));
    expect(state.data.classWeights).toHaveLength(3);
    result.model.dispose();
  });
});

describe('init from a model folder', () => {
  const trainable = (model: tf.LayersModel) => model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);

  test('a new run starts from the trained weights with a fresh optimizer; another architecture is refused', async () => {
    const first = tmpDir();
    const a = await train(testConfig(first, { epochs: 1 }), { dataset: ds, createModel: factory });
    const trained = trainable(a.model);
    a.model.dispose();
    const second = tmpDir();
    const logs: string[] = [];
    const b = await train(testConfig(second, { epochs: 1, lr: 1e-9, init: path.join(first, 'last') }), {
      dataset: ds,
      createModel: () => {
        throw new Error('a run with init must not build a new model');
      },
      onLog: (m) => logs.push(m),
    });
    expect(logs.some((m) => m.includes(`Starting from the weights in ${path.join(first, 'last')}`))).toBe(true);
    expect(logs.some((m) => m.includes('stores its weights as'))).toBe(false);
    // lr 1e-9: Adam moves each weight by about 1e-9 per step, so the run ends where the first one did
    const after = trainable(b.model);
    expect(after).toHaveLength(trained.length);
    after.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - trained[i][j])).toBeLessThan(1e-6)));
    expect((await readCheckpoint(path.join(second, 'last'))).optimizer?.step).toBe(3);
    b.model.dispose();

    // a run folder means its best/ weights
    const bestWeights = trainable((await loadCheckpoint(path.join(first, 'best'))).model);
    const c = await train(testConfig(tmpDir(), { epochs: 1, lr: 1e-9, init: first }), { dataset: ds, createModel: factory });
    trainable(c.model).forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - bestWeights[i][j])).toBeLessThan(1e-6)));
    c.model.dispose();

    // a quantized copy (as shipped) starts too, and the log says its weights are rounded
    const shipped = path.join(tmpDir(), 'tfjs');
    const best = await loadCheckpoint(path.join(first, 'best'));
    await exportWeb(best.model, shipped, best.meta, { weights: 'float16' });
    best.model.dispose();
    const quantLogs: string[] = [];
    const d = await train(testConfig(tmpDir(), { epochs: 1, lr: 1e-9, init: shipped }), { dataset: ds, createModel: factory, onLog: (m) => quantLogs.push(m) });
    expect(quantLogs.some((m) => m.includes(`Note: ${shipped} stores its weights as float16`))).toBe(true);
    trainable(d.model).forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - bestWeights[i][j])).toBeLessThan(2e-3 * Math.max(1, Math.abs(bestWeights[i][j])))));
    d.model.dispose();

    await expect(train(testConfig(tmpDir(), { arch: 'vgg-small', epochs: 1, init: first }), { dataset: ds }))
      .rejects.toThrow(/holds a tiny model and this run trains vgg-small/);
    await expect(train(testConfig(tmpDir(), { epochs: 1, init: path.join(first, 'missing') }), { dataset: ds, createModel: factory }))
      .rejects.toThrow(/no such model folder/);
  });
});

describe('train without validation (valFraction 0) and a longer schedule (scheduleEpochs)', () => {
  const noVal = syntheticDataset(3, 24, 0);

  test('trains on every image, records no validation, and best/ holds the latest epoch', async () => {
    const out = tmpDir();
    const logs: string[] = [];
    let batches = 0;
    // earlyStopping 1 would stop a validated run that does not improve; here nothing counts towards it
    const result = await train(testConfig(out, { epochs: 3, valFraction: 0, earlyStopping: 1, schedule: 'cosine' }), {
      dataset: noVal, createModel: factory, onBatch: () => void batches++, onLog: (m) => void logs.push(m),
    });
    expect(result.stoppedBy).toBe('completed');
    expect(batches).toBe(3 * 5); // all 72 images (54 + 18 when 6 a class are held out), batch 16: 5 batches
    expect(result.best).toBeNull();
    expect(result.history.map((h) => [h.valAcc, h.valLoss])).toEqual([[undefined, undefined], [undefined, undefined], [undefined, undefined]]);
    expect(logs.some((m) => m.includes('No validation split (valFraction 0): training on all 72 training images'))).toBe(true);
    const csv = fs.readFileSync(path.join(out, 'history.csv'), 'utf8').trim().split('\n');
    expect(csv[2].split(',').slice(3, 5)).toEqual(['', '']);
    const best = await loadModelDir(path.join(out, 'best'));
    const last = await loadModelDir(path.join(out, 'last'));
    expect(best.meta.training?.epoch).toBe(3);
    expect(best.meta.training?.valImages).toBe(0);
    expect(weightValues(best.model)).toEqual(weightValues(last.model));
    best.model.dispose();
    last.model.dispose();
    result.model.dispose();
  });

  test('valFraction 0 refuses the plateau schedule, which lowers the rate on the validation loss', async () => {
    await expect(train(testConfig(tmpDir(), { valFraction: 0, schedule: 'plateau' }), { dataset: noVal, createModel: factory }))
      .rejects.toThrow(/plateau.*valFraction 0/);
  });

  test('scheduleEpochs: a run of 2 epochs follows the first 2 epochs of a 4-epoch schedule exactly', async () => {
    const partial = await train(testConfig(tmpDir(), { epochs: 2, scheduleEpochs: 4, schedule: 'cosine' }), { dataset: ds, createModel: factory });
    let atEpoch2: Float32Array[] = [];
    const full = await train(testConfig(tmpDir(), { epochs: 4, schedule: 'cosine' }), {
      dataset: ds, createModel: factory, onEpoch: ({ record, model }) => { if (record.epoch === 2) atEpoch2 = weightValues(model); },
    });
    const short = await train(testConfig(tmpDir(), { epochs: 2, schedule: 'cosine' }), { dataset: ds, createModel: factory });
    expect(partial.history.map((h) => h.lr)).toEqual(full.history.slice(0, 2).map((h) => h.lr));
    expect(partial.history[1].lr).toBeGreaterThan(short.history[1].lr * 1.5); // not the 2-epoch schedule's end
    expect(weightValues(partial.model)).toEqual(atEpoch2);
    for (const r of [partial, full, short]) r.model.dispose();
  });
});
