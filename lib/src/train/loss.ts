/**
 * Softmax cross-entropy over (soft) target rows, with label smoothing and class weights.
 *
 *   targets'   = (1 - eps) * targets + eps / C                      (label smoothing)
 *   ce_i       = -sum_c targets'_ic * log p_ic
 *   w_i        = sum_c targets_ic * classWeight_c                   (1 without class weights)
 *   loss       = sum_i w_i * ce_i / sum_i w_i
 * With one-hot targets this is PyTorch's CrossEntropyLoss(weight, label_smoothing) with mean reduction.
 */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';

export interface LossOptions {
  /** 0..1 (0 = off). */
  labelSmoothing?: number;
  /** One weight per class, or undefined for none. */
  classWeights?: ArrayLike<number>;
  /** true when the model outputs logits, false when it ends in softmax (probabilities are clipped before log). */
  fromLogits?: boolean;
}

const PROB_EPSILON = 1e-7;

/** log-probabilities from model outputs. */
export function logProbabilities(outputs: tf.Tensor2D, fromLogits: boolean): tf.Tensor2D {
  return tf.tidy(() => (fromLogits ? tf.logSoftmax(outputs) : tf.log(tf.clipByValue(outputs, PROB_EPSILON, 1))));
}

/** Per-example loss weights w_i = targets . classWeights (a [n] tensor). */
function exampleWeights(targets: tf.Tensor2D, classWeights: ArrayLike<number>): tf.Tensor1D {
  const c = targets.shape[1];
  if (classWeights.length !== c) {
    throw new FerError(`classWeights has ${classWeights.length} entries but the model has ${c} classes.`);
  }
  return tf.tidy(() => tf.matMul(targets, tf.tensor2d(Array.from(classWeights), [c, 1])).reshape([-1]) as tf.Tensor1D);
}

/** The scalar loss (see the file comment). `outputs` and `targets` are [n, C]. */
export function crossEntropy(outputs: tf.Tensor2D, targets: tf.Tensor2D, options: LossOptions = {}): tf.Scalar {
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps < 1)) throw new FerError(`labelSmoothing must be in [0, 1), got ${eps}.`);
  return tf.tidy(() => {
    const c = targets.shape[1];
    const smoothed = eps > 0 ? tf.add(tf.mul(targets, 1 - eps), eps / c) : targets;
    const ce = tf.neg(tf.sum(tf.mul(smoothed, logProbabilities(outputs, options.fromLogits ?? false)), 1));
    if (!options.classWeights) return tf.mean(ce) as tf.Scalar;
    const w = exampleWeights(targets, options.classWeights);
    return tf.div(tf.sum(tf.mul(w, ce)), tf.sum(w)) as tf.Scalar;
  });
}

/** Number of rows whose arg-max output equals the arg-max target (a scalar tensor). */
export function correctCount(outputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(outputs, 1), tf.argMax(targets, 1)), 'float32')) as tf.Scalar);
}

/** One-hot rows (n * classes) from class indices. */
export function oneHotRows(labels: ArrayLike<number>, classes: number, out?: Float32Array): Float32Array {
  const rows = out ?? new Float32Array(labels.length * classes);
  rows.fill(0);
  for (let i = 0; i < labels.length; i++) rows[i * classes + labels[i]] = 1;
  return rows;
}

/**
 * Does this model end in a softmax (outputs are probabilities) rather than logits? Looks at the last layer's
 * activation (Dense/Conv with activation 'softmax', or an Activation/Softmax layer).
 */
export function outputsProbabilities(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig() as { activation?: unknown };
  return last.getClassName() === 'Softmax' || config.activation === 'softmax';
}
