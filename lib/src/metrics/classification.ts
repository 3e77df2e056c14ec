/**
 * Classification metrics from hard labels and predicted probabilities. Zero-division cases (a class nobody
 * predicted, a class with no examples) give 0, like scikit-learn's zero_division=0, never NaN.
 */
import { FerError } from '../errors';

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Number of examples whose true label is this class. */
  support: number;
}

export interface Metrics {
  classes: readonly string[];
  /** Number of examples. */
  n: number;
  accuracy: number;
  /** Share of examples whose true class is among the two most probable. */
  top2Accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  weightedPrecision: number;
  weightedRecall: number;
  weightedF1: number;
  /** Same order as classes. */
  perClass: ClassMetrics[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  /** Rows divided by their sums (a row with no examples stays all 0). */
  confusionNormalized: number[][];
  /** Predicted class per example (argmax; ties go to the lower index, like numpy). */
  predictions: Uint8Array;
}

/** Check that probs holds labels.length rows of classes.length values; returns the class count. */
export function checkShapes(labels: ArrayLike<number>, probs: Float32Array, classes: readonly string[]): number {
  const c = classes.length;
  if (c < 1) throw new FerError('metrics need at least one class name');
  if (probs.length !== labels.length * c) {
    throw new FerError(
      `probabilities hold ${probs.length} values but ${labels.length} labels x ${c} classes need ${labels.length * c}: ` +
        'the model output does not match the class list',
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= c) {
      throw new FerError(`label ${y} of example ${i} is not a class index in 0..${c - 1} (${classes.join(', ')})`);
    }
  }
  return c;
}

/** Index of the largest value in probs[row*c .. row*c+c). */
export function argmaxRow(probs: Float32Array, row: number, c: number): number {
  let best = 0;
  let bestP = probs[row * c];
  for (let k = 1; k < c; k++) {
    const p = probs[row * c + k];
    if (p > bestP) {
      bestP = p;
      best = k;
    }
  }
  return best;
}

/** True when label is among the two highest probabilities of the row (the label counts ahead of an equal value). */
function inTop2(probs: Float32Array, row: number, c: number, label: number): boolean {
  const p = probs[row * c + label];
  let higher = 0;
  for (let k = 0; k < c; k++) if (probs[row * c + k] > p) higher++;
  return higher < 2;
}

const safeDiv = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** All classification metrics at once. probs: labels.length rows of classes.length probabilities. */
export function computeMetrics(labels: ArrayLike<number>, probs: Float32Array, classes: readonly string[]): Metrics {
  const c = checkShapes(labels, probs, classes);
  const n = labels.length;
  const confusion = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  const predictions = new Uint8Array(n);
  let correct = 0;
  let top2 = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    const p = argmaxRow(probs, i, c);
    predictions[i] = p;
    confusion[y][p]++;
    if (p === y) correct++;
    if (inTop2(probs, i, c, y)) top2++;
  }
  const perClass: ClassMetrics[] = [];
  for (let k = 0; k < c; k++) {
    const tp = confusion[k][k];
    const support = confusion[k].reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (let r = 0; r < c; r++) predicted += confusion[r][k];
    const precision = safeDiv(tp, predicted);
    const recall = safeDiv(tp, support);
    perClass.push({ precision, recall, f1: safeDiv(2 * precision * recall, precision + recall), support });
  }
  // Macro averages over the classes that occur in the labels or the predictions, as scikit-learn does without
  // `labels=`: a class absent from both (e.g. contempt on FER2013) would only drag the average toward 0.
  const present = perClass.map((m, k) => m.support > 0 || confusion.some((row) => row[k] > 0));
  const presentCount = present.filter(Boolean).length;
  const mean = (key: keyof ClassMetrics) => safeDiv(perClass.reduce((a, m, k) => a + (present[k] ? m[key] : 0), 0), presentCount);
  const weighted = (key: keyof ClassMetrics) => safeDiv(perClass.reduce((a, m) => a + m[key] * m.support, 0), n);
  return {
    classes: [...classes],
    n,
    accuracy: safeDiv(correct, n),
    top2Accuracy: c < 2 ? (n > 0 ? 1 : 0) : safeDiv(top2, n),
    macroPrecision: mean('precision'),
    macroRecall: mean('recall'),
    macroF1: mean('f1'),
    weightedPrecision: weighted('precision'),
    weightedRecall: weighted('recall'),
    weightedF1: weighted('f1'),
    perClass,
    confusion,
    confusionNormalized: confusion.map((row) => {
      const s = row.reduce((a, b) => a + b, 0);
      return row.map((v) => safeDiv(v, s));
    }),
    predictions,
  };
}
