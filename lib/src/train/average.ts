/**
 * Uniform weight averaging of models of one architecture (a "model soup", Wortsman et al. 2022): one model whose
 * every weight, batch-norm statistics included, is the mean of the inputs'. It only makes sense for runs that share
 * a parent (`fer train --init` chains, fine-tunes of one checkpoint); models trained from different random starts
 * do not average into a working model.
 */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';

/**
 * The mean of each weight over `models`, in `model.weights` order (ready for `setWeights` on any of them).
 * `names[i]` names models[i] in errors. The caller disposes the returned tensors.
 */
export function averageWeights(models: readonly tf.LayersModel[], names: readonly string[] = []): tf.Tensor[] {
  if (models.length === 0) throw new FerError('Weight averaging needs at least one model.');
  const nameOf = (i: number) => names[i] ?? `model ${i + 1}`;
  const reference = models[0].weights;
  models.forEach((model, i) => {
    const weights = model.weights;
    if (weights.length !== reference.length) {
      throw new FerError(
        `${nameOf(i)} has ${weights.length} weights, ${nameOf(0)} ${reference.length}: ` +
          'only models of one architecture can be averaged.',
      );
    }
    weights.forEach((w, j) => {
      const ref = reference[j];
      // Shapes, not names: layers built in one process get numbered names (dense_Dense1, dense_Dense2, ...).
      if (!tf.util.arraysEqual(w.shape, ref.shape)) {
        throw new FerError(
          `${nameOf(i)}'s weight ${j} (${w.originalName}) is [${w.shape}], ${nameOf(0)}'s (${ref.originalName}) ` +
            `[${ref.shape}]: only models of one architecture can be averaged.`,
        );
      }
    });
  });
  return reference.map((_, j) =>
    tf.tidy(() => tf.div(tf.addN(models.map((m) => m.weights[j].read())), models.length)),
  );
}
