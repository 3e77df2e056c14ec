import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { crossEntropy, oneHotRows, outputsProbabilities } from '../../lib/src/train/loss';
import { FerError } from '../../lib/src/errors';

beforeAll(async () => {
  await initBackend('cpu');
});

const probs = [
  [0.7, 0.2, 0.1],
  [0.1, 0.3, 0.6],
];
const labels = [0, 1];

/** The formula by hand, in float64. */
function handLoss(eps: number, weights?: number[], targets: number[][] = labels.map((l) => [0, 1, 2].map((c) => (c === l ? 1 : 0)))): number {
  let num = 0;
  let den = 0;
  probs.forEach((p, i) => {
    const t = targets[i];
    const ce = -p.reduce((acc, pc, c) => acc + ((1 - eps) * t[c] + eps / 3) * Math.log(pc), 0);
    const w = weights ? t.reduce((acc, tc, c) => acc + tc * weights[c], 0) : 1;
    num += w * ce;
    den += w;
  });
  return num / den;
}

function lossOf(options: Parameters<typeof crossEntropy>[2], targets?: number[][]): number {
  return tf.tidy(() =>
    crossEntropy(tf.tensor2d(probs), targets ? tf.tensor2d(targets) : tf.tensor2d(oneHotRows(labels, 3), [2, 3]), options).dataSync()[0],
  );
}

describe('crossEntropy', () => {
  test('plain, label smoothing and class weights match the hand computation', () => {
    expect(lossOf({})).toBeCloseTo(handLoss(0), 5);
    expect(lossOf({ labelSmoothing: 0.1 })).toBeCloseTo(handLoss(0.1), 5);
    expect(lossOf({ classWeights: [2, 0.5, 1] })).toBeCloseTo(handLoss(0, [2, 0.5, 1]), 5);
    expect(lossOf({ labelSmoothing: 0.2, classWeights: [2, 0.5, 1] })).toBeCloseTo(handLoss(0.2, [2, 0.5, 1]), 5);
    // hand values, so the formula itself is pinned: -(ln 0.7 + ln 0.3)/2 and (2*-ln0.7 + 0.5*-ln0.3)/2.5
    expect(lossOf({})).toBeCloseTo(-(Math.log(0.7) + Math.log(0.3)) / 2, 5);
    expect(lossOf({ classWeights: [2, 0.5, 1] })).toBeCloseTo((2 * -Math.log(0.7) + 0.5 * -Math.log(0.3)) / 2.5, 5);
  });

  test('soft targets', () => {
    const soft = [
      [0.5, 0.5, 0],
      [0.1, 0.2, 0.7],
    ];
    expect(lossOf({ labelSmoothing: 0.1, classWeights: [1, 2, 3] }, soft)).toBeCloseTo(handLoss(0.1, [1, 2, 3], soft), 5);
  });

  test('from logits equals from softmax probabilities', () => {
    const logits = [
      [2, -1, 0.5],
      [0, 3, -2],
    ];
    const y = oneHotRows([2, 1], 3);
    const [a, b] = tf.tidy(() => {
      const l = tf.tensor2d(logits);
      const t = tf.tensor2d(y, [2, 3]);
      return [
        crossEntropy(l, t, { fromLogits: true, labelSmoothing: 0.1 }).dataSync()[0],
        crossEntropy(tf.softmax(l), t, { labelSmoothing: 0.1 }).dataSync()[0],
      ];
    });
    expect(a).toBeCloseTo(b, 5);
  });

  test('bad settings are FerErrors', () => {
    expect(() => lossOf({ classWeights: [1, 2] })).toThrow(FerError);
    expect(() => lossOf({ labelSmoothing: 1 })).toThrow(/labelSmoothing/);
  });

  test('outputsProbabilities tells softmax heads from logits', () => {
    const input = tf.input({ shape: [4] });
    const soft = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, activation: 'softmax' }).apply(input) as tf.SymbolicTensor });
    const raw = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
    expect(outputsProbabilities(soft)).toBe(true);
    expect(outputsProbabilities(raw)).toBe(false);
    soft.dispose();
    raw.dispose();
  });
});
