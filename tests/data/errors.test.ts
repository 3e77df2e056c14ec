import * as fs from 'fs';
import * as path from 'path';
import { loadDataset } from '../../lib/src/data/load';
import { FerError } from '../../lib/src/errors';
import { indexOf, jpg, pattern, png, pngClaiming, tmpDir, writeFiles, writeZip } from './fixtures';

const noCache = { cache: false } as const;

async function ferError(p: Promise<unknown>): Promise<FerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FerError) return err;
    throw err;
  }
  throw new Error('expected a FerError');
}

describe('bad input', () => {
  test('missing path: FerError naming it', async () => {
    const missing = path.join(tmpDir(), 'nope.zip');
    const err = await ferError(loadDataset(missing, noCache));
    expect(err.message).toContain(missing);
    expect(err.message).toMatch(/does not exist/);
    expect(err.file).toBe(missing);
  });

  test('empty folder: FerError', async () => {
    const dir = tmpDir();
    const err = await ferError(loadDataset(dir, noCache));
    expect(err.message).toContain(dir);
    expect(err.message).toMatch(/empty folder/);
  });

  test('unknown layout: FerError listing the accepted layouts', async () => {
    const dir = writeFiles(tmpDir(), { 'photos/a.png': await png(pattern(1)), 'notes.txt': 'hello' });
    const err = await ferError(loadDataset(dir, noCache));
    expect(err.message).toContain(dir);
    expect(err.message).toMatch(/no known dataset layout/);
    expect(err.message).toMatch(/train\/<class>/);
    expect(err.message).toMatch(/fer2013\.csv/);
    expect(err.message).toMatch(/FER2013Train/);
    const zip = writeZip(path.join(tmpDir(), 'x.zip'), { 'a/b.txt': 'x' });
    expect((await ferError(loadDataset(zip, noCache))).message).toMatch(/no known dataset layout/);
    const other = path.join(tmpDir(), 'model.bin');
    fs.writeFileSync(other, Buffer.alloc(10));
    expect((await ferError(loadDataset(other, noCache))).message).toMatch(/neither a \.zip nor a fer2013\.csv/);
  });

  test('FER+ folders without label.csv: FerError saying so', async () => {
    const dir = writeFiles(tmpDir(), { 'FER2013Train/fer0000000.png': await png(pattern(1)) });
    const err = await ferError(loadDataset(dir, noCache));
    expect(err.message).toContain(dir);
    expect(err.message).toMatch(/FER2013Train has no label\.csv/);
  });

  test('a damaged zip: FerError naming it', async () => {
    const file = path.join(tmpDir(), 'broken.zip');
    fs.writeFileSync(file, Buffer.from('PK\x03\x04 this is not really a zip'));
    const err = await ferError(loadDataset(file, noCache));
    expect(err.message).toContain(file);
  });

  test('corrupt and non-image files are skipped and counted; loading goes on', async () => {
    const good = await png(pattern(3));
    const dir = writeFiles(tmpDir(), {
      'train/happy/good.png': good,
      'train/happy/truncated.png': good.subarray(0, 40),
      'train/sad/text.jpg': 'this is not a jpeg',
      'train/sad/readme.txt': 'notes',
      'train/sad/empty.png': new Uint8Array(0),
      'train/unknown_class/x.png': good,
    });
    const ds = await loadDataset(dir, noCache);
    expect(ds.files).toEqual(['train/happy/good.png']);
    const bad = Object.fromEntries(ds.bad.map((b) => [b.file, b.reason]));
    expect(Object.keys(bad).sort()).toEqual(
      ['train/happy/truncated.png', 'train/sad/empty.png', 'train/sad/readme.txt', 'train/sad/text.jpg', 'train/unknown_class/x.png'],
    );
    expect(bad['train/sad/text.jpg']).toMatch(/not a readable image/);
    expect(bad['train/sad/readme.txt']).toMatch(/not an image/);
    expect(bad['train/unknown_class/x.png']).toMatch(/not one of angry/);
    expect(bad['train/sad/empty.png']).toMatch(/empty/);
  });

  test('a folder with only bad files is an error naming the folder and a bad file', async () => {
    const dir = writeFiles(tmpDir(), { 'train/happy/a.jpg': 'garbage', 'test/sad/b.png': 'more garbage' });
    const err = await ferError(loadDataset(dir, noCache));
    expect(err.message).toContain(dir);
    expect(err.message).toMatch(/no usable images/);
    expect(err.message).toContain('train/happy/a.jpg');
  });

  test('CSV bad rows are skipped and counted with their line number', async () => {
    const px = Array.from(pattern(1)).join(' ');
    const file = path.join(tmpDir(), 'fer2013.csv');
    fs.writeFileSync(
      file,
      [
        'emotion,pixels,Usage',
        `0,${px},Training`, // line 2 ok
        `9,${px},Training`, // line 3: bad code
        `1,1 2 3,PublicTest`, // line 4: too few pixels
        `2,${px},Somewhere`, // line 5: bad usage
        `3,${px.replace(/^\d+/, '300')},Training`, // line 6: value > 255
        `4`, // line 7: missing fields
        `5,${px},PrivateTest`, // line 8 ok
        '',
      ].join('\n'),
    );
    const ds = await loadDataset(file, noCache);
    expect(ds.files).toEqual(['fer2013.csv:2', 'fer2013.csv:8']);
    expect(ds.bad.map((b) => b.file)).toEqual(['fer2013.csv:3', 'fer2013.csv:4', 'fer2013.csv:5', 'fer2013.csv:6', 'fer2013.csv:7']);
    expect(ds.bad[1].reason).toMatch(/3 values; expected 2304/);
  });

  test('a CSV without the fer2013 header: FerError naming the file', async () => {
    const file = path.join(tmpDir(), 'fer2013.csv');
    fs.writeFileSync(file, 'a,b,c\n1,2,3\n');
    const err = await ferError(loadDataset(file, { ...noCache, format: 'fer2013-csv' }));
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/emotion,pixels/);
  });

  test('wrong-size image: resized with a warning by default, skipped with wrongSize=skip', async () => {
    const big = new Uint8Array(96 * 96).map((_, i) => (i % 96) * 2);
    const dir = writeFiles(tmpDir(), { 'train/angry/big.jpg': await jpg(big, 96), 'train/angry/ok.png': await png(pattern(4)) });
    const ds = await loadDataset(dir, noCache);
    expect(ds.size).toBe(2);
    expect(ds.warnings).toEqual([{ file: 'train/angry/big.jpg', reason: expect.stringMatching(/was 96x96, resized to 48x48/) }]);
    const i = indexOf(ds, 'train/angry/big.jpg');
    // A horizontal ramp stays a ramp after resizing: left dark, right bright.
    expect(ds.pixels[i * 2304 + 24 * 48 + 2]).toBeLessThan(ds.pixels[i * 2304 + 24 * 48 + 45]);
    const skipped = await loadDataset(dir, { ...noCache, wrongSize: 'skip' });
    expect(skipped.files).toEqual(['train/angry/ok.png']);
    expect(skipped.bad).toEqual([{ file: 'train/angry/big.jpg', reason: 'image is 96x96, expected 48x48' }]);
  });

  test('a huge image header (decompression bomb) is refused without decoding, named, and loading goes on', async () => {
    const bomb = pngClaiming(60000, 60000); // decoding it would need 3.6 GB
    const dir = writeFiles(tmpDir(), { 'train/angry/bomb.png': new Uint8Array(bomb), 'train/angry/ok.png': await png(pattern(4)) });
    const ds = await loadDataset(dir, noCache);
    expect(ds.files).toEqual(['train/angry/ok.png']);
    expect(ds.bad).toEqual([{ file: 'train/angry/bomb.png', reason: expect.stringMatching(/^image is 60000x60000, more pixels than 8192x8192: refused unread/) }]);
  });

  test('FER+: label rows without images and images without rows are counted as bad', async () => {
    const dir = writeFiles(tmpDir(), {
      'FER2013Train/label.csv': 'fer0000000.png,"(0, 0, 48, 48)",10,0,0,0,0,0,0,0,0,0\nfer0000009.png,"(0, 0, 48, 48)",10,0,0,0,0,0,0,0,0,0\nbroken row\n',
      'FER2013Train/fer0000000.png': await png(pattern(1)),
      'FER2013Train/fer0000005.png': await png(pattern(2)),
    });
    const ds = await loadDataset(dir, noCache);
    expect(ds.files).toEqual(['FER2013Train/fer0000000.png']);
    expect(ds.bad.map((b) => b.file).sort()).toEqual(['FER2013Train/fer0000005.png', 'FER2013Train/fer0000009.png', 'FER2013Train/label.csv:3']);
  });
});
