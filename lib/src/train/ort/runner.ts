/**
 * The onnxruntime training engine: each step runs the training graph (train/ort/graph.ts) on onnxruntime-node's
 * multi-threaded CPU kernels, then applies the gradients with fer-lab's optimizer to the TF.js variables, which stay
 * the single copy of the weights (checkpoints, evaluation and export read them as before).
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { FerError, errorMessage } from '../../errors';
import { encodeModel } from '../../export/graph';
import type { LossOptions } from '../loss';
import type { TrainOptimizer } from '../optimizers';
import { deriveSeed, createRandom } from '../random';
import type { StepResult, StepRunner } from '../step';
import { buildTrainingGraph, TrainingGraph, TrainingGraphOptions } from './graph';

export interface OrtTrainOptions {
  /** onnxruntime intra-op threads (default: every core). */
  threads?: number;
  /** How the training graph is laid out (tests force each convolution path). */
  graph?: Partial<TrainingGraphOptions>;
}

/** Can this model train on onnxruntime? undefined when yes, else the reason (a supported-layers message). */
export function ortTrainingProblem(model: tf.LayersModel): string | undefined {
  try {
    buildTrainingGraph(model);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** Label smoothing and per-example loss weights as the graph takes them (see train/loss.ts for the formula). */
export function lossInputs(targets: Float32Array, n: number, classes: number, loss: LossOptions): { smoothed: Float32Array; weights: Float32Array } {
  const eps = loss.labelSmoothing ?? 0;
  const smoothed = new Float32Array(n * classes);
  for (let i = 0; i < n * classes; i++) smoothed[i] = targets[i] * (1 - eps) + eps / classes;
  const weights = new Float32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    let w = 1;
    if (loss.classWeights) {
      w = 0;
      for (let c = 0; c < classes; c++) w += targets[i * classes + c] * loss.classWeights[c];
    }
    weights[i] = w;
    total += w;
  }
  if (!(total > 0)) throw new FerError('Every example in the batch has loss weight 0: check the class weights.');
  for (let i = 0; i < n; i++) weights[i] /= total;
  return { smoothed, weights };
}

function argMaxRow(data: ArrayLike<number>, row: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (data[row * classes + c] > data[row * classes + best]) best = c;
  return best;
}

/** Inverted dropout mask: 0 with probability `rate`, else 1/(1-rate); seeded per step and layer. */
function dropoutMask(size: number, rate: number, seed: number): Float32Array {
  const random = createRandom(seed);
  const keep = 1 / (1 - rate);
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) mask[i] = random() < rate ? 0 : keep;
  return mask;
}

export class OrtStepRunner implements StepRunner {
  private readonly variables: tf.Variable[];
  /** The weights as the optimizer updates them; written back to the TF.js variables after every step. */
  private readonly params: Float32Array[];
  private readonly shapes: number[][];
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly graph: TrainingGraph,
    private readonly optimizer: TrainOptimizer,
    private readonly loss: LossOptions,
  ) {
    this.variables = graph.params.map((p) => p.variable.read() as tf.Variable);
    this.params = this.variables.map((v) => new Float32Array(v.dataSync() as Float32Array));
    this.shapes = graph.params.map((p) => p.shape);
  }

  static async create(model: tf.LayersModel, optimizer: TrainOptimizer, loss: LossOptions, options: OrtTrainOptions = {}): Promise<OrtStepRunner> {
    const graph = buildTrainingGraph(model, options.graph);
    const bytes = encodeModel(graph.graph, { producerVersion: 'train', metadata: {} });
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: options.threads ?? os.cpus().length,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new FerError(`onnxruntime could not load the training graph of "${model.name}" (${errorMessage(err)}); train with --engine tfjs.`, { cause: err });
    }
    return new OrtStepRunner(session, graph, optimizer, loss);
  }

  /** Loss, logits and gradients of one batch, without touching the weights (tests compare these with TF.js). */
  async gradients(inputs: Float32Array, targets: Float32Array, n: number, stepSeed: number): Promise<{ loss: number; logits: Float32Array; grads: Float32Array[]; batchStats: Array<{ mean: Float32Array; variance: Float32Array }> }> {
    const g = this.graph;
    const k = g.classes;
    const [, h, w, c] = (g.graph.input.shape as number[]);
    const { smoothed, weights } = lossInputs(targets, n, k, this.loss);
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor('float32', inputs.subarray(0, n * h * w * c), [n, h, w, c]),
      targets: new ort.Tensor('float32', smoothed, [n, k]),
      weights: new ort.Tensor('float32', weights, [n]),
    };
    g.params.forEach((p, i) => {
      feeds[p.input] = new ort.Tensor('float32', this.params[i], p.shape);
    });
    g.dropouts.forEach((d, j) => {
      const size = n * d.shape.reduce((a, b) => a * b, 1);
      feeds[d.input] = new ort.Tensor('float32', dropoutMask(size, d.rate, deriveSeed(stepSeed, 'dropout', j)), [n, ...d.shape]);
    });
    const out = await this.session.run(feeds);
    const take = (name: string): Float32Array => {
      const t = out[name];
      const data = t.data as Float32Array;
      t.dispose();
      return data;
    };
    return {
      loss: take('loss')[0],
      logits: take('logits'),
      grads: g.params.map((p) => take(p.grad)),
      batchStats: g.batchNorms.map((b) => ({ mean: take(b.mean), variance: take(b.variance) })),
    };
  }

  async run(inputs: Float32Array, targets: Float32Array, n: number, lr: number, stepSeed: number): Promise<StepResult> {
    const r = await this.gradients(inputs, targets, n, stepSeed);
    const k = this.graph.classes;
    let correct = 0;
    for (let i = 0; i < n; i++) if (argMaxRow(r.logits, i, k) === argMaxRow(targets, i, k)) correct++;
    this.optimizer.applyToArrays(this.params, r.grads, this.shapes, lr);
    tf.tidy(() => {
      this.variables.forEach((v, i) => v.assign(tf.tensor(this.params[i], this.shapes[i], 'float32')));
      // TF.js's moving averages: moving -= (moving - batch) * (1 - momentum)
      this.graph.batchNorms.forEach((b, i) => {
        for (const [variable, stat] of [[b.movingMean, r.batchStats[i].mean], [b.movingVariance, r.batchStats[i].variance]] as const) {
          const current = variable.read();
          variable.write(tf.sub(current, tf.mul(tf.sub(current, tf.tensor1d(stat)), 1 - b.momentum)));
        }
      });
    });
    return { loss: r.loss, correct };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
