/**
 * A moving average of the model's weights (as timm's ModelEma): after every step
 * ema = d * ema + (1 - d) * weights with d = min(decay, n / (n + 1)) at the n-th update, i.e. the plain mean of
 * the starting weights and every step's until 1/(1 - decay) steps, then an exponential average over about that
 * many steps (no bias towards the starting weights, as with Adam's bias correction). From scratch, that mean keeps
 * the early, poor weights in the average for a long time: a warm-up power p (timm's ModelEmaV3) uses
 * d = min(decay, 1 - (1 + n)^-p) instead, a window that grows as n^p (p = 3/4: 180 steps at step 1000, 1000 steps
 * from step 10000 on). Validation, best/ and the shipped model use the averaged weights, which sit nearer the
 * middle of the region the optimizer wanders in late in training.
 * All weights are averaged, batch-norm moving statistics included (as timm averages buffers), so the statistics
 * match the averaged kernels.
 */
import * as tf from '@tensorflow/tfjs';

export interface EmaState {
  decay: number;
  /** Steps averaged so far. */
  updates: number;
  /** 0: the mean-then-exponential rule; > 0: timm's warm-up power (see the file comment). */
  warmupPower: number;
  /** One array per weight, in model.weights order (trainable and not). */
  weights: Float32Array[];
}

function weightVariables(model: tf.LayersModel): tf.Variable[] {
  return model.weights.map((w) => w.read() as tf.Variable);
}

export class WeightEma {
  private constructor(private readonly s: EmaState) {}

  /** Start averaging from the model's current weights. */
  static start(model: tf.LayersModel, decay: number, warmupPower = 0): WeightEma {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`EMA decay must be in (0, 1), got ${decay}`);
    if (!(warmupPower >= 0 && warmupPower <= 1)) throw new RangeError(`EMA warm-up power must be in [0, 1], got ${warmupPower}`);
    return new WeightEma({ decay, updates: 0, warmupPower, weights: weightVariables(model).map((v) => new Float32Array(v.dataSync() as Float32Array)) });
  }

  /** Continue a saved average; its arrays must match the model's trainable weights. */
  static restore(model: tf.LayersModel, state: EmaState): WeightEma {
    const variables = weightVariables(model);
    if (state.weights.length !== variables.length || state.weights.some((w, i) => w.length !== variables[i].size)) {
      throw new RangeError(`The saved weight average has ${state.weights.length} arrays; the model has ${variables.length} weights of other sizes.`);
    }
    return new WeightEma({ ...state, weights: state.weights.map((w) => new Float32Array(w)) });
  }

  /** The decay used at the next update. */
  currentDecay(): number {
    const n = this.s.updates + 1;
    const warmup = this.s.warmupPower > 0 ? 1 - (1 + n) ** -this.s.warmupPower : n / (n + 1);
    return Math.min(this.s.decay, warmup);
  }

  /**
   * Fold the model's current weights into the average (call after every optimizer step). `known`: arrays that
   * already hold some variables' current values (StepRunner.weightArrays), read instead of the backend.
   */
  update(model: tf.LayersModel, known?: ReadonlyMap<tf.Variable, Float32Array>): void {
    // avg = d * avg + (1 - d) * w, written as one multiply-add per weight
    const rate = 1 - this.currentDecay();
    const variables = weightVariables(model);
    const current = variables.map((v) => known?.get(v) ?? (v.dataSync() as Float32Array));
    // checked before any change: an array of the wrong size would fill the average with NaN or cut it short
    current.forEach((w, i) => {
      if (w.length !== this.s.weights[i].length) {
        throw new RangeError(`Weight average: ${variables[i].name} has ${w.length} values, its average ${this.s.weights[i].length}.`);
      }
    });
    current.forEach((w, i) => {
      const avg = this.s.weights[i];
      for (let j = 0; j < avg.length; j++) avg[j] += rate * (w[j] - avg[j]);
    });
    this.s.updates += 1;
  }

  state(): EmaState {
    return { ...this.s, weights: this.s.weights.map((w) => new Float32Array(w)) };
  }

  /** Put the averaged weights into the model (for good). */
  assignTo(model: tf.LayersModel): void {
    const variables = weightVariables(model);
    tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(this.s.weights[i], v.shape, 'float32'))));
  }

  /**
   * Run `fn` with the averaged weights in the model, then put the model's own weights back (also when `fn` throws).
   */
  async withAveragedWeights<T>(model: tf.LayersModel, fn: () => Promise<T>): Promise<T> {
    const variables = weightVariables(model);
    const own = variables.map((v) => tf.clone(v));
    try {
      this.assignTo(model);
      return await fn();
    } finally {
      variables.forEach((v, i) => v.assign(own[i]));
      own.forEach((t) => t.dispose());
    }
  }
}
