/**
 * Post-hoc logit adjustment for imbalanced classes (Menon et al., "Long-tail learning via logit adjustment",
 * ICLR 2021): add -tau * log(prior_c) to each class logit, so that rare classes (disgust is 1.5% of FER2013's
 * training images) win more often. tau is chosen on the validation split, never on the test split; tau = 0 leaves
 * the model as it is. The offsets fold into the bias of the output Dense layer, so an adjusted model is one
 * ordinary model with no extra step at inference.
 */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { computeMetrics } from '../metrics/classification';

export type LogitAdjustCriterion = 'macroF1' | 'macroRecall';

export interface LogitAdjustOptions {
  /** Candidate taus (default 0, 0.1, ..., 2). */
  taus?: number[];
  /** What the choice maximises on the validation predictions (default macro-F1). */
  criterion?: LogitAdjustCriterion;
}

export interface LogitAdjustScore {
  tau: number;
  accuracy: number;
  macroF1: number;
  macroRecall: number;
  /** Recall per class, in class order. */
  recall: number[];
}

export interface LogitAdjustment {
  tau: number;
  /** Added to the logits, per class: -tau * log(prior). */
  offsets: number[];
  priors: number[];
  criterion: LogitAdjustCriterion;
  /** The validation scores of every candidate tau, in the order tried. */
  scores: LogitAdjustScore[];
}

export const DEFAULT_LOGIT_TAUS: readonly number[] = Array.from({ length: 21 }, (_, i) => Math.round(i * 10) / 100);

/** Class priors from training label counts; a class with no images gets half an image (keeps log finite). */
export function classPriors(counts: readonly number[]): number[] {
  const smoothed = counts.map((c) => (c > 0 ? c : 0.5));
  const total = smoothed.reduce((a, b) => a + b, 0);
  return smoothed.map((c) => c / total);
}

export function logitOffsets(priors: readonly number[], tau: number): number[] {
  return priors.map((p) => {
    if (!(p > 0)) throw new FerError(`Class prior ${p} must be positive: compute priors with classPriors().`);
    return -tau * Math.log(p);
  });
}

/** softmax(log p + offsets) per row: the probabilities of the adjusted model, from the plain model's output. */
export function adjustProbabilities(probs: Float32Array, offsets: readonly number[]): Float32Array {
  const c = offsets.length;
  if (c === 0 || probs.length % c !== 0) throw new FerError(`${probs.length} probabilities do not split into rows of ${c} classes.`);
  const out = new Float32Array(probs.length);
  for (let row = 0; row < probs.length; row += c) {
    let max = -Infinity;
    for (let k = 0; k < c; k++) {
      const z = Math.log(Math.max(probs[row + k], 1e-30)) + offsets[k];
      out[row + k] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let k = 0; k < c; k++) sum += out[row + k] = Math.exp(out[row + k] - max);
    for (let k = 0; k < c; k++) out[row + k] /= sum;
  }
  return out;
}

/** Try each tau on validation predictions and keep the best by the criterion (ties: the smallest tau). */
export function chooseLogitAdjustment(
  labels: ArrayLike<number>,
  probs: Float32Array,
  classes: readonly string[],
  priors: readonly number[],
  options: LogitAdjustOptions = {},
): LogitAdjustment {
  if (priors.length !== classes.length) throw new FerError(`${priors.length} priors for ${classes.length} classes.`);
  const taus = options.taus ?? DEFAULT_LOGIT_TAUS;
  if (taus.length === 0 || taus.some((t) => !Number.isFinite(t) || t < 0)) {
    throw new FerError(`Logit adjustment taus must be finite and >= 0, got [${taus.join(', ')}].`);
  }
  const criterion = options.criterion ?? 'macroF1';
  const scores: LogitAdjustScore[] = taus.map((tau) => {
    const m = computeMetrics(labels, adjustProbabilities(probs, logitOffsets(priors, tau)), classes);
    return { tau, accuracy: m.accuracy, macroF1: m.macroF1, macroRecall: m.macroRecall, recall: m.perClass.map((p) => p.recall) };
  });
  let best = scores[0];
  for (const s of scores) {
    if (s[criterion] > best[criterion] + 1e-12 || (Math.abs(s[criterion] - best[criterion]) <= 1e-12 && s.tau < best.tau)) best = s;
  }
  return { tau: best.tau, offsets: logitOffsets(priors, best.tau), priors: [...priors], criterion, scores };
}

/**
 * Add the offsets to the bias of the model's output Dense layer (softmax or linear activation, or a Dense followed
 * by a softmax Activation layer). Changes the model in place.
 */
export function applyLogitAdjustment(model: tf.LayersModel, offsets: readonly number[]): void {
  let layer = model.outputs[0]?.sourceLayer as tf.layers.Layer | undefined;
  // The offsets shift logits: the Dense must output logits (linear) or softmax(logits), possibly via an Activation.
  const activationOf = (l: tf.layers.Layer | undefined) => (l?.getConfig() as { activation?: string } | undefined)?.activation ?? 'linear';
  let activationOk = true;
  if (layer && layer.getClassName() === 'Activation') {
    activationOk = activationOf(layer) === 'softmax' || activationOf(layer) === 'linear';
    layer = layer.inboundNodes[0]?.inboundLayers[0] as tf.layers.Layer | undefined;
    activationOk &&= activationOf(layer) === 'linear';
  } else {
    activationOk = activationOf(layer) === 'softmax' || activationOf(layer) === 'linear';
  }
  const bias = layer?.getClassName() === 'Dense' ? layer.trainableWeights.concat(layer.nonTrainableWeights).find((w) => w.name.endsWith('bias')) : undefined;
  if (!layer || !bias || !activationOk) {
    throw new FerError(
      `Model "${model.name}" does not end in a Dense layer with a bias that outputs logits or softmax(logits): ` +
        'logit adjustment needs one to fold the offsets into.',
    );
  }
  if (bias.shape.length !== 1 || bias.shape[0] !== offsets.length) {
    throw new FerError(`Model "${model.name}" has ${bias.shape[0]} output classes; got ${offsets.length} logit offsets.`);
  }
  tf.tidy(() => {
    bias.write(tf.add(bias.read(), tf.tensor1d(Array.from(offsets))));
  });
}
