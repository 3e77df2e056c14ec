/** The model's most confident mistakes, grouped by (true class, predicted class): where to look first. */
import { argmaxRow, checkShapes } from './classification';

export interface Mistake {
  /** Example index in the evaluated dataset (use imageAt(ds, index) for its pixels). */
  index: number;
  trueClass: number;
  predicted: number;
  /** Probability given to the (wrong) predicted class. */
  confidence: number;
  /** Probability given to the true class. */
  trueProbability: number;
}

export interface MistakeGroup {
  trueClass: number;
  predicted: number;
  /** All mistakes of this pair. */
  count: number;
  /** The most confident ones, highest first. */
  examples: Mistake[];
}

export interface MistakeOptions {
  /** Examples kept per pair (default 5). */
  perPair?: number;
}

/** Groups sorted by count (most frequent confusion first); each group's examples by confidence. */
export function confidentMistakes(
  labels: ArrayLike<number>,
  probs: Float32Array,
  classes: readonly string[],
  options: MistakeOptions = {},
): MistakeGroup[] {
  const perPair = options.perPair ?? 5;
  const c = checkShapes(labels, probs, classes);
  const groups = new Map<number, { count: number; all: Mistake[] }>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const p = argmaxRow(probs, i, c);
    if (p === y) continue;
    const key = y * c + p;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { count: 0, all: [] }));
    g.count++;
    g.all.push({ index: i, trueClass: y, predicted: p, confidence: probs[i * c + p], trueProbability: probs[i * c + y] });
  }
  const out: MistakeGroup[] = [];
  for (const [key, g] of groups) {
    g.all.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
    out.push({ trueClass: Math.floor(key / c), predicted: key % c, count: g.count, examples: g.all.slice(0, perPair) });
  }
  out.sort((a, b) => b.count - a.count || a.trueClass - b.trueClass || a.predicted - b.predicted);
  return out;
}

/** The k most confident mistakes over all pairs (for one image grid). */
export function topMistakes(groups: readonly MistakeGroup[], k: number): Mistake[] {
  return groups
    .flatMap((g) => g.examples)
    .sort((a, b) => b.confidence - a.confidence || a.index - b.index)
    .slice(0, k);
}
