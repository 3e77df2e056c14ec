import sharp from 'sharp';
import type { Dataset } from '../../lib/src/data/dataset';
import { EMOTIONS, PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import { confidentMistakes } from '../../lib/src/metrics/mistakes';
import { ttaViews } from '../../lib/src/transforms/tta';
import { classSamplesGrid, imageGrid, mistakesGrid, viewsGrid } from '../../lib/src/viz/grid';

function face(v: number): Uint8Array {
  const img = new Uint8Array(PIXELS_PER_IMAGE);
  for (let i = 0; i < img.length; i++) img[i] = (v + (i % 48) * 3) % 256;
  return img;
}

describe('image grids', () => {
  it('lays out cells, captions and row labels into a PNG of the computed size', async () => {
    const items = [0, 40, 80, 120, 160].map((v) => ({ pixels: face(v), label: `v${v}`, sublabel: 'x', color: '#d62728' }));
    const png = await imageGrid(items, { columns: 3, cellSize: 64, title: 'T', rowLabels: ['one', 'two'] });
    const meta = await sharp(png).metadata();
    // width: pad 8 + label column max(80, 9*3+16) + 3 * (64 + 8); height: 8 + title 36 + 2 rows * (64 + 34 + 8)
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([8 + 80 + 3 * 72, 8 + 36 + 2 * 106]);
    // the first image's top-left pixel (value 0) is at (88, 44), black
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(data[(44 + 4) * info.width * info.channels + (88 + 1) * info.channels]).toBeLessThan(20);
  });

  it('rejects an image that is not 48x48', async () => {
    await expect(imageGrid([{ pixels: new Uint8Array(10) }])).rejects.toThrow(FerError);
  });

  it('draws samples per class, mistakes and TTA views', async () => {
    const n = 21;
    const pixels = new Uint8Array(n * PIXELS_PER_IMAGE);
    for (let i = 0; i < n; i++) pixels.set(face(i * 12), i * PIXELS_PER_IMAGE);
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 7);
    const ds: Dataset = {
      format: 'kaggle-folder', source: 'x', classes: EMOTIONS, size: n, pixels, labels,
      split: Array.from({ length: n }, () => 'test'), files: [], bad: [],
    };
    const samples = await sharp(await classSamplesGrid(ds, { perClass: 4, cellSize: 48 })).metadata();
    expect(samples.width).toBeGreaterThan(4 * 56);
    expect(samples.height).toBe(8 + 36 + 7 * 56);

    const probs = new Float32Array(n * 7).fill(0.1);
    for (let i = 0; i < n; i++) probs[i * 7 + ((labels[i] + (i < 7 ? 1 : 0)) % 7)] = 0.4;
    const groups = confidentMistakes(labels, probs, EMOTIONS, { perPair: 2 });
    expect(groups).toHaveLength(7);
    const mistakes = await sharp(await mistakesGrid(ds, groups, { pairs: 3, perPair: 2 })).metadata();
    expect(mistakes.height).toBe(8 + 36 + 3 * (80 + 34 + 8));
    const none = await sharp(await mistakesGrid(ds, [])).metadata();
    expect(none.format).toBe('png');

    const views = ttaViews(pixels.subarray(0, 2 * PIXELS_PER_IMAGE), { mode: 'flip' });
    const v = await sharp(await viewsGrid(views, { viewNames: ['original', 'flip'], cellSize: 48 })).metadata();
    expect(v.width).toBe(8 + 2 * 56);
  });
});
