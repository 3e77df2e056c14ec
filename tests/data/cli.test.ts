/** `fer data` through the built CLI (lib/dist, lib/bin/fer.js) in a child process, on the shipped data/sample. */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { EMOTIONS } from '../../lib/src/emotions';
import { formatFer2013Csv, imageAt, loadDataset } from '../../lib/src/data';
import { tmpDir } from './fixtures';

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
