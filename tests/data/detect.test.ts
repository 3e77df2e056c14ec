import * as fs from 'fs';
import * as path from 'path';
import { detectLayout } from '../../lib/src/data/detect';
import { loadDataset } from '../../lib/src/data/load';
import { formatFer2013Csv } from '../../lib/src/data/formats/csv';
import { FerError } from '../../lib/src/errors';
import { pattern, png, tmpDir, writeFiles, writeZip } from './fixtures';

describe('format detection', () => {
  let kaggleDir: string;
  let kaggleZip: string;
  let csvFile: string;
  let ferplusDir: string;
  let ferplusZip: string;
  beforeAll(async () => {
    const img = await png(pattern(1));
    kaggleDir = writeFiles(tmpDir(), { 'train/happy/a.png': img });
    kaggleZip = writeZip(path.join(tmpDir(), 'archive.zip'), { 'test/sad/a.png': img });
    csvFile = path.join(tmpDir(), 'fer2013.csv');
    fs.writeFileSync(csvFile, formatFer2013Csv([{ label: 0, pixels: pattern(2), split: 'train' }]));
    const ferplus = { 'FER2013Valid/label.csv': 'fer0000001.png,"(0, 0, 48, 48)",10,0,0,0,0,0,0,0,0,0\n', 'FER2013Valid/fer0000001.png': img };
    ferplusDir = writeFiles(tmpDir(), ferplus);
    ferplusZip = writeZip(path.join(tmpDir(), 'ferplus.zip'), ferplus);
  });

  test('each layout is recognised from the path', () => {
    expect(detectLayout(kaggleDir).format).toBe('kaggle-folder');
    expect(detectLayout(kaggleZip).format).toBe('kaggle-zip');
    expect(detectLayout(csvFile).format).toBe('fer2013-csv');
    expect(detectLayout(ferplusDir).format).toBe('ferplus');
    expect(detectLayout(ferplusZip).format).toBe('ferplus');
    // A single FER+ split folder, and a folder holding one fer2013.csv.
    expect(detectLayout(path.join(ferplusDir, 'FER2013Valid')).format).toBe('ferplus');
    const d = detectLayout(path.dirname(csvFile));
    expect(d.format).toBe('fer2013-csv');
    expect(d.file).toBe(csvFile);
  });

  test('a fer2013.csv with another extension is still found by its header', () => {
    const other = path.join(tmpDir(), 'faces.txt');
    fs.copyFileSync(csvFile, other);
    expect(detectLayout(other).format).toBe('fer2013-csv');
  });

  test('options.format overrides detection', async () => {
    // Forcing FER+ on a Kaggle zip reads no FER+ labels: nothing usable, so a FerError rather than Kaggle data.
    await expect(loadDataset(kaggleZip, { cache: false, format: 'ferplus' })).rejects.toThrow(FerError);
    const ds = await loadDataset(kaggleZip, { cache: false, format: 'kaggle' });
    expect(ds.format).toBe('kaggle-zip');
    expect(ds.split).toEqual(['test']);
  });
});
