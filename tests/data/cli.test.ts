/** `fer data` through the built CLI (lib/dist, lib/bin/fer.js) in a child process, on the shipped data/sample. */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { EMOTIONS } from '../../lib/src/emotions';
import { formatFer2013Csv, imageAt, loadDataset } from '../../lib/src/data';
import { pattern, png, tmpDir, writeFiles } from './fixtures';

const root = path.resolve(__dirname, '..', '..');
const cacheDir = tmpDir('fer-cli-cache-');

function fer(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'lib', 'bin', 'fer.js'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, FER_CACHE_DIR: cacheDir },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', 'lib'], { cwd: root, stdio: 'pipe' });
});

test('fer data --json on data/sample (the default path): exactly one JSON object with the sample counts', () => {
  const r = fer('data', '--json');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const out = JSON.parse(lines[0]);
  expect(Object.keys(out)).toEqual(['format', 'splits', 'audit']);
  expect(out.format).toBe('kaggle-folder');
  expect(Object.keys(out.splits)).toEqual(['train', 'test']);
  expect(out.splits.train).toEqual(Object.fromEntries(EMOTIONS.map((e) => [e, 70])));
  expect(out.splits.test).toEqual(Object.fromEntries(EMOTIONS.map((e) => [e, 20])));
  expect(Object.keys(out.audit)).toEqual(['duplicates', 'crossSplitDuplicates', 'conflictingLabels', 'blank', 'unreadable']);
  expect(out.audit.unreadable).toBe(0);
  // Second run (cached) prints the same.
  expect(fer('data', 'data/sample', '--json').stdout).toBe(r.stdout);
});

test('fer data prints a readable summary; a missing path fails with a message naming it', () => {
  const r = fer('data', 'data/sample');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/format: kaggle-folder, 630 images/);
  expect(r.stdout).toMatch(/surprise\s+70\s+20/);
  expect(r.stdout).toMatch(/duplicates/);
  const bad = fer('data', 'no/such/dir', '--json');
  expect(bad.status).not.toBe(0);
  expect(bad.stdout).toBe('');
  expect(bad.stderr).toMatch(/no\/such\/dir does not exist/);
});

test('a fer2013.csv made from the sample reads back with the same labels, splits and pixels', async () => {
  const sample = await loadDataset(path.join(root, 'data', 'sample'), { cache: false });
  const rows = Array.from({ length: sample.size }, (_, i) => ({ label: sample.labels[i], pixels: imageAt(sample, i), split: sample.split[i] }));
  const file = path.join(tmpDir(), 'fer2013.csv');
  fs.writeFileSync(file, formatFer2013Csv(rows));
  const r = fer('data', file, '--json');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.format).toBe('fer2013-csv');
  expect(out.splits.train.disgust).toBe(70);
  expect(out.splits.test.neutral).toBe(20);
  const csv = await loadDataset(file, { cache: false });
  expect(Buffer.from(csv.pixels).equals(Buffer.from(sample.pixels))).toBe(true);
  expect(Array.from(csv.labels)).toEqual(Array.from(sample.labels));
});

test('the built lib decodes large sets on worker threads with the same result as in-thread decoding', async () => {
  // 2,100 images: above the worker threshold (2,000); 7 distinct PNGs, copied, keep fixture making quick.
  const files: Record<string, Uint8Array> = {};
  const pngs = await Promise.all(EMOTIONS.map((_, c) => png(pattern(c))));
  for (let k = 0; k < 2100; k++) files[`train/${EMOTIONS[k % 7]}/${k}.png`] = pngs[k % 7];
  files['train/angry/broken.png'] = Buffer.from('not a png');
  const dir = writeFiles(tmpDir(), files);
  // Count Worker constructions (load.js calls worker_threads.Worker at run time) to prove the worker path ran.
  const script = `
    const wt = require('worker_threads');
    const Real = wt.Worker;
    let started = 0;
    wt.Worker = class extends Real { constructor(...a) { super(...a); started++; } };
    const d = require(${JSON.stringify(path.join(root, 'lib', 'dist', 'data'))});
    (async () => {
      const a = await d.loadDataset(process.argv[1], { cache: false, workers: 2 });
      const withWorkers = started;
      const b = await d.loadDataset(process.argv[1], { cache: false, workers: 0 });
      console.log(JSON.stringify({ withWorkers, without: started - withWorkers, size: a.size, bad: a.bad.map((x) => x.file), same: Buffer.from(a.pixels).equals(Buffer.from(b.pixels)),
        files: a.files.join() === b.files.join(), first: Array.from(a.pixels.subarray(0, 4)) }));
    })();`;
  const r = spawnSync(process.execPath, ['-e', script, dir], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout);
  expect(out).toEqual({ withWorkers: 2, without: 0, size: 2100, bad: ['train/angry/broken.png'], same: true, files: true, first: Array.from(pattern(0).subarray(0, 4)) });
});
