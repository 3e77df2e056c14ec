/**
 * Calibration: does a model that says 80% get 80% right? Confidence = the top probability; examples fall into
 * equal-width bins over [0, 1] (bin b holds (b/B, (b+1)/B], the first also holds 0), as in Guo et al. 2017.
 */
import { argmaxRow, checkShapes } from './classification';

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean confidence of the bin's examples (0 when empty). */
  confidence: number;
  /** Share of the bin's examples predicted right (0 when empty). */
  accuracy: number;
}

export interface Calibration {
  /** Expected calibration error: sum over bins of count/n * |accuracy - confidence|. */
  ece: number;
  /** Maximum calibration error over non-empty bins. */
  mce: number;
  bins: ReliabilityBin[];
}

export interface CalibrationOptions {
  /** Number of equal-width bins (default 15). */
  bins?: number;
}

export function calibration(
  labels: ArrayLike<number>,
  probs: Float32Array,
  classes: readonly string[],
  options: CalibrationOptions = {},
): Calibration {
  const nb = options.bins ?? 15;
  const c = checkShapes(labels, probs, classes);
  const n = labels.length;
  const count = new Array<number>(nb).fill(0);
  const confSum = new Array<number>(nb).fill(0);
  const correct = new Array<number>(nb).fill(0);
  for (let i = 0; i < n; i++) {
    const p = argmaxRow(probs, i, c);
    const conf = probs[i * c + p];
    const b = Math.min(nb - 1, Math.max(0, Math.ceil(conf * nb) - 1));
    count[b]++;
    confSum[b] += conf;
    if (p === labels[i]) correct[b]++;
  }
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  let mce = 0;
  for (let b = 0; b < nb; b++) {
    const confidence = count[b] ? confSum[b] / count[b] : 0;
    const accuracy = count[b] ? correct[b] / count[b] : 0;
    bins.push({ lower: b / nb, upper: (b + 1) / nb, count: count[b], confidence, accuracy });
    if (count[b]) {
      const gap = Math.abs(accuracy - confidence);
      ece += (count[b] / n) * gap;
      mce = Math.max(mce, gap);
    }
  }
  return { ece, mce, bins };
}

/** Expected calibration error with 15 bins (the usual setting). */
export function expectedCalibrationError(labels: ArrayLike<number>, probs: Float32Array, classes: readonly string[]): number {
  return calibration(labels, probs, classes).ece;
}
