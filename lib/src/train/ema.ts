/**
 * An exponential moving average of the trainable weights (timm's ModelEma): after every step
 * ema = d * ema + (1 - d) * weights, with d warmed up as min(decay, (1 + updates) / (10 + updates)) so the first
 * steps do not drag the average towards the starting weights. Validation, best/ and the shipped model use the
 * averaged weights, which sit nearer the middle of the region the optimizer wanders in at the end of training.
 * Batch-norm moving statistics are not averaged again: they are already a moving average of the batches.
 */
import * as tf from '@tensorflow/tfjs';

export interface EmaState {
  decay: number;
  /** Steps averaged so far. */
  updates: number;
  /** One array per trainable weight, in model.trainableWeights order. */
  weights: Float32Array[];
}

function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

export class WeightEma {
  private constructor(private readonly s: EmaState) {}

  /** Start averaging from the model's current weights. */
  static start(model: tf.LayersModel, decay: number): WeightEma {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`EMA decay must be in (0, 1), got ${decay}`);
    return new WeightEma({ decay, updates: 0, weights: trainableVariables(model).map((v) => new Float32Array(v.dataSync() as Float32Array)) });
  }

  /** Continue a saved average; its arrays must match the model's trainable weights. */
  static restore(model: tf.LayersModel, state: EmaState): WeightEma {
    const variables = trainableVariables(model);
    if (state.weights.length !== variables.length || state.weights.some((w, i) => w.length !== variables[i].size)) {
      throw new RangeError(`The saved weight average has ${state.weights.length} arrays; the model has ${variables.length} trainable weights of other sizes.`);
    }
    return new WeightEma({ ...state, weights: state.weights.map((w) => new Float32Array(w)) });
  }

  /** The decay used at the next update. */
  currentDecay(): number {
    return Math.min(this.s.decay, (1 + this.s.updates) / (10 + this.s.updates));
  }

  /** Fold the model's current weights into the average (call after every optimizer step). */
  update(model: tf.LayersModel): void {
    const d = this.currentDecay();
    const variables = trainableVariables(model);
    variables.forEach((v, i) => {
      const w = v.dataSync() as Float32Array;
      const avg = this.s.weights[i];
      for (let j = 0; j < avg.length; j++) avg[j] = d * avg[j] + (1 - d) * w[j];
    });
    this.s.updates += 1;
  }

  state(): EmaState {
    return { ...this.s, weights: this.s.weights.map((w) => new Float32Array(w)) };
  }

  /** Put the averaged weights into the model (for good). */
  assignTo(model: tf.LayersModel): void {
    const variables = trainableVariables(model);
    tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(this.s.weights[i], v.shape, 'float32'))));
  }

  /**
   * Run `fn` with the averaged weights in the model, then put the model's own weights back (also when `fn` throws).
   */
  async withAveragedWeights<T>(model: tf.LayersModel, fn: () => Promise<T>): Promise<T> {
    const variables = trainableVariables(model);
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
