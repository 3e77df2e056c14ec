import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { FerError } from '../../lib/src/errors';
import { createDetector, FaceDetector } from '../../lib/src/faces/detector';
import { tileRegions } from '../../lib/src/faces/blazeface';
import { hasOpenCv } from '../../lib/src/faces/opencv';
import { loadImage } from '../../lib/src/faces/image';
import type { Face } from '../../lib/src/faces/types';
import { DEMO_DIR, DEMO_PHOTOS, GROUP_PHOTO, tmpDir } from '../apps/helpers';

let detector: FaceDetector;
beforeAll(async () => {
  detector = await createDetector('blazeface');
});
afterAll(() => detector.dispose());

/** A plausible face in a 600x600 head-and-shoulders portrait: central, 25-55% of the width, eyes inside the upper box. */
function expectPortraitFace(face: Face, width: number, height: number): void {
  const cx = face.box.x + face.box.width / 2;
  const cy = face.box.y + face.box.height / 2;
  expect(cx / width).toBeGreaterThan(0.35);
  expect(cx / width).toBeLessThan(0.65);
  expect(cy / height).toBeGreaterThan(0.35);
  expect(cy / height).toBeLessThan(0.8);
  expect(face.box.width / width).toBeGreaterThan(0.25);
  expect(face.box.width / width).toBeLessThan(0.55);
  expect(face.score).toBeGreaterThan(0.7);
  const [e1, e2] = face.landmarks!;
  for (const e of [e1, e2]) {
    expect(e.x).toBeGreaterThan(face.box.x);
    expect(e.x).toBeLessThan(face.box.x + face.box.width);
    expect(e.y).toBeGreaterThan(face.box.y);
    expect(e.y).toBeLessThan(cy);
  }
  expect(Math.abs(e1.y - e2.y)).toBeLessThan(face.box.height * 0.15); // upright portraits: eyes about level
}

