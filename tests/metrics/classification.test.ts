import { computeMetrics } from '../../lib/src/metrics/classification';
import { FerError } from '../../lib/src/errors';
import { probsFrom } from './helpers';

// classes a, b, c, d: c is never predicted, d has no examples (but is predicted once).
const CLASSES = ['a', 'b', 'c', 'd'];
const LABELS = [0, 0, 0, 1, 1, 2, 2, 2, 1, 0];
// [predicted, second most probable]
const ROWS: Array<[number, number]> = [
  [0, 1], [0, 2], [1, 0], [1, 0], [0, 2], [0, 2], [1, 3], [3, 2], [1, 2], [0, 3],
];

describe('computeMetrics on a hand-computed case', () => {
  const m = computeMetrics(LABELS, probsFrom(ROWS, 4), CLASSES);

  it('counts the confusion matrix (rows true, columns predicted)', () => {
    expect(m.confusion).toEqual([
      [3, 1, 0, 0],
      [1, 2, 0, 0],
      [1, 1, 0, 1],
      [0, 0, 0, 0],
    ]);
    expect(Array.from(m.predictions)).toEqual(ROWS.map((r) => r[0]));
  });

  it('row-normalises, leaving the empty row at 0', () => {
    expect(m.confusionNormalized[0]).toEqual([0.75, 0.25, 0, 0]);
    expect(m.confusionNormalized[2].map((v) => +v.toFixed(6))).toEqual([0.333333, 0.333333, 0, 0.333333]);
    expect(m.confusionNormalized[3]).toEqual([0, 0, 0, 0]);
  });

  it('gives accuracy and top-2 accuracy', () => {
    expect(m.n).toBe(10);
    expect(m.accuracy).toBeCloseTo(0.5, 10);
    // 5 right + rows 2, 5, 7 where the true class is second
    expect(m.top2Accuracy).toBeCloseTo(0.8, 10);
  });

  it('gives per-class precision, recall, F1 and support with 0 for zero divisions', () => {
    const r = m.perClass.map((p) => [p.precision, p.recall, p.f1, p.support].map((v) => +v.toFixed(6)));
    expect(r).toEqual([
      [0.6, 0.75, 0.666667, 4],
      [0.5, 0.666667, 0.571429, 3],
      [0, 0, 0, 3], // never predicted
      [0, 0, 0, 0], // no support
    ]);
    for (const p of m.perClass) for (const v of Object.values(p)) expect(Number.isNaN(v)).toBe(false);
  });

  it('averages like scikit-learn (macro over all classes, weighted by support)', () => {
    expect(m.macroPrecision).toBeCloseTo(0.275, 6);
    expect(m.macroRecall).toBeCloseTo(0.354167, 6);
    expect(m.macroF1).toBeCloseTo(0.309524, 6);
    expect(m.weightedPrecision).toBeCloseTo(0.39, 6);
    expect(m.weightedRecall).toBeCloseTo(0.5, 6);
    expect(m.weightedF1).toBeCloseTo(0.438095, 6);
  });
});

describe('computeMetrics edge cases', () => {
  it('breaks argmax ties toward the lower class index', () => {
    const m = computeMetrics([1], new Float32Array([0.5, 0.5]), ['x', 'y']);
    expect(m.predictions[0]).toBe(0);
    expect(m.accuracy).toBe(0);
    expect(m.top2Accuracy).toBe(1);
  });

  it('leaves a class with no examples and no predictions out of the macro averages, like scikit-learn', () => {
    // 'z' (think contempt on FER2013) is neither a label nor a prediction: macro over x and y only
    const m = computeMetrics([0, 1, 1], new Float32Array([0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1]), ['x', 'y', 'z']);
    expect(m.macroRecall).toBeCloseTo((1 + 0.5) / 2, 10);
    expect(m.macroPrecision).toBeCloseTo((0.5 + 1) / 2, 10);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 2 / 3) / 2, 10);
  });

  it('returns zeros, not NaN, for no examples', () => {
    const m = computeMetrics([], new Float32Array(0), ['x', 'y', 'z']);
    expect(m.accuracy).toBe(0);
    expect(m.macroF1).toBe(0);
    expect(m.weightedF1).toBe(0);
  });

  it('rejects probabilities that do not match labels x classes', () => {
    expect(() => computeMetrics([0, 1], new Float32Array(5), ['x', 'y', 'z'])).toThrow(FerError);
    expect(() => computeMetrics([0, 1], new Float32Array(6), ['x', 'y', 'z'])).not.toThrow();
  });

  it('rejects labels outside the class list', () => {
    expect(() => computeMetrics([3], new Float32Array(3), ['x', 'y', 'z'])).toThrow(/label 3 of example 0/);
  });
});
