import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { FerError } from '../../lib/src/errors';

import {
  adjustProbabilities, applyLogitAdjustment, chooseLogitAdjustment, classPriors, logitOffsets,
} from '../../lib/src/train/logit-adjust';
import { createRandom } from '../../lib/src/train/random';

beforeAll(async () => {
  await initBackend('cpu');
});

const classes = ['common', 'middle', 'rare'];

/**
 * A 3-class problem where the model's scores carry the training prior: the rare class (5%) is only predicted
 * when its evidence beats the prior, so its recall is low until the prior is divided out.
 */
function imbalanced(n: number, seed: number) {
  const priors = [0.65, 0.3, 0.05];
  const random = createRandom(seed);
  const labels = new Uint8Array(n);
  const probs = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const u = random();
    const y = u < priors[0] ? 0 : u < priors[0] + priors[1] ? 1 : 2;
    labels[i] = y;
    let sum = 0;
    for (let k = 0; k < 3; k++) {
      const evidence = Math.exp((k === y ? 1.2 : 0) + 0.9 * (random() - 0.5));
      probs[i * 3 + k] = evidence * priors[k];
      sum += probs[i * 3 + k];
    }
    for (let k = 0; k < 3; k++) probs[i * 3 + k] /= sum;
  }
  return { labels, probs, priors };
}

describe('logit adjustment', () => {
  test('zero offsets keep the probabilities; offsets move mass toward the boosted class', () => {
    const p = Float32Array.of(0.7, 0.2, 0.1, 0.1, 0.3, 0.6);
    const same = adjustProbabilities(p, [0, 0, 0]);
    same.forEach((v, i) => expect(v).toBeCloseTo(p[i], 6));
    const boosted = adjustProbabilities(p, [0, 0, Math.log(10)]);
    // row 1: 0.7, 0.2, 1.0 before normalising
    expect(boosted[2]).toBeCloseTo(1.0 / 1.9, 5);
    expect(boosted[0] + boosted[1] + boosted[2]).toBeCloseTo(1, 6);
    expect(logitOffsets([0.5, 0.25], 1)).toEqual([Math.log(2), Math.log(4)]);
    expect(classPriors([3, 0, 1])).toEqual([3 / 4.5, 0.5 / 4.5, 1 / 4.5]);
  });

  test('on validation predictions that carry the class prior it picks tau > 0 and raises rare-class recall and macro-F1', () => {
    const { labels, probs, priors } = imbalanced(4000, 3);
    const choice = chooseLogitAdjustment(labels, probs, classes, priors);
    const plain = choice.scores.find((s) => s.tau === 0)!;
    const chosen = choice.scores.find((s) => s.tau === choice.tau)!;
    expect(choice.tau).toBeGreaterThan(0.3);
    expect(chosen.macroF1).toBeGreaterThan(plain.macroF1 + 0.02);
    expect(chosen.recall[2]).toBeGreaterThan(plain.recall[2] + 0.1);
    // the choice is the best of its own table
    for (const s of choice.scores) expect(s.macroF1).toBeLessThanOrEqual(chosen.macroF1);
    expect(choice.offsets).toEqual(logitOffsets(priors, choice.tau));
  });

  test('balanced, prior-free predictions keep tau = 0', () => {
    const { labels, probs } = imbalanced(3000, 5);
    // predictions of a model that already divided the prior out: adjusting them again only hurts macro-F1
    const debiased = adjustProbabilities(probs, logitOffsets([0.65, 0.3, 0.05], 1));
    const choice = chooseLogitAdjustment(labels, debiased, classes, [0.65, 0.3, 0.05], { taus: [0, 0.5, 1, 1.5] });
    expect(choice.tau).toBe(0);
    expect(() => chooseLogitAdjustment(labels, debiased, classes, [0.65, 0.3, 0.05], { taus: [-1] })).toThrow(FerError);
    expect(() => chooseLogitAdjustment(labels, debiased, classes, [0.5, 0.5])).toThrow(/2 priors for 3 classes/);
  });

  test('folded into the output Dense bias, the model outputs the adjusted probabilities', () => {
    const input = tf.input({ shape: [4] });
    const hidden = tf.layers.dense({ units: 5, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(hidden) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const x = tf.tensor2d([[0.1, -0.3, 0.8, 0.2], [1, 0.5, -0.2, 0.3]]);
    const before = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const offsets = logitOffsets([0.65, 0.3, 0.05], 0.8);
    applyLogitAdjustment(model, offsets);
    const after = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const expected = adjustProbabilities(Float32Array.from(before), offsets);
    after.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    // a model without an output bias cannot take the offsets
    const noBias = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, useBias: false })] });
    expect(() => applyLogitAdjustment(noBias, offsets)).toThrow(/Dense layer with a bias/);
    // a sigmoid head: shifting its bias is not the validated softmax(log p + offsets)
    const sigmoid = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'sigmoid' })] });
    expect(() => applyLogitAdjustment(sigmoid, offsets)).toThrow(/outputs logits or softmax/);
    sigmoid.dispose();
    expect(() => applyLogitAdjustment(model, [1, 2])).toThrow(/3 output classes; got 2/);
    x.dispose();
    model.dispose();
    noBias.dispose();
  });
});
