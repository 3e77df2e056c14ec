import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Command } from 'commander';
import { defaultOutDir, EvaluateDeps, findHistory, register } from '../lib/src/cli/evaluate';
import type { Dataset } from '../lib/src/data/dataset';
import { EMOTIONS, PIXELS_PER_IMAGE } from '../lib/src/emotions';
import { FerError } from '../lib/src/errors';
import { fakeModel } from './metrics/fakes';
import { execFile } from 'child_process';
import { promisify } from 'util';
import { initBackend } from '../lib/src/backend';
import { createModel } from '../lib/src/models';
import { defaultMeta, saveModelDir } from '../lib/src/util/model-io';

/** 14 test + 7 train images; image i's first pixel is what the fake model predicts. */
function fakeData(): Dataset {
  const labels: number[] = [];
  const preds: number[] = [];
  const split: Dataset['split'] = [];
  for (let i = 0; i < 21; i++) {
    labels.push(i % 7);
    preds.push(i < 14 && i % 5 === 0 ? (i + 2) % 7 : i % 7); // test images 0, 5, 10 wrong
    split.push(i < 14 ? 'test' : 'train');
  }
  const pixels = new Uint8Array(21 * PIXELS_PER_IMAGE);
  preds.forEach((p, i) => {
    for (let j = 0; j < PIXELS_PER_IMAGE; j++) pixels[i * PIXELS_PER_IMAGE + j] = j === 0 ? p : (j * 7 + i * 20) % 256;
  });
  return {
    format: 'kaggle-folder', source: '/data/fake', classes: EMOTIONS, size: 21, pixels,
    labels: Uint8Array.from(labels), split, files: labels.map((_, i) => `f${i}.png`), bad: [],
  };
}

function setup() {
  const out: string[] = [];
  const logs: string[] = [];
  const model = fakeModel(EMOTIONS);
  const seen: { model?: string; engine?: string; data?: string } = {};
  const deps: EvaluateDeps = {
    loadPredictor: async (p, o) => {
      seen.model = p;
      seen.engine = o.engine;
      return model;
    },
    loadDataset: async (s) => {
      seen.data = s;
      return fakeData();
    },
    print: (t) => out.push(t),
    log: (l) => logs.push(l),
  };
  const program = new Command('fer').exitOverride();
  register(program, deps);
  return { program, out, logs, model, seen };
}