describe('blazeface on the demo photos', () => {
  test.each(DEMO_PHOTOS.map((f) => [path.basename(f), f]))('%s: exactly one face, in a plausible place', async (_n, file) => {
    const image = await loadImage(file);
    const faces = await detector.detect(image);
    expect(faces).toHaveLength(1);
    expectPortraitFace(faces[0], image.width, image.height);
  });

  test('group image: every pasted face found once, none extra, small ones too', async () => {
    const layout = JSON.parse(fs.readFileSync(path.join(DEMO_DIR, '..', 'group.json'), 'utf8')) as {
      photos: { size: number; left: number; top: number }[];
    };
    const faces = await detector.detect(await loadImage(GROUP_PHOTO));
    expect(faces).toHaveLength(layout.photos.length);
    for (const p of layout.photos) {
      const inside = faces.filter((f) => {
        const cx = f.box.x + f.box.width / 2;
        const cy = f.box.y + f.box.height / 2;
        return cx > p.left && cx < p.left + p.size && cy > p.top && cy < p.top + p.size;
      });
      expect(inside).toHaveLength(1);
      expect(inside[0].box.width / p.size).toBeGreaterThan(0.2);
      expect(inside[0].box.width / p.size).toBeLessThan(0.6);
    }
    expect(Math.min(...layout.photos.map((p) => p.size))).toBeLessThanOrEqual(100); // a face of ~35 px is among them
  });

  test('without tiling the single pass misses the smallest faces (what tiling is for)', async () => {
    const plain = await createDetector('blazeface', { tiling: 'off' });
    try {
      const faces = await plain.detect(await loadImage(GROUP_PHOTO));
      expect(faces.length).toBeGreaterThanOrEqual(3);
      expect(faces.length).toBeLessThan(5);
    } finally {
      plain.dispose();
    }
  });

  test('grayscale input and EXIF-rotated input are found like the original', async () => {
    const dir = tmpDir('det');
    const gray = path.join(dir, 'gray.png');
    await sharp(DEMO_PHOTOS[0]).grayscale().png().toFile(gray);
    // Pixels stored sideways with EXIF orientation 6 ("rotate 90 clockwise to view"): loadImage must stand it up.
    const sideways = path.join(dir, 'sideways.jpg');
    await sharp(DEMO_PHOTOS[0]).resize(600, 400, { fit: 'fill' }).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toFile(sideways);
    const g = await loadImage(gray);
    expect(await detector.detect(g)).toHaveLength(1);
    const s = await loadImage(sideways);
    expect([s.width, s.height]).toEqual([600, 400]);
    const faces = await detector.detect(s);
    expect(faces).toHaveLength(1);
    expect(faces[0].box.y + faces[0].box.height / 2).toBeGreaterThan(100); // upright: face in the middle band, not sideways
    expect(Math.abs(faces[0].landmarks![0].y - faces[0].landmarks![1].y)).toBeLessThan(faces[0].box.height * 0.15);
  });

  test('no face in a plain or noisy image', async () => {
    const noise = new Uint8Array(320 * 240 * 3);
    let s = 1;
    for (let i = 0; i < noise.length; i++) noise[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    expect(await detector.detect({ data: noise, width: 320, height: 240 })).toEqual([]);
    expect(await detector.detect({ data: new Uint8Array(64 * 48 * 3).fill(128), width: 64, height: 48 })).toEqual([]);
  });

  test('the front model finds the portrait faces too', async () => {
    const front = await createDetector('blazeface', { model: 'front' });
    try {
      expect(await front.detect(await loadImage(DEMO_PHOTOS[1]))).toHaveLength(1);
    } finally {
      front.dispose();
    }
  });
});

describe('detector errors', () => {
  test('bad image buffers are refused with a FerError', async () => {
    await expect(detector.detect({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toThrow(FerError);
  });

  test("'haar' finds the face of a portrait with OpenCV, and without @u4/opencv4nodejs says how to install it", async () => {
    // Installed but not built (or a broken build) counts as missing: hasOpenCv() loads the bindings.
    if (hasOpenCv()) {
      const haar = await createDetector('haar');
      expect(haar.name).toBe('haar');
      const image = await loadImage(DEMO_PHOTOS[0]);
      const faces = await haar.detect(image);
      expect(faces.length).toBeGreaterThanOrEqual(1);
      // the largest box is the face: central, a quarter to a half of the width; Haar has no landmarks
      const f = faces.reduce((a, b) => (b.box.width > a.box.width ? b : a));
      expect((f.box.x + f.box.width / 2) / image.width).toBeGreaterThan(0.35);
      expect((f.box.x + f.box.width / 2) / image.width).toBeLessThan(0.65);
      expect(f.box.width / image.width).toBeGreaterThan(0.2);
      expect(f.box.width / image.width).toBeLessThan(0.6);
      expect(f.score).toBeGreaterThanOrEqual(0.5);
      expect(f.score).toBeLessThan(1);
      haar.dispose();
      return;
    }
    const err = await createDetector('haar').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerError);
    expect((err as Error).message).toMatch(/libopencv-dev/);
    expect((err as Error).message).toMatch(/OPENCV4NODEJS_DISABLE_AUTOBUILD=1 npm install --no-save @u4\/opencv4nodejs/);
  });

  test('unknown detector name and use after dispose', async () => {
    await expect(createDetector('nope' as 'haar')).rejects.toThrow(/unknown face detector 'nope'/);
    const d = await createDetector('blazeface', { model: 'front' });
    d.dispose();
    await expect(d.detect({ data: new Uint8Array(12), width: 2, height: 2 })).rejects.toThrow(/after dispose/);
  });
});

test('tileRegions covers the frame with overlapping tiles', () => {
  const tiles = tileRegions(1280, 720, 512);
  expect(tiles).toHaveLength(6);
  for (const t of tiles) {
    expect(t.left + t.width).toBeLessThanOrEqual(1280);
    expect(t.top + t.height).toBeLessThanOrEqual(720);
  }
  expect(Math.max(...tiles.map((t) => t.left + t.width))).toBe(1280);
  expect(Math.max(...tiles.map((t) => t.top + t.height))).toBe(720);
  expect(tileRegions(300, 200, 512)).toEqual([{ left: 0, top: 0, width: 300, height: 200 }]);
});
