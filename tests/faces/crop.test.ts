import { cropFace, cropFaces, eyeAngle } from '../../lib/src/faces/crop';
import type { Face, RgbImage } from '../../lib/src/faces/types';

/** 200x200 gray image with a white 6-px line through (100,100) at `deg` degrees (image y points down). */
function lineImage(deg: number): RgbImage {
  const W = 200;
  const data = new Uint8Array(W * W * 3).fill(40);
  const t = (deg * Math.PI) / 180;
  for (let y = 0; y < W; y++) {
    for (let x = 0; x < W; x++) {
      // distance from the line through the centre with direction (cos t, sin t)
      const d = Math.abs(-(x + 0.5 - 100) * Math.sin(t) + (y + 0.5 - 100) * Math.cos(t));
      if (d < 3) data.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
  }
  return { data, width: W, height: W };
}

const rowMean = (crop: Uint8Array, row: number): number => crop.slice(row * 48, row * 48 + 48).reduce((a, b) => a + b, 0) / 48;

describe('cropFace', () => {
  const face = (landmarks?: Face['landmarks']): Face => ({ box: { x: 50, y: 50, width: 100, height: 100 }, score: 1, landmarks });

  test('48x48 grayscale; luma weights on a pure colour', () => {
    const red: RgbImage = { data: new Uint8Array(100 * 100 * 3).map((_, i) => (i % 3 === 0 ? 200 : 0)), width: 100, height: 100 };
    const crop = cropFace(red, { box: { x: 10, y: 10, width: 50, height: 50 }, score: 1 });
    expect(crop).toHaveLength(2304);
    expect(new Set(crop)).toEqual(new Set([Math.round(0.299 * 200)]));
  });

  test('eye alignment levels a tilted face: the tilted line comes out horizontal', () => {
    const img = lineImage(20);
    const t = (20 * Math.PI) / 180;
    const eyes = [
      { x: 100 - 30 * Math.cos(t), y: 100 - 30 * Math.sin(t) },
      { x: 100 + 30 * Math.cos(t), y: 100 + 30 * Math.sin(t) },
    ];
    expect((eyeAngle(eyes) * 180) / Math.PI).toBeCloseTo(20, 5);
    const aligned = cropFace(img, face(eyes), { margin: 0 });
    const plain = cropFace(img, face(eyes), { margin: 0, align: false });
    // aligned: the middle rows are white all across, rows far from the middle stay dark
    expect(Math.max(rowMean(aligned, 23), rowMean(aligned, 24))).toBeGreaterThan(230);
    expect(rowMean(aligned, 5)).toBeLessThan(50);
    // not aligned: no row is white all across
    expect(Math.max(...Array.from({ length: 48 }, (_, r) => rowMean(plain, r)))).toBeLessThan(120);
  });

  test('eye order does not matter and absurd angles are ignored', () => {
    expect(eyeAngle([{ x: 10, y: 0 }, { x: 0, y: 0 }])).toBe(0);
    expect(eyeAngle(undefined)).toBe(0);
    const img = lineImage(0);
    const wild = [{ x: 100, y: 50 }, { x: 101, y: 150 }]; // ~90 degrees: bad landmarks, leave as is
    expect(cropFace(img, face(wild), { margin: 0 })).toEqual(cropFace(img, face(), { margin: 0 }));
  });

  test('margin widens the crop; boxes over the edge are clamped, not errors', () => {
    const img = lineImage(0);
    const tight = cropFace(img, { box: { x: 90, y: 90, width: 20, height: 20 }, score: 1 }, { margin: 0 });
    const wide = cropFace(img, { box: { x: 90, y: 90, width: 20, height: 20 }, score: 1 }, { margin: 1 });
    // the 6-px line is 30% of a 20-px crop, 10% of the 60-px crop with margin 1 (one box side added each way)
    const brightRows = (c: Uint8Array): number => Array.from({ length: 48 }, (_, r) => rowMean(c, r)).filter((m) => m > 150).length;
    expect(brightRows(tight)).toBeGreaterThanOrEqual(13);
    expect(brightRows(tight)).toBeLessThanOrEqual(16);
    expect(brightRows(wide)).toBeGreaterThanOrEqual(4);
    expect(brightRows(wide)).toBeLessThanOrEqual(6);
    const edge = cropFace(img, { box: { x: -30, y: 170, width: 60, height: 60 }, score: 1 });
    expect(edge).toHaveLength(2304);
  });

  test('cropFaces puts n crops back to back', () => {
    const img = lineImage(0);
    const faces = [face(), { ...face(), box: { x: 0, y: 0, width: 40, height: 40 } }];
    const all = cropFaces(img, faces);
    expect(all).toHaveLength(2 * 2304);
    expect(all.slice(0, 2304)).toEqual(cropFace(img, faces[0]));
    expect(all.slice(2304)).toEqual(cropFace(img, faces[1]));
  });
});
