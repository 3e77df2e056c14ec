import { PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import { defaultTrainConfig, validateTrainConfig } from '../../lib/src/config';
import { Dataset, subset } from '../../lib/src/data';
import { prepareTrainingData } from '../../lib/src/train/data';
import { syntheticDataset, testConfig, tmpDir } from './helpers';

/** A synthetic dataset whose last two images are test images: one copied from train image 0, one unique. */
function withTestCopies(): Dataset {
  const base = syntheticDataset(3, 24, 0);
  const ds = subset(base, [...Array(base.size).keys(), 0, 1]);
  ds.split[base.size] = 'test';
  ds.split[base.size + 1] = 'test';
  // make the second test image unique, and train image 5 blank
  ds.pixels.fill(7, (base.size + 1) * PIXELS_PER_IMAGE, (base.size + 2) * PIXELS_PER_IMAGE);
  ds.pixels.fill(0, 5 * PIXELS_PER_IMAGE, 6 * PIXELS_PER_IMAGE);
  return ds;
}

describe('config.drop: leaving audit findings out of training', () => {
  const out = tmpDir();

  test('nothing is dropped by default', () => {
    const ds = withTestCopies();
    const data = prepareTrainingData(ds, testConfig(out, { valFraction: 0.2 }));
    expect(data.dropped).toBe(0);
    expect(data.train.size + data.val.size).toBe(72);
  });

  test('cross-split drops the train copy of a test image; blank drops the blank one; test images stay', () => {
    const ds = withTestCopies();
    const data = prepareTrainingData(ds, testConfig(out, { valFraction: 0.2, drop: ['cross-split', 'blank'] }));
    expect(data.dropped).toBe(2);
    expect(data.train.size + data.val.size).toBe(70);
    // neither the blank image nor the copy of test image 72 is among the training images any more
    const trainImages = [data.train, data.val].flatMap((s) =>
      Array.from({ length: s.size }, (_, i) => s.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)));
    const copied = ds.pixels.subarray(72 * PIXELS_PER_IMAGE, 73 * PIXELS_PER_IMAGE);
    expect(trainImages.some((img) => img.every((v, k) => v === copied[k]))).toBe(false);
    expect(trainImages.some((img) => img.every((v) => v === 0))).toBe(false);
    expect(ds.split.filter((s) => s === 'test')).toHaveLength(2);
  });

  test('an unknown kind is a clear error', () => {
    const c = { ...defaultTrainConfig(), drop: ['dupes'] } as unknown as ReturnType<typeof defaultTrainConfig>;
    expect(() => validateTrainConfig(c)).toThrow(FerError);
    expect(() => validateTrainConfig(c)).toThrow(/drop.*duplicates, cross-split, conflicting, blank/);
  });
});
