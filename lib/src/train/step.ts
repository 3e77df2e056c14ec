/**
 * One optimisation step on one batch: forward in training mode, loss, gradients (tf.variableGrads), optimizer
 * update, all inside tf.tidy so nothing outlives the step but the updated variables.
 */
import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIZE } from '../emotions';
import { PREPROCESS } from '../transforms/preprocess';
import { correctCount, crossEntropy, LossOptions } from './loss';
import type { TrainOptimizer } from './optimizers';
import { deriveSeed, withSeededMathRandom } from './random';

export interface StepResult {
  /** Mean loss of the batch before the update. */
  loss: number;
  /** Rows whose arg-max output equals the arg-max target. */
  correct: number;
}

/** (normalised NHWC inputs, target rows, batch size, learning rate) -> loss and correct count. */
export type TrainStep = (inputs: Float32Array, targets: Float32Array, n: number, lr: number) => StepResult;

export function createTrainStep(model: tf.LayersModel, optimizer: TrainOptimizer, loss: LossOptions): TrainStep {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1] as number;
  return (inputs, targets, n, lr) => {
    const [lossT, correctT] = tf.tidy(() => {
      const xs = tf.tensor4d(inputs, [n, IMAGE_SIZE, IMAGE_SIZE, PREPROCESS.channels]);
      const ys = tf.tensor2d(targets, [n, classes]);
      let correct: tf.Scalar | undefined;
      try {
        const { value, grads } = tf.variableGrads(() => {
          const outputs = model.apply(xs, { training: true }) as tf.Tensor2D;
          // kept past the gradient scope; disposed by the caller (or below if the step fails)
          correct = tf.keep(correctCount(outputs, ys));
          return crossEntropy(outputs, ys, loss);
        }, variables);
        optimizer.apply(variables, variables.map((v) => grads[v.name]), lr);
        return [value, correct as tf.Scalar];
      } catch (err) {
        correct?.dispose();
        throw err;
      }
    });
    const result = { loss: lossT.dataSync()[0], correct: correctT.dataSync()[0] };
    lossT.dispose();
    correctT.dispose();
    return result;
  };
}

/** Layers that draw random numbers from a `seed` field at call time (Dropout, GaussianNoise, ...). */
function seededLayers(model: tf.LayersModel): Array<{ seed?: number }> {
  return model.layers.filter((l) => 'seed' in l) as unknown as Array<{ seed?: number }>;
}

/**
 * Run `fn` with this step's randomness: each random layer gets a seed derived from `stepSeed` (a layer built with
 * a fixed seed would otherwise draw the same dropout mask at every step), and Math.random, which TF.js uses for
 * unseeded random ops, is a stream from `stepSeed`. Seeds are restored afterwards.
 */
export function withStepRandomness<T>(model: tf.LayersModel, stepSeed: number, fn: () => T): T {
  const layers = seededLayers(model);
  const saved = layers.map((l) => l.seed);
  layers.forEach((l, k) => (l.seed = deriveSeed(stepSeed, k)));
  try {
    return withSeededMathRandom(stepSeed, fn);
  } finally {
    layers.forEach((l, k) => (l.seed = saved[k]));
  }
}

/** Runs training steps, in this thread or spread over workers (train/parallel). */
export interface StepRunner {
  run(inputs: Float32Array, targets: Float32Array, n: number, lr: number, stepSeed: number): Promise<StepResult>;
  close(): Promise<void>;
  /**
   * The runner's own copy of trainable weights after the last step, by variable (optional): readers such as the
   * weight average use it instead of reading each variable back from the backend (a 10 MB copy per step on wasm).
   * These are the live arrays the next step updates (with workers, the memory they read): read them, never write,
   * and do not keep them past the next run.
   */
  weightArrays?(): ReadonlyMap<tf.Variable, Float32Array>;
}

/** Steps in this thread. */
export function localStepRunner(model: tf.LayersModel, optimizer: TrainOptimizer, loss: LossOptions): StepRunner {
  const step = createTrainStep(model, optimizer, loss);
  return {
    run: async (inputs, targets, n, lr, stepSeed) => withStepRandomness(model, stepSeed, () => step(inputs, targets, n, lr)),
    close: async () => undefined,
  };
}
