import { classCounts, splitIndices } from '../../lib/src/data/dataset';
import { mulberry32, shuffleInPlace } from '../../lib/src/data/random';
import { stratifiedSplit } from '../../lib/src/data/split';
import { classWeights } from '../../lib/src/data/weights';
import { memoryDataset, pattern } from './fixtures';

/** 1000 train images with skewed classes (class c has 20 * (c + 1) images... scaled), plus 30 test images. */
function skewed() {
  const per = [40, 20, 100, 300, 200, 180, 160];
  const items = [];
  let seed = 0;
  for (let c = 0; c < per.length; c++) for (let k = 0; k < per[c]; k++) items.push({ pixels: pattern(seed++), label: c, split: 'train' as const });
  for (let k = 0; k < 30; k++) items.push({ pixels: pattern(seed++), label: k % 7, split: 'test' as const });
  return { ds: memoryDataset(items), per };
}

describe('stratifiedSplit', () => {
  test('moves round(15%) of each class from train to val; test untouched; disjoint and complete', () => {
    const { ds, per } = skewed();
    const out = stratifiedSplit(ds);
    const val = splitIndices(out, 'val');
    const train = splitIndices(out, 'train');
    expect(classCounts(out, val)).toEqual(per.map((n) => Math.round(n * 0.15)));
    expect(classCounts(out, train)).toEqual(per.map((n) => n - Math.round(n * 0.15)));
    expect(new Set([...val, ...train]).size).toBe(val.length + train.length);
    expect(splitIndices(out, 'test')).toEqual(splitIndices(ds, 'test'));
    expect(ds.split.every((s) => s !== 'val')).toBe(true); // input not modified
    expect(out.pixels).toBe(ds.pixels);
  });

  test('deterministic for a seed, different for another seed; valFraction honoured', () => {
    const { ds } = skewed();
    const a = splitIndices(stratifiedSplit(ds, { seed: 7 }), 'val');
    const b = splitIndices(stratifiedSplit(ds, { seed: 7 }), 'val');
    const c = splitIndices(stratifiedSplit(ds, { seed: 8 }), 'val');
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(splitIndices(stratifiedSplit(ds, { valFraction: 0.5 }), 'val').length).toBe(500);
    expect(() => stratifiedSplit(ds, { valFraction: 1 })).toThrow(RangeError);
  });

  test('mulberry32 is seeded and uniform enough; shuffle is a permutation', () => {
    const r1 = mulberry32(1);
    const r2 = mulberry32(1);
    const xs = Array.from({ length: 10000 }, () => r1());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => r2()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((a, b) => a + b, 0) / xs.length - 0.5)).toBeLessThan(0.02);
    const perm = shuffleInPlace(Array.from({ length: 50 }, (_, i) => i), mulberry32(3));
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(perm).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('classWeights', () => {
  const counts = [400, 40, 400, 800, 500, 500, 300];
  const meanOverSamples = (w: number[]): number => w.reduce((acc, x, c) => acc + x * counts[c], 0) / counts.reduce((a, b) => a + b, 0);

  test('inverse frequency: w proportional to 1/n, mean over samples 1', () => {
    const w = classWeights(counts, 'inverse');
    expect(meanOverSamples(w)).toBeCloseTo(1, 10);
    expect(w[1] / w[3]).toBeCloseTo(800 / 40);
    // Each class contributes the same total weight.
    expect(w[1] * counts[1]).toBeCloseTo(w[4] * counts[4]);
  });

  test('sqrt: softer (ratio sqrt of inverse), mean over samples 1; empty class gets 0', () => {
    const w = classWeights(counts, 'sqrt');
    expect(meanOverSamples(w)).toBeCloseTo(1, 10);
    expect(w[1] / w[3]).toBeCloseTo(Math.sqrt(800 / 40));
    const z = classWeights([10, 0, 30], 'inverse');
    expect(z[1]).toBe(0);
    expect((z[0] * 10 + z[2] * 30) / 40).toBeCloseTo(1);
    expect(classWeights([0, 0], 'inverse')).toEqual([0, 0]);
  });
});
