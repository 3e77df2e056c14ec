/**
 * scripts/ship-model.js --model: a weight average ships with its members, the runs behind them and the commands that
 * rebuild it in the card, and soup.json instead of a run's history.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { Command } from 'commander';
import { register } from '../../lib/src/cli/train';
import { formatFer2013Csv } from '../../lib/src/data';
import { averageModelFolders } from '../../lib/src/train/average';
import { syntheticDataset, tmpDir } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);

async function train(args: string[]): Promise<void> {
  const program = new Command('fer').exitOverride();
  register(program);
  const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await program.parseAsync(['node', 'fer', 'train', ...args]);
  } finally {
    spy.mockRestore();
  }
}

const shipModel = (args: string[]) =>
  run(process.execPath, [path.join(ROOT, 'scripts', 'ship-model.js'), ...args], { cwd: ROOT, maxBuffer: 64 << 20 });

describe('ship-model --model (a soup)', () => {
  const dir = tmpDir('fer-ship-soup-');
  const csv = path.join(dir, 'fer2013.csv');
  const parent = path.join(dir, 'parent');
  const child = path.join(dir, 'child');
  const soup = path.join(dir, 'soup');
  beforeAll(async () => {
    process.env.FER_CACHE_DIR = path.join(dir, 'cache');
    const ds = syntheticDataset(7, 8, 0, 5);
    const rows = Array.from({ length: ds.size }, (_, i) => ({
      label: ds.labels[i], pixels: ds.pixels.subarray(i * 2304, (i + 1) * 2304), split: (i % 4 === 3 ? 'test' : 'train') as 'test' | 'train',
    }));
    fs.writeFileSync(csv, formatFer2013Csv(rows));
    const common = ['--data', csv, '--backend', 'wasm', '--arch', 'vgg-small', '--epochs', '1', '--batch-size', '8', '--val-fraction', '0.25'];
    await train([...common, '--out', parent]);
    await train([...common, '--out', child, '--init', path.join(parent, 'best')]);
    await averageModelFolders([parent, child], soup);
  }, 300_000);

  test('writes soup.json and a card naming the members, the runs behind them and the commands', async () => {
    const out = path.join(dir, 'shipped');
    const results = path.join(dir, 'results');
    await shipModel(['--model', soup, '--run', child, '--data', csv, '--out', out, '--results', results]);
    const files = fs.readdirSync(out).sort();
    expect(files).toEqual(['MODEL_CARD.md', 'model.onnx', 'soup.json', 'tfjs']);
    const info = JSON.parse(fs.readFileSync(path.join(out, 'soup.json'), 'utf8'));
    expect(info.members).toEqual([parent, child]);
    const card = fs.readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8');
    expect(card).toMatch(/the mean of the weights of 2 models/);
    // the parent is both a member and the child's start: listed once among the runs behind the soup
    expect(card.split(`--out ${path.relative(ROOT, parent)}\n`)).toHaveLength(2);
    expect(card).toContain(`node scripts/average-weights.js --out ${path.relative(ROOT, soup)}`);
    expect(card).toContain(`node scripts/ship-model.js --model ${path.relative(ROOT, soup)} --run ${path.relative(ROOT, child)}`);
    const evaluation = JSON.parse(fs.readFileSync(path.join(results, 'publictest.json'), 'utf8'));
    expect(evaluation.command).toContain('--model');
    expect(evaluation.n).toBe(14);
  }, 300_000);

  test("a soup of one run's epoch snapshots (--snapshots-from) ships with that run behind it", async () => {
    const swaRun = path.join(dir, 'swa-run');
    await train(['--data', csv, '--backend', 'wasm', '--arch', 'vgg-small', '--epochs', '2', '--batch-size', '8', '--val-fraction', '0.25', '--snapshots-from', '1', '--out', swaRun]);
    const snapshots = ['epoch-01', 'epoch-02'].map((e) => path.join(swaRun, 'snapshots', e));
    const swa = path.join(dir, 'swa-soup');
    await averageModelFolders(snapshots, swa);
    const out = path.join(dir, 'swa-shipped');
    await shipModel(['--model', swa, '--run', swaRun, '--data', csv, '--out', out, '--results', path.join(dir, 'swa-results')]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'soup.json'), 'utf8')).members).toEqual(snapshots);
    const card = fs.readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8');
    // both members come from swa-run: its training command appears once
    expect(card.split(`--out ${path.relative(ROOT, swaRun)}\n`)).toHaveLength(2);
    expect(card).toMatch(/the mean of the weights of 2 epochs of one run \(stochastic weight averaging/);
    expect(card).toContain(path.join('swa-run', 'snapshots', 'epoch-02'));
    expect(card).toContain('The epoch snapshots (`<run>/snapshots/`, kept by `--snapshots-from`)');
  }, 300_000);

  test("a run's best/ is not a soup, and a soup has no recipe", async () => {
    const out = path.join(dir, 'not-shipped');
    await expect(shipModel(['--model', path.join(child, 'best'), '--run', child, '--data', csv, '--out', out]))
      .rejects.toThrow(/lists no averagedFrom/);
    await expect(shipModel(['--model', soup, '--run', child, '--data', csv, '--out', out, '--recipe', csv]))
      .rejects.toThrow(/a --model soup has neither/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a member trained on another split is refused before anything is written', async () => {
    const other = path.join(dir, 'other-split');
    await train(['--data', csv, '--backend', 'wasm', '--arch', 'vgg-small', '--epochs', '1', '--batch-size', '8', '--val-fraction', '0.5', '--out', other, '--init', path.join(parent, 'best')]);
    const mixed = path.join(dir, 'mixed-soup');
    await averageModelFolders([child, other], mixed);
    const out = path.join(dir, 'mixed-shipped');
    await expect(shipModel(['--model', mixed, '--run', child, '--data', csv, '--out', out]))
      .rejects.toThrow(/other-split \(behind .*\) trained on another split/);
    expect(fs.existsSync(out)).toBe(false);
  }, 120_000);
});
