/** Stratified, seeded train/validation split. */
import type { Dataset, SplitName } from './dataset';
import { mulberry32, shuffleInPlace } from './random';

export interface SplitOptions {
  /** Share of each class's train images moved to 'val' (default 0.15). */
  valFraction?: number;
  /** Seed of the shuffle (default 42): the same seed gives the same split. */
  seed?: number;
}

/**
 * Mark part of 'train' as 'val', class by class (each class loses round(n * valFraction) images), so val has the
 * class balance of train. Other splits, including an existing 'val', are left as they are. Returns a new Dataset
 * that shares pixels and labels with `ds` (only `split` is new).
 */
export function stratifiedSplit(ds: Dataset, options: SplitOptions = {}): Dataset {
  const valFraction = options.valFraction ?? 0.15;
  const seed = options.seed ?? 42;
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`valFraction must be in [0, 1), got ${valFraction}`);
  const random = mulberry32(seed);
  const byClass: number[][] = ds.classes.map(() => []);
  for (let i = 0; i < ds.size; i++) if (ds.split[i] === 'train') byClass[ds.labels[i]].push(i);
  const split: SplitName[] = ds.split.slice();
  for (const indices of byClass) {
    shuffleInPlace(indices, random);
    const take = Math.round(indices.length * valFraction);
    for (let k = 0; k < take; k++) split[indices[k]] = 'val';
  }
  return { ...ds, split };
}
