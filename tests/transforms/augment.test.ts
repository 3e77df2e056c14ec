import { createAugmenter, presetOptions, AUGMENT_PRESETS } from '../../lib/src/transforms/augment';
import { createRandom } from '../../lib/src/train/random';
import { FerError } from '../../lib/src/errors';

const S = 48;
const P = S * S;

/** Images with distinct, position-dependent content: value = (x * 5 + y * 3 + k * 17) % 256. */
function gradientImages(n: number): Uint8Array {
  const px = new Uint8Array(n * P);
  for (let k = 0; k < n; k++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) px[k * P + y * S + x] = (x * 5 + y * 3 + k * 17) % 256;
  return px;
}

const none = AUGMENT_PRESETS.none;

describe('augment', () => {
  test('keeps the shape and does not touch the input', () => {
    const px = gradientImages(5);
    const copy = px.slice();
    const out = createAugmenter('strong').apply(px, createRandom(1));
    expect(out.length).toBe(px.length);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(px).toEqual(copy);
  });

  test('no-op options return an exact copy', () => {
    const px = gradientImages(3);
    expect(createAugmenter('none').apply(px, createRandom(1))).toEqual(px);
  });

  test('flip is an exact horizontal mirror, applied to about half the images', () => {
    const n = 400;
    const px = gradientImages(n);
    const out = createAugmenter({ ...none, flip: true }).apply(px, createRandom(7));
    let flipped = 0;
    for (let k = 0; k < n; k++) {
      const same = out.subarray(k * P, (k + 1) * P).every((v, i) => v === px[k * P + i]);
      let mirror = true;
      for (let y = 0; y < S && mirror; y++) for (let x = 0; x < S; x++) if (out[k * P + y * S + x] !== px[k * P + y * S + (S - 1 - x)]) { mirror = false; break; }
      expect(same || mirror).toBe(true);
      if (mirror && !same) flipped++;
    }
    expect(flipped).toBeGreaterThan(n * 0.4);
    expect(flipped).toBeLessThan(n * 0.6);
  });

  test('crop with padding shifts content by whole pixels and fills the border', () => {
    const pad = 4;
    const n = 50;
    const px = gradientImages(n);
    const out = createAugmenter({ ...none, crop: pad, fill: 'constant', fillValue: 0 }).apply(px, createRandom(3));
    const shifts = new Set<string>();
    for (let k = 0; k < n; k++) {
      // find the (dx, dy) with out(x, y) = in(x + dx, y + dy) inside the image and 0 outside
      let found: string | undefined;
      for (let dy = -pad; dy <= pad && !found; dy++) {
        for (let dx = -pad; dx <= pad && !found; dx++) {
          let ok = true;
          for (let y = 0; y < S && ok; y++) {
            for (let x = 0; x < S; x++) {
              const sx = x + dx, sy = y + dy;
              const want = sx >= 0 && sy >= 0 && sx < S && sy < S ? px[k * P + sy * S + sx] : 0;
              if (out[k * P + y * S + x] !== want) { ok = false; break; }
            }
          }
          if (ok) found = `${dx},${dy}`;
        }
      }
      expect(found).toBeDefined();
      shifts.add(found as string);
    }
    expect(shifts.size).toBeGreaterThan(10);
  });

  test('a small rotation keeps the centre of a symmetric blob and moves an off-centre dot', () => {
    // a bright dot right of centre: rotating by +-20 degrees moves it vertically
    const px = new Uint8Array(P);
    for (let y = 22; y <= 25; y++) for (let x = 38; x <= 41; x++) px[y * S + x] = 255;
    const aug = createAugmenter({ ...none, rotate: 20 });
    const rows = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const out = aug.apply(px, createRandom(seed));
      let sy = 0, sum = 0;
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) { sy += y * out[y * S + x]; sum += out[y * S + x]; }
      expect(sum).toBeGreaterThan(0.7 * 16 * 255);
      rows.add(Math.round(sy / sum));
    }
    expect(rows.size).toBeGreaterThan(3);
  });

  test('brightness/contrast keep a flat image flat and stay in range', () => {
    const px = new Uint8Array(2 * P).fill(100);
    const out = createAugmenter({ ...none, brightness: 0.5, contrast: 0.5 }).apply(px, createRandom(5));
    for (let k = 0; k < 2; k++) {
      const img = out.subarray(k * P, (k + 1) * P);
      expect(new Set(img).size).toBe(1);
      expect(img[0]).toBeGreaterThanOrEqual(50);
      expect(img[0]).toBeLessThanOrEqual(150);
    }
  });

  test('random erasing changes one rectangle only', () => {
    const px = new Uint8Array(P).fill(128);
    const out = createAugmenter({ ...none, erasing: 1, erasingFill: 'constant', fillValue: 0 }).apply(px, createRandom(9));
    let x0 = S, x1 = -1, y0 = S, y1 = -1, count = 0;
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if (out[y * S + x] === 0) { count++; x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    expect(count).toBe((x1 - x0 + 1) * (y1 - y0 + 1));
    expect(count).toBeGreaterThanOrEqual(Math.floor(0.02 * P * 0.5));
    expect(count).toBeLessThanOrEqual(Math.ceil(P / 3) + 2 * S);
  });

  test('the same random stream gives the same batch; another stream a different one', () => {
    const px = gradientImages(8);
    const aug = createAugmenter('standard');
    expect(aug.apply(px, createRandom(11))).toEqual(aug.apply(px, createRandom(11)));
    expect(aug.apply(px, createRandom(11))).not.toEqual(aug.apply(px, createRandom(12)));
  });

  test('bad options are FerErrors naming the field', () => {
    expect(() => createAugmenter({ crop: -1 })).toThrow(/augment\.crop/);
    expect(() => createAugmenter({ rotate: Number.NaN })).toThrow(FerError);
    expect(() => createAugmenter({ fill: 'wrap' as never })).toThrow(/augment\.fill/);
    expect(() => presetOptions('extreme')).toThrow(/Unknown augmentation preset/);
    expect(() => createAugmenter().apply(new Uint8Array(100), createRandom(1))).toThrow(/48x48/);
  });
});