describe('fer evaluate (register on a fresh Command, fake model and data)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-eval-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--json prints exactly one JSON object with the contract fields, and writes the result files', async () => {
    const { program, out, logs, model, seen } = setup();
    await program.parseAsync(['evaluate', '--model', 'm.onnx', '--data', 'd.zip', '--out', dir, '--json', '--tta',
      '--engine', 'tfjs'], { from: 'user' });
    expect(seen).toEqual({ model: 'm.onnx', engine: 'tfjs', data: 'd.zip' });
    expect(out).toHaveLength(1);
    expect(logs).toEqual([]);
    const j = JSON.parse(out[0]);
    expect(Object.keys(j)).toEqual(['accuracy', 'macroF1', 'n', 'perClass', 'confusion', 'tta']);
    expect(j.n).toBe(14);
    expect(j.accuracy).toBeCloseTo(11 / 14, 10);
    expect(Object.keys(j.perClass)).toEqual([...EMOTIONS]);
    expect(Object.keys(j.perClass.angry)).toEqual(['precision', 'recall', 'f1', 'support']);
    expect(j.perClass.angry.support).toBe(2);
    expect(j.perClass.angry.recall).toBe(0.5); // images 0 (predicted fear) and 7 (right)
    expect(j.confusion[0]).toEqual([1, 0, 1, 0, 0, 0, 0]);
    expect(j.confusion).toHaveLength(7);
    expect(j.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(14);
    expect(j.tta).toEqual({ accuracy: expect.any(Number), macroF1: expect.any(Number) });
    expect(model.disposed).toBe(true);

    expect(fs.readdirSync(dir).sort()).toEqual(
      ['confusion_matrix.png', 'metrics.json', 'mistakes.png', 'per_class.png', 'reliability.png', 'report.txt'],
    );
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.accuracy).toBe(j.accuracy);
    expect(metrics.tta.mode).toBe('flip');
    expect(metrics.split).toBe('test');
    // the 3 wrong test images, by file: f0 (angry -> fear), f5 (sad -> angry), f10 (fear -> happy)
    expect(metrics.mistakes.map((g: { examples: Array<{ file: string }> }) => g.examples[0].file).sort()).toEqual(['f0.png', 'f10.png', 'f5.png']);
    const report = fs.readFileSync(path.join(dir, 'report.txt'), 'utf8');
    expect(report).toContain('precision    recall  f1-score   support');
    expect(report).toContain('with TTA (flip');
    for (const png of ['confusion_matrix.png', 'per_class.png', 'mistakes.png']) {
      expect((await sharp(path.join(dir, png)).metadata()).format).toBe('png');
    }
  });

  it('without --json prints the report; --split picks the images; no TTA means tta null', async () => {
    const { program, out, logs } = setup();
    await program.parseAsync(['evaluate', '--out', dir, '--split', 'train'], { from: 'user' });
    expect(out).toEqual([]);
    expect(logs.join('\n')).toContain('accuracy 100.00%');
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.n).toBe(7);
    expect(metrics.tta).toBeNull();
  });

  it('a split with no images is a FerError naming the splits there are', async () => {
    const { program, model } = setup();
    const run = program.parseAsync(['evaluate', '--out', dir, '--split', 'val'], { from: 'user' });
    await expect(run).rejects.toThrow(FerError);
    await expect(
      setup().program.parseAsync(['evaluate', '--out', dir, '--split', 'private'], { from: 'user' }),
    ).rejects.toThrow(/no 'private' images; it has train \(7\), test \(14\)/);
    expect(model.disposed).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('rejects unknown TTA modes and engines', async () => {
    await expect(setup().program.parseAsync(['evaluate', '--tta-mode', 'zoom'], { from: 'user' })).rejects.toThrow();
    await expect(setup().program.parseAsync(['evaluate', '--engine', 'torch'], { from: 'user' })).rejects.toThrow();
  });

  it('finds the training history beside a model from fer train and draws its curves', async () => {
    const run = path.join(dir, 'run');
    fs.mkdirSync(path.join(run, 'best'), { recursive: true });
    fs.mkdirSync(path.join(run, 'last'), { recursive: true });
    const history = [
      { epoch: 1, trainLoss: 1.5, trainAcc: 0.4, valLoss: 1.4, valAcc: 0.45, lr: 1e-3, seconds: 10, imagesPerSecond: 100 },
      { epoch: 2, trainLoss: 1.2, trainAcc: 0.5, valLoss: 1.3, valAcc: 0.5, lr: 8e-4, seconds: 10, imagesPerSecond: 100 },
    ];
    expect(findHistory(path.join(run, 'best'))).toBeUndefined();
    fs.writeFileSync(path.join(run, 'last', 'state.json'), JSON.stringify({ epoch: 2, history }));
    expect(findHistory(path.join(run, 'best'))?.map((h) => h.epoch)).toEqual([1, 2]);
    fs.writeFileSync(path.join(run, 'history.json'), JSON.stringify(history.slice(0, 1)));
    expect(findHistory(run)).toHaveLength(1);
    fs.writeFileSync(path.join(run, 'history.json'), '{ broken');
    expect(findHistory(run)).toHaveLength(2); // falls back to last/state.json

    const { program } = setup();
    const out = path.join(dir, 'out');
    await program.parseAsync(['evaluate', '--model', run, '--out', out], { from: 'user' });
    expect((await sharp(path.join(out, 'training_curves.png')).metadata()).width).toBe(1200);
  });

  it('says how many unreadable files the loader skipped (stderr side, metrics.json, report), JSON stays one object', async () => {
    const logs: string[] = [];
    const out: string[] = [];
    const bad = [{ file: 'test/happy/x.jpg', reason: 'not a readable image' }, { file: 'train/sad/y.jpg', reason: 'empty file' }];
    const program = new Command('fer').exitOverride();
    register(program, {
      loadPredictor: async () => fakeModel(EMOTIONS),
      loadDataset: async () => ({ ...fakeData(), bad }),
      log: (l) => logs.push(l),
      print: (t) => out.push(t),
    });
    await program.parseAsync(['evaluate', '--out', dir, '--json'], { from: 'user' });
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0]).n).toBe(14);
    expect(logs).toEqual([expect.stringMatching(/^warning: 2 unreadable files in \/data\/fake skipped \(first: test\/happy\/x\.jpg: not a readable image\); `fer data \/data\/fake` lists them all/)]);
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.unreadable).toBe(2);
    expect(metrics.unreadableFiles).toEqual(bad);
    expect(fs.readFileSync(path.join(dir, 'report.txt'), 'utf8')).toContain('14 images (2 unreadable files skipped while loading)');
  });

  it('--out that is a file fails before the model is loaded; a class-set mismatch names model and data', async () => {
    const { program, seen } = setup();
    const file = path.join(dir, 'not-a-folder');
    fs.writeFileSync(file, 'x');
    await expect(program.parseAsync(['evaluate', '--out', file], { from: 'user' })).rejects.toThrow(/--out .*not-a-folder is a file, not a folder/);
    expect(seen.model).toBeUndefined();

    const eight = [...EMOTIONS, 'contempt'];
    const p2 = new Command('fer').exitOverride();
    const model = fakeModel(eight);
    register(p2, { loadPredictor: async () => model, loadDataset: async () => fakeData(), log: () => undefined, print: () => undefined });
    await expect(p2.parseAsync(['evaluate', '--model', 'ferplus8.onnx', '--data', 'fer2013.csv', '--out', path.join(dir, 'o')], { from: 'user' }))
      .rejects.toThrow(/^ferplus8\.onnx does not fit fer2013\.csv: the model predicts 8 classes/);
    expect(model.disposed).toBe(true);
    expect(fs.existsSync(path.join(dir, 'o'))).toBe(false);
  });

  it('names the default output folder after the model', () => {
    expect(defaultOutDir('checkpoints/fer-lab-default')).toBe(path.resolve('results', 'eval-fer-lab-default'));
    expect(defaultOutDir('runs/vgg/best')).toBe(path.resolve('results', 'eval-vgg'));
    expect(defaultOutDir('x/model.onnx')).toBe(path.resolve('results', 'eval-x'));
    expect(defaultOutDir('peers/human emotion.onnx')).toBe(path.resolve('results', 'eval-human_emotion'));
  });
});

