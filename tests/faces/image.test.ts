import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { FerError } from '../../lib/src/errors';
import { letterbox, loadImage } from '../../lib/src/faces/image';
import { DEMO_PHOTOS, tmpDir } from '../apps/helpers';
import { pngClaiming } from '../data/fixtures';

describe('loadImage', () => {
  const dir = tmpDir('img');

  test('colour JPEG -> RGB bytes', async () => {
    const img = await loadImage(DEMO_PHOTOS[0]);
    expect([img.width, img.height]).toEqual([600, 600]);
    expect(img.data.length).toBe(600 * 600 * 3);
  });

  test('grayscale and RGBA inputs become RGB; alpha is flattened', async () => {
    const gray = await sharp({ create: { width: 8, height: 4, channels: 3, background: '#808080' } }).grayscale().png().toBuffer();
    const g = await loadImage(gray);
    expect(g.data.length).toBe(8 * 4 * 3);
    expect(g.data[0]).toBe(g.data[1]);
    const rgba = await sharp({ create: { width: 5, height: 5, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();
    const r = await loadImage(rgba);
    expect(Array.from(r.data.slice(0, 3))).toEqual([255, 0, 0]);
  });

  test('large images are downscaled to maxSide, keeping the aspect', async () => {
    const file = path.join(dir, 'wide.png');
    await sharp({ create: { width: 1000, height: 400, channels: 3, background: '#336699' } }).png().toFile(file);
    const img = await loadImage(file, { maxSide: 500 });
    expect([img.width, img.height, img.originalWidth, img.originalHeight]).toEqual([500, 200, 1000, 400]);
  });

  test('a header claiming 40000x40000 pixels is refused before decoding', async () => {
    const file = path.join(dir, 'bomb.png');
    fs.writeFileSync(file, pngClaiming(40000, 40000));
    const err = await loadImage(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerError);
    expect((err as Error).message).toMatch(/bomb\.png: image is larger than the 100 megapixel limit/);
    await expect(loadImage(DEMO_PHOTOS[0], { maxPixels: 100_000 })).rejects.toThrow(/larger than the 0.1 megapixel limit/);
  });

  test.each([
    ['missing file', (d: string) => path.join(d, 'nope.jpg'), /no such file/],
    ['empty file', (d: string) => (fs.writeFileSync(path.join(d, 'empty.jpg'), ''), path.join(d, 'empty.jpg')), /empty file/],
    ['text file', (d: string) => (fs.writeFileSync(path.join(d, 'notes.txt'), 'hello, not an image\n'), path.join(d, 'notes.txt')), /not an image/],
    ['corrupt JPEG', (d: string) => {
      const bytes = fs.readFileSync(DEMO_PHOTOS[0]);
      const bad = Buffer.concat([bytes.subarray(0, 400), Buffer.alloc(400, 0xff)]);
      fs.writeFileSync(path.join(d, 'corrupt.jpg'), bad);
      return path.join(d, 'corrupt.jpg');
    }, /corrupt|not an image/],
    ['a folder', (d: string) => d, /not a file/],
  ])('%s -> FerError naming the file', async (_name, make, message) => {
    const file = make(dir);
    const err = await loadImage(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(path.basename(file));
  });
});

test('letterbox keeps the aspect and centres the image on black', () => {
  const img = { data: new Uint8Array(200 * 100 * 3).fill(255), width: 200, height: 100 };
  const { data, box } = letterbox(img, 64);
  expect(box).toEqual({ size: 64, padX: 0, padY: 16, sx: 0.32, sy: 0.32 });
  expect(data[(5 * 64 + 32) * 3]).toBe(0); // padding row
  expect(data[(32 * 64 + 32) * 3]).toBe(255); // image row
});

test('letterbox shrinks by area averaging, enlarges smoothly, and reads regions', () => {
  // 4x2 image: left half black, right half white -> 2x1 (inside a 2x2 square): one black and one white pixel
  const data = new Uint8Array(4 * 2 * 3);
  for (let y = 0; y < 2; y++) for (let x = 2; x < 4; x++) data.fill(200, (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
  const img = { data, width: 4, height: 2 };
  const small = letterbox(img, 2);
  expect(small.box).toMatchObject({ padX: 0, padY: 0, sx: 0.5, sy: 0.5 });
  expect(Array.from(small.data.slice(0, 6))).toEqual([0, 0, 0, 200, 200, 200]);
  expect(Array.from(small.data.slice(6))).toEqual([0, 0, 0, 0, 0, 0]); // padding row
  const big = letterbox(img, 8); // 8x4 image inside 8x8, rows 2..5
  expect(big.data[(3 * 8 + 0) * 3]).toBe(0);
  expect(big.data[(3 * 8 + 7) * 3]).toBe(200);
  const mid = big.data[(3 * 8 + 4) * 3];
  expect(mid).toBeGreaterThan(0);
  expect(mid).toBeLessThan(200);
  const right = letterbox(img, 2, { left: 2, top: 0, width: 2, height: 2 });
  expect(Array.from(right.data)).toEqual(new Array(12).fill(200));
});
