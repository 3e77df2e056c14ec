import * as fs from 'fs';
import * as path from 'path';
import { EMOTIONS, EMOTIONS_FERPLUS8 } from '../../lib/src/emotions';
import { imageAt, classCounts } from '../../lib/src/data/dataset';
import { loadDataset } from '../../lib/src/data/load';
import { formatFer2013Csv, FER2013_CODE_TO_LABEL } from '../../lib/src/data/formats/csv';
import { ferplusLabel } from '../../lib/src/data/formats/ferplus';
import { flat, indexOf, jpg, kaggleFiles, pattern, png, tmpDir, writeFiles, writeZip } from './fixtures';

const noCache = { cache: false } as const;

describe('Kaggle layout', () => {
  test('folder: every image with its split, class and exact pixels; same name in two class folders kept apart', async () => {
    const fx = await kaggleFiles();
    const root = writeFiles(tmpDir(), fx.files);
    const ds = await loadDataset(root, noCache);
    expect(ds.format).toBe('kaggle-folder');
    expect(ds.size).toBe(fx.images.size);
    expect(ds.classes).toEqual(EMOTIONS);
    for (const [rel, want] of fx.images) {
      const i = indexOf(ds, rel);
      expect(ds.labels[i]).toBe(want.label);
      expect(ds.split[i]).toBe(want.split);
      expect(Buffer.from(imageAt(ds, i)).equals(Buffer.from(want.pixels))).toBe(true);
    }
    const happy = indexOf(ds, 'train/happy/dup.png');
    const sad = indexOf(ds, 'train/sad/dup.png');
    expect(ds.labels[happy]).toBe(EMOTIONS.indexOf('happy'));
    expect(ds.labels[sad]).toBe(EMOTIONS.indexOf('sad'));
    expect(Buffer.from(imageAt(ds, happy)).equals(Buffer.from(imageAt(ds, sad)))).toBe(false);
  });

  test('folder with only test/ (train missing) and JPEG files', async () => {
    const root = tmpDir();
    const pixels = pattern(7);
    writeFiles(root, { 'test/fear/a.jpg': await jpg(pixels), 'test/surprise/b.jpg': await jpg(pattern(8)) });
    const ds = await loadDataset(root, noCache);
    expect(ds.size).toBe(2);
    expect(new Set(ds.split)).toEqual(new Set(['test']));
    const i = indexOf(ds, 'test/fear/a.jpg');
    expect(ds.labels[i]).toBe(EMOTIONS.indexOf('fear'));
    // JPEG is lossy: close to the source, not equal.
    const got = imageAt(ds, i);
    let maxDiff = 0;
    for (let k = 0; k < got.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k] - pixels[k]));
    expect(maxDiff).toBeLessThan(12);
  });

  test('zip read directly (with a leading folder) gives the same dataset as the folder', async () => {
    const fx = await kaggleFiles(['train']);
    const zipped: Record<string, Uint8Array> = {};
    for (const [rel, data] of Object.entries(fx.files)) zipped[`archive/${rel}`] = data;
    zipped['archive/README.txt'] = Buffer.from('not part of the layout');
    const zip = writeZip(path.join(tmpDir(), 'fer.zip'), zipped);
    const fromZip = await loadDataset(zip, noCache);
    const fromDir = await loadDataset(writeFiles(tmpDir(), fx.files), noCache);
    expect(fromZip.format).toBe('kaggle-zip');
    expect(fromZip.size).toBe(fromDir.size);
    expect(fromZip.files.map((f) => f.replace(/^archive\//, ''))).toEqual(fromDir.files);
    expect(Buffer.from(fromZip.pixels).equals(Buffer.from(fromDir.pixels))).toBe(true);
    expect(Array.from(fromZip.labels)).toEqual(Array.from(fromDir.labels));
    expect(fromZip.bad).toEqual([]);
  });
});

describe('fer2013.csv', () => {
  test('codes map onto EMOTIONS (4 = sad, 6 = neutral) and Usage onto splits', async () => {
    const rows = [
      { label: EMOTIONS.indexOf('sad'), pixels: pattern(1), split: 'train' as const },
      { label: EMOTIONS.indexOf('neutral'), pixels: pattern(2), split: 'test' as const },
      { label: EMOTIONS.indexOf('surprise'), pixels: pattern(3), split: 'private' as const },
      { label: EMOTIONS.indexOf('angry'), pixels: flat(0), split: 'train' as const },
    ];
    const text = formatFer2013Csv(rows);
    // The original file's codes: Sad is 4, Neutral is 6, Surprise is 5.
    expect(text.split('\n').slice(1, 4).map((l) => l.split(',')[0])).toEqual(['4', '6', '5']);
    expect(FER2013_CODE_TO_LABEL[4]).toBe(EMOTIONS.indexOf('sad'));
    const file = path.join(tmpDir(), 'fer2013.csv');
    fs.writeFileSync(file, text.replace(/\n/g, '\r\n'));
    const ds = await loadDataset(file, noCache);
    expect(ds.format).toBe('fer2013-csv');
    expect(ds.size).toBe(4);
    expect(ds.split).toEqual(['train', 'test', 'private', 'train']);
    expect(Array.from(ds.labels)).toEqual(rows.map((r) => r.label));
    expect(Buffer.from(imageAt(ds, 2)).equals(Buffer.from(pattern(3)))).toBe(true);
    expect(ds.files[0]).toBe('fer2013.csv:2');
  });

  test('without a Usage column every row is train', async () => {
    const file = path.join(tmpDir(), 'train.csv');
    fs.writeFileSync(file, `emotion,pixels\n3,"${Array.from(pattern(5)).join(' ')}"\n`);
    const ds = await loadDataset(file, noCache);
    expect(ds.split).toEqual(['train']);
    expect(ds.labels[0]).toBe(EMOTIONS.indexOf('happy'));
  });
});

describe('FER+', () => {
  // vote order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, not-a-face
  test('majority rule: plurality wins; ties, unknown/not-a-face and (7-class) contempt majorities are dropped', () => {
    expect(ferplusLabel([6, 2, 0, 0, 0, 0, 0, 0, 2, 0], 7, 'majority')).toEqual({ label: EMOTIONS.indexOf('neutral') });
    expect(ferplusLabel([0, 0, 0, 0, 7, 3, 0, 0, 0, 0], 7, 'majority')).toEqual({ label: EMOTIONS.indexOf('angry') });
    expect(ferplusLabel([4, 4, 0, 0, 0, 0, 0, 0, 2, 0], 7, 'majority')).toEqual({ drop: 'tied majority' });
    expect(ferplusLabel([1, 0, 0, 0, 0, 0, 0, 0, 2, 7], 7, 'majority')).toEqual({ drop: 'unknown/not-a-face majority' });
    expect(ferplusLabel([2, 0, 0, 0, 0, 0, 0, 6, 2, 0], 7, 'majority')).toEqual({ drop: 'contempt majority (7-class)' });
    expect(ferplusLabel([2, 0, 0, 0, 0, 0, 0, 6, 2, 0], 8, 'majority')).toEqual({ label: EMOTIONS_FERPLUS8.indexOf('contempt') });
  });

  test('soft rule: distribution over kept classes in EMOTIONS order', () => {
    const v = ferplusLabel([5, 3, 0, 0, 0, 0, 0, 1, 1, 0], 7, 'soft');
    if (!('soft' in v) || !v.soft) throw new Error('expected soft');
    expect(v.label).toBe(EMOTIONS.indexOf('neutral'));
    expect(v.soft[EMOTIONS.indexOf('neutral')]).toBeCloseTo(5 / 8);
    expect(v.soft[EMOTIONS.indexOf('happy')]).toBeCloseTo(3 / 8);
    expect(Array.from(v.soft).reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(ferplusLabel([1, 0, 0, 0, 0, 0, 0, 0, 0, 9], 7, 'soft')).toEqual({ drop: 'unknown/not-a-face majority' });
    // A tie is kept in soft mode (label = first in EMOTIONS order: happy before neutral).
    const tie = ferplusLabel([4, 4, 0, 0, 0, 0, 0, 0, 2, 0], 8, 'soft');
    expect('label' in tie && tie.label).toBe(EMOTIONS.indexOf('happy'));
  });

  async function ferplusFiles(): Promise<Record<string, Uint8Array | string>> {
    const files: Record<string, Uint8Array | string> = {};
    const rows = (votes: number[][], start: number): string =>
      votes.map((v, k) => `fer${String(start + k).padStart(7, '0')}.png,"(0, 0, 48, 48)",${v.join(',')}`).join('\n') + '\n';
    const train = [
      [8, 1, 0, 0, 0, 0, 0, 0, 1, 0], // neutral
      [0, 9, 0, 0, 0, 0, 0, 0, 1, 0], // happy
      [0, 0, 0, 0, 0, 0, 0, 7, 3, 0], // contempt: dropped in 7-class
      [5, 5, 0, 0, 0, 0, 0, 0, 0, 0], // tie: dropped
    ];
    const valid = [[0, 0, 6, 0, 0, 0, 4, 0, 0, 0]]; // surprise
    files['FER2013Train/label.csv'] = rows(train, 0);
    files['FER2013Valid/label.csv'] = rows(valid, 100);
    for (let k = 0; k < train.length; k++) files[`FER2013Train/fer${String(k).padStart(7, '0')}.png`] = await png(pattern(k));
    files['FER2013Valid/fer0000100.png'] = await png(pattern(100));
    return files;
  }

  test('folders: majority 7-class, splits Train->train, Valid->val, dropped counted', async () => {
    const root = writeFiles(tmpDir(), await ferplusFiles());
    const ds = await loadDataset(root, noCache);
    expect(ds.format).toBe('ferplus');
    expect(ds.classes).toEqual(EMOTIONS);
    expect(ds.files).toEqual(['FER2013Train/fer0000000.png', 'FER2013Train/fer0000001.png', 'FER2013Valid/fer0000100.png']);
    expect(Array.from(ds.labels)).toEqual([EMOTIONS.indexOf('neutral'), EMOTIONS.indexOf('happy'), EMOTIONS.indexOf('surprise')]);
    expect(ds.split).toEqual(['train', 'train', 'val']);
    expect(ds.soft).toBeUndefined();
    expect(ds.dropped).toEqual({ 'ferplus: contempt majority (7-class)': 1, 'ferplus: tied majority': 1 });
  });

  test('zip: 8-class soft labels', async () => {
    const zip = writeZip(path.join(tmpDir(), 'ferplus.zip'), await ferplusFiles());
    const ds = await loadDataset(zip, { ...noCache, ferplusLabels: 'soft', ferplusClasses: 8 });
    expect(ds.classes).toEqual(EMOTIONS_FERPLUS8);
    expect(ds.size).toBe(5);
    expect(ds.soft).toBeDefined();
    const c = ds.classes.length;
    const contempt = indexOf(ds, 'FER2013Train/fer0000002.png');
    expect(ds.labels[contempt]).toBe(7);
    expect(ds.soft?.[contempt * c + 7]).toBeCloseTo(1);
    const surprise = indexOf(ds, 'FER2013Valid/fer0000100.png');
    expect(ds.soft?.[surprise * c + EMOTIONS.indexOf('surprise')]).toBeCloseTo(0.6);
    expect(ds.soft?.[surprise * c + EMOTIONS.indexOf('fear')]).toBeCloseTo(0.4);
    expect(classCounts(ds)[7]).toBe(1);
  });
});