/**
 * The --json contract in a real process: the built command (lib/dist) on data/sample with a real (untrained) model,
 * through the real loadPredictor (ONNX engine) and loadDataset. stdout must hold exactly one JSON object.
 */
const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);

// Until `fer evaluate` is listed in cli/main.ts this registers the built command on a fresh program, as main() does.
const SHIM =
  "const { Command } = require('commander');" +
  `const { register } = require(${JSON.stringify(path.join(ROOT, 'lib/dist/cli/evaluate.js'))});` +
  "const p = new Command('fer'); register(p);" +
  "p.parseAsync(process.argv.slice(1), { from: 'user' }).catch((e) => { console.error('fer: ' + e.message); process.exitCode = 1; });";

describe('fer evaluate --json (built, real model, data/sample)', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-eval-proc-'));
    await initBackend('cpu');
    const model = createModel('vgg-compact');
    await saveModelDir(model, path.join(tmp, 'tiny-model'), defaultMeta('vgg-compact', model));
    model.dispose();
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('prints exactly one JSON object with the contract and writes the result folder', async () => {
    const out = path.join(tmp, 'out');
    const { stdout } = await run(
      process.execPath,
      ['-e', SHIM, 'evaluate', '--model', path.join(tmp, 'tiny-model'), '--data', path.join(ROOT, 'data/sample'),
        '--json', '--tta', '--out', out],
      { cwd: ROOT, env: { ...process.env, FER_CACHE_DIR: path.join(tmp, 'cache') }, maxBuffer: 1 << 20 },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    expect(Object.keys(j)).toEqual(['accuracy', 'macroF1', 'n', 'perClass', 'confusion', 'tta']);
    expect(Object.keys(j.perClass)).toEqual([...EMOTIONS]);
    const n = j.n as number;
    expect(n).toBeGreaterThan(0);
    expect(Object.values(j.perClass as Record<string, { support: number }>).reduce((a, c) => a + c.support, 0)).toBe(n);
    expect(j.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(n);
    expect(j.accuracy).toBeGreaterThanOrEqual(0);
    expect(j.accuracy).toBeLessThanOrEqual(1);
    expect(Object.keys(j.tta)).toEqual(['accuracy', 'macroF1']);
    expect(fs.readdirSync(out).sort()).toEqual(
      ['confusion_matrix.png', 'metrics.json', 'mistakes.png', 'per_class.png', 'reliability.png', 'report.txt'],
    );
  });

  it('fails with a clear message for a model path that does not exist', async () => {
    await expect(
      run(process.execPath, ['-e', SHIM, 'evaluate', '--model', path.join(tmp, 'nope'), '--json'], { cwd: ROOT }),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('No model at') });
  });
});
