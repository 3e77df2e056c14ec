import { PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import { flipBatch, predictWithTta, shiftBatch, ttaViewCount, ttaViews } from '../../lib/src/transforms/tta';

const S = 48;
function randomBatch(n: number, seed = 1): Uint8Array {
  let a = seed;
  const out = new Uint8Array(n * PIXELS_PER_IMAGE);
  for (let i = 0; i < out.length; i++) {
    a = (a * 1103515245 + 12345) >>> 0;
    out[i] = a >>> 24;
  }
  return out;
}
const px = (b: Uint8Array, i: number, y: number, x: number) => b[i * PIXELS_PER_IMAGE + y * S + x];

describe('TTA views', () => {
  const batch = randomBatch(3);

  it("'flip' gives the original and its mirror", () => {
    const views = ttaViews(batch, { mode: 'flip' });
    expect(views).toHaveLength(2);
    expect(views[0]).toEqual(batch);
    for (const [i, y, x] of [[0, 0, 0], [1, 10, 3], [2, 47, 47], [2, 20, 30]]) {
      expect(px(views[1], i, y, x)).toBe(px(batch, i, y, S - 1 - x));
    }
    expect(flipBatch(flipBatch(batch))).toEqual(batch);
  });

  it("'ten-crop' gives 10 views: 5 pad-and-crop positions (centre = original), each with its mirror", () => {
    const views = ttaViews(batch, { mode: 'ten-crop' });
    expect(views).toHaveLength(10);
    expect(ttaViewCount({ mode: 'ten-crop' })).toBe(10);
    for (const v of views) expect(v.length).toBe(batch.length);
    expect(views[0]).toEqual(batch);
    for (let k = 0; k < 10; k += 2) expect(views[k + 1]).toEqual(flipBatch(views[k]));
    // views[2]: content moved right and down by 4, edge repeated
    expect(px(views[2], 1, 10, 10)).toBe(px(batch, 1, 6, 6));
    expect(px(views[2], 1, 0, 0)).toBe(px(batch, 1, 0, 0));
    expect(px(views[2], 1, 2, 20)).toBe(px(batch, 1, 0, 16));
    expect(shiftBatch(batch, 0, 0)).toEqual(batch);
    // all 5 positions differ
    expect(new Set(views.filter((_, k) => k % 2 === 0).map((v) => Buffer.from(v).toString('base64'))).size).toBe(5);
  });

  it("'random' gives the original plus n seeded views", () => {
    const a = ttaViews(batch, { mode: 'random' });
    expect(a).toHaveLength(6); // default n = 5
    expect(a[0]).toEqual(batch);
    const b = ttaViews(batch, { mode: 'random', seed: 42 });
    a.forEach((v, k) => expect(b[k]).toEqual(v));
    const c = ttaViews(batch, { mode: 'random', seed: 7 });
    expect(c[1]).not.toEqual(a[1]);
    expect(ttaViews(batch, { mode: 'random', n: 2 })).toHaveLength(3);
    // small changes: on vertical gradients (flip-invariant), a view stays close to its own image
    const grad = new Uint8Array(2 * PIXELS_PER_IMAGE);
    for (let y = 0; y < S; y++) {
      grad.fill(5 * y, y * S, (y + 1) * S);
      grad.fill(5 * (S - 1 - y), PIXELS_PER_IMAGE + y * S, PIXELS_PER_IMAGE + (y + 1) * S);
    }
    for (const v of ttaViews(grad, { mode: 'random', n: 8 }).slice(1)) {
      let own = 0;
      let other = 0;
      for (let j = 0; j < PIXELS_PER_IMAGE; j++) {
        own += Math.abs(v[j] - grad[j]);
        other += Math.abs(v[j] - grad[PIXELS_PER_IMAGE + j]);
      }
      expect(own / PIXELS_PER_IMAGE).toBeLessThan(30);
      expect(other / PIXELS_PER_IMAGE).toBeGreaterThan(90);
    }
    for (const v of a.slice(1)) expect(v).not.toEqual(batch);
  });

  it('rejects a batch that is not whole 48x48 images and bad options', () => {
    expect(() => ttaViews(new Uint8Array(100))).toThrow(FerError);
    expect(() => ttaViews(batch, { mode: 'random', n: 0 })).toThrow(FerError);
  });
});

describe('predictWithTta', () => {
  // probability of class 0 = left-most pixel of row 0 / 255: a flip changes it
  const model = {
    classes: ['left', 'right'],
    calls: 0,
    async predict(pixels: Uint8Array) {
      this.calls++;
      const n = pixels.length / PIXELS_PER_IMAGE;
      const out = new Float32Array(n * 2);
      for (let i = 0; i < n; i++) {
        const p = pixels[i * PIXELS_PER_IMAGE] / 255;
        out[i * 2] = p;
        out[i * 2 + 1] = 1 - p;
      }
      return out;
    },
  };

  it('averages probabilities over the views', async () => {
    const img = new Uint8Array(2 * PIXELS_PER_IMAGE);
    for (let y = 0; y < S; y++) img[y * S] = 255; // image 0: left column white
    img[PIXELS_PER_IMAGE + 0] = 255;
    img[PIXELS_PER_IMAGE + S - 1] = 255; // image 1: both corners white, symmetric
    model.calls = 0;
    const p = await predictWithTta(model, img, { mode: 'flip' });
    expect(model.calls).toBe(2);
    expect(Array.from(p)).toEqual([0.5, 0.5, 1, 0]);
  });

  it('rejects a model whose output does not fit its classes', async () => {
    const bad = { classes: ['a', 'b', 'c'], predict: async () => new Float32Array(2) };
    await expect(predictWithTta(bad, new Uint8Array(PIXELS_PER_IMAGE))).rejects.toThrow(FerError);
  });
});
