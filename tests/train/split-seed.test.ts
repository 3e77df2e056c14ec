import { PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import { defaultTrainConfig, validateTrainConfig } from '../../lib/src/config';
import { prepareTrainingData } from '../../lib/src/train/data';
import { syntheticDataset, testConfig, tmpDir } from './helpers';

/** Each image of a split as a string of its pixels, in the split's order. */
function images(split: { pixels: Uint8Array; size: number }): string[] {
  return Array.from({ length: split.size }, (_, i) => split.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE).join(','));
}

describe('config.splitSeed: the validation split seeded on its own', () => {
  const out = tmpDir();
  // no val split of its own: prepareTrainingData draws one (random pixels: every image distinct)
  const ds = syntheticDataset(4, 30, 0);

  test('a new seed with the old splitSeed keeps the same validation and training images', () => {
    const original = prepareTrainingData(ds, testConfig(out, { valFraction: 0.2, seed: 42 }));
    const continued = prepareTrainingData(ds, testConfig(out, { valFraction: 0.2, seed: 7, splitSeed: 42 }));
    expect(images(continued.val)).toEqual(images(original.val));
    expect(images(continued.train)).toEqual(images(original.train));
    expect(Array.from(continued.val.labels)).toEqual(Array.from(original.val.labels));
  });

  test('without splitSeed the seed also draws the split, so a new seed moves images between train and validation', () => {
    const original = prepareTrainingData(ds, testConfig(out, { valFraction: 0.2, seed: 42 }));
    const reseeded = prepareTrainingData(ds, testConfig(out, { valFraction: 0.2, seed: 7 }));
    expect(reseeded.val.size).toBe(original.val.size);
    const before = new Set(images(original.val));
    expect(images(reseeded.val).filter((img) => !before.has(img)).length).toBeGreaterThan(0);
  });

  test('splitSeed must be a whole number or null', () => {
    const bad = { ...defaultTrainConfig(), splitSeed: 1.5 };
    expect(() => validateTrainConfig(bad)).toThrow(FerError);
    expect(() => validateTrainConfig(bad)).toThrow(/splitSeed/);
    expect(() => validateTrainConfig({ ...defaultTrainConfig(), splitSeed: null })).not.toThrow();
  });
});
