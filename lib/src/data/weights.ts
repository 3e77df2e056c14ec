/** Class weights for imbalanced training (FER2013: 436 disgust vs 7,215 happy). */

export type ClassWeightScheme = 'inverse' | 'sqrt';

/**
 * One weight per class: 'inverse' = 1/n_c, 'sqrt' = 1/sqrt(n_c) (softer), scaled so the mean weight over the
 * samples is 1 (sum_c n_c * w_c = N), which keeps the loss scale (and so the learning rate) unchanged.
 * A class with no samples gets weight 0.
 */
export function classWeights(counts: ArrayLike<number>, mode: ClassWeightScheme = 'inverse'): number[] {
  const raw = Array.from(counts, (n) => {
    if (!(n >= 0)) throw new RangeError(`class counts must be >= 0, got ${n}`);
    return n > 0 ? (mode === 'sqrt' ? 1 / Math.sqrt(n) : 1 / n) : 0;
  });
  const total = Array.from(counts).reduce((a, b) => a + b, 0);
  const weighted = raw.reduce((acc, w, c) => acc + w * counts[c], 0);
  if (total === 0 || weighted === 0) return raw.map(() => 0);
  const scale = total / weighted;
  return raw.map((w) => w * scale);
}
