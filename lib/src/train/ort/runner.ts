/**
 * The onnxruntime training engine: each step runs the training graph (train/ort/graph.ts) on onnxruntime-node's
 * multi-threaded CPU kernels, then applies the gradients with fer-lab's optimizer to the runner's own weight arrays
 * (shared with the workers) and copies them into the TF.js variables after every step, so checkpoints, evaluation and
 * export read the variables as before.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { FerError, errorMessage } from '../../errors';
import { encodeModel } from '../../export/graph';
import type { LossOptions } from '../loss';
import type { TrainOptimizer } from '../optimizers';
import { deriveSeed, createRandom } from '../random';
import type { StepResult, StepRunner } from '../step';
import { buildTrainingGraph, TrainingGraph, TrainingGraphOptions } from './graph';
import { OrtWorkerPool, sharedArrays } from './pool';
import { createTrainingSession, GraphBatch, GraphOutputs, runTrainingGraph, TrainingGraphSpec } from './session';
import { sizeOf } from '../../util/arrays';

export interface OrtTrainOptions {
  /** onnxruntime intra-op threads in all (default: every core), shared out among the workers. */
  threads?: number;
  /** Data-parallel worker threads, each with its own session on a share of every batch (default 1: this thread). */
  workers?: number;
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

/** Where the graph runs: one session in this thread, or a pool of worker sessions on shares of the batch. */
interface GraphRunner {
  /** The outputs' arrays may be the runner's own buffers (the worker pool's): valid until the next run. */
  run(batch: GraphBatch, params: Float32Array[]): Promise<GraphOutputs>;
  close(): Promise<void>;
}

export function trainingGraphSpec(graph: TrainingGraph): TrainingGraphSpec {
  return {
    inputShape: graph.graph.input.shape as number[],
    classes: graph.classes,
    params: graph.params.map((p) => ({ input: p.input, grad: p.grad, shape: p.shape })),
    dropouts: graph.dropouts.map((d) => ({ input: d.input, shape: d.shape })),
    batchNorms: graph.batchNorms.map((b) => ({ mean: b.mean, variance: b.variance })),
  };
}

export class OrtStepRunner implements StepRunner {
  private readonly variables: tf.Variable[];
  private readonly shapes: number[][];
  private weightMap: Map<tf.Variable, Float32Array> | undefined;
  private constructor(
    private readonly graphRunner: GraphRunner,
    private readonly graph: TrainingGraph,
    /** The weights as the optimizer updates them (shared memory with workers); written back to the TF.js variables after every step. */
    private readonly params: Float32Array[],
    private readonly optimizer: TrainOptimizer,
    private readonly loss: LossOptions,
  ) {
    this.variables = graph.params.map((p) => p.variable.read() as tf.Variable);
    this.shapes = graph.params.map((p) => p.shape);
  }

  static async create(model: tf.LayersModel, optimizer: TrainOptimizer, loss: LossOptions, options: OrtTrainOptions = {}): Promise<OrtStepRunner> {
    const graph = buildTrainingGraph(model, options.graph);
    const spec = trainingGraphSpec(graph);
    const bytes = encodeModel(graph.graph, { producerVersion: 'train', metadata: {} });
    const threads = options.threads ?? os.cpus().length;
    const workers = Math.max(1, options.workers ?? 1);
    const initial = graph.params.map((p) => (p.variable.read() as tf.Variable).dataSync() as Float32Array);
    if (workers === 1) {
      const session = await createTrainingSession(bytes, threads, model.name);
      const local: GraphRunner = { run: (batch, params) => runTrainingGraph(session, spec, batch, params), close: () => session.release() };
      return new OrtStepRunner(local, graph, initial.map((w) => new Float32Array(w)), optimizer, loss);
    }
    const shared = sharedArrays(spec.params.map((p) => p.shape));
    shared.views.forEach((v, i) => v.set(initial[i]));
    const pool = await OrtWorkerPool.create(bytes, spec, shared.buffer, {
      workers, threadsPerWorker: Math.max(1, Math.floor(threads / workers)), what: model.name,
    });
    return new OrtStepRunner({ run: (batch) => pool.run(batch), close: () => pool.close() }, graph, shared.views, optimizer, loss);
  }

  /**
   * Loss, logits and gradients of one batch, without touching the weights (tests compare these with TF.js). With
   * workers the gradients are the pool's buffers: valid until the next call.
   */
  async gradients(inputs: Float32Array, targets: Float32Array, n: number, stepSeed: number): Promise<GraphOutputs> {
    const k = this.graph.classes;
    const { smoothed, weights } = lossInputs(targets, n, k, this.loss);
    const masks = this.graph.dropouts.map((d, j) =>
      dropoutMask(n * sizeOf(d.shape), d.rate, deriveSeed(stepSeed, 'dropout', j)));
    const [, h, w, c] = this.graph.graph.input.shape as number[];
    return this.graphRunner.run({ n, x: inputs.subarray(0, n * h * w * c), targets: smoothed, weights, masks }, this.params);
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

  weightArrays(): ReadonlyMap<tf.Variable, Float32Array> {
    // the same variables and arrays for the runner's life: one map
    this.weightMap ??= new Map(this.variables.map((v, i) => [v, this.params[i]]));
    return this.weightMap;
  }

  async close(): Promise<void> {
    await this.graphRunner.close();
  }
}
