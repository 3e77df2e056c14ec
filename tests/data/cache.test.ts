import * as fs from 'fs';
import * as path from 'path';
import { datasetCacheFile, datasetCacheKey } from '../../lib/src/data/cache';
import { loadDataset } from '../../lib/src/data/load';
import { kaggleFiles, pattern, png, tmpDir, writeFiles, writeZip } from './fixtures';

describe('dataset cache', () => {
  test('round trip: second load comes from the cache and equals the first (incl. soft labels and bad files)', async () => {
    const cacheDir = tmpDir('fer-cache-');
    const files = {
      'FER2013Train/label.csv': 'fer0000000.png,"(0, 0, 48, 48)",6,4,0,0,0,0,0,0,0,0\nfer0000001.png,"(0, 0, 48, 48)",0,0,0,0,3,0,7,0,0,0\n',
      'FER2013Train/fer0000000.png': await png(pattern(1)),
      'FER2013Train/fer0000001.png': await png(pattern(2)),
      'FER2013Train/fer0000002.png': 'not an image',
    };
    const zip = writeZip(path.join(tmpDir(), 'ferplus.zip'), files);
    const opts = { cacheDir, ferplusLabels: 'soft' as const };
    const first = await loadDataset(zip, opts);
    const cached = fs.readdirSync(cacheDir);
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatch(/\.ferds$/);
    // A cache hit reports one 'decode' progress call and never a 'read' phase.
    const phases: string[] = [];
    const second = await loadDataset(zip, { ...opts, onProgress: (p) => phases.push(p) });
    expect(phases).toEqual(['decode']);
    expect(second).toEqual(first);
    expect(second.soft).toBeInstanceOf(Float32Array);
    expect(second.bad).toHaveLength(1);
    // Other options -> another cache entry.
    await loadDataset(zip, { cacheDir, ferplusLabels: 'majority' });
    expect(fs.readdirSync(cacheDir)).toHaveLength(2);
  });

  test('a changed source gets a new key; a folder key sees changes deep inside', async () => {
    const fx = await kaggleFiles(['train'], 1);
    const dir = writeFiles(tmpDir(), fx.files);
    const k1 = datasetCacheKey(dir, {});
    expect(datasetCacheKey(dir, {})).toBe(k1);
    expect(datasetCacheKey(dir, { wrongSize: 'skip' })).not.toBe(k1);
    fs.writeFileSync(path.join(dir, 'train/angry/img_0.png'), await png(pattern(99)));
    fs.utimesSync(path.join(dir, 'train/angry/img_0.png'), new Date(), new Date(Date.now() + 5000));
    expect(datasetCacheKey(dir, {})).not.toBe(k1);
  });

  test('a corrupt or truncated cache file is ignored and rebuilt', async () => {
    const cacheDir = tmpDir('fer-cache-');
    const fx = await kaggleFiles(['train'], 1);
    const dir = writeFiles(tmpDir(), fx.files);
    const first = await loadDataset(dir, { cacheDir });
    const file = datasetCacheFile(cacheDir, datasetCacheKey(dir, { format: null, ferplusLabels: 'majority', ferplusClasses: 7, wrongSize: 'resize' }));
    expect(fs.existsSync(file)).toBe(true);
    const good = fs.readFileSync(file);
    for (const damage of [
      (b: Buffer) => b.subarray(0, b.length - 100), // truncated
      (b: Buffer) => {
        const c = Buffer.from(b);
        c[c.length - 50] ^= 0xff; // a flipped pixel byte
        return c;
      },
      () => Buffer.from('garbage'),
    ]) {
      fs.writeFileSync(file, damage(good));
      const phases: string[] = [];
      const again = await loadDataset(dir, { cacheDir, onProgress: (p) => phases.push(p) });
      expect(phases).toContain('read'); // rebuilt from the source
      expect(Buffer.from(again.pixels).equals(Buffer.from(first.pixels))).toBe(true);
      expect(fs.readFileSync(file).equals(good)).toBe(true); // and rewritten
    }
  });

  test('cache: false neither reads nor writes the cache', async () => {
    const cacheDir = tmpDir('fer-cache-');
    const dir = writeFiles(tmpDir(), { 'test/happy/a.png': await png(pattern(5)) });
    await loadDataset(dir, { cacheDir, cache: false });
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  test('FER_CACHE_DIR is the default cache folder', async () => {
    const cacheDir = tmpDir('fer-cache-env-');
    const dir = writeFiles(tmpDir(), { 'test/happy/a.png': await png(pattern(6)) });
    const old = process.env.FER_CACHE_DIR;
    process.env.FER_CACHE_DIR = cacheDir;
    try {
      await loadDataset(dir);
    } finally {
      if (old === undefined) delete process.env.FER_CACHE_DIR;
      else process.env.FER_CACHE_DIR = old;
    }
    expect(fs.readdirSync(cacheDir)).toHaveLength(1);
  });
});
