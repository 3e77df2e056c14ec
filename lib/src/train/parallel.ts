/**
 * Data-parallel training over worker threads. The wasm backend runs single-threaded in Node, but two wasm
 * instances in two threads each run at full speed: every step, each worker gets the current weights and a share of
 * the batch, computes the gradient of its share, and this thread adds the shares up and applies the optimizer.
 *
 * Each worker's loss is scaled by (its share of the loss weight) / (the batch's), so the summed gradient is the
 * gradient of the whole batch's loss: for models without batch norm the step equals the one-batch step up to float
 * rounding. With batch norm each worker normalises with its own share's statistics (like PyTorch DDP without
 * SyncBatchNorm); the moving averages get the whole batch's statistics (the shares' combined exactly, as in
 * train/ort/pool.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { PIXELS_PER_IMAGE } from '../emotions';
import type { BackendName } from '../backend';
import type { LossOptions } from './loss';
import type { TrainOptimizer } from './optimizers';
import type { StepResult, StepRunner } from './step';
import type { WorkerInit, WorkerReply, WorkerStep } from './parallel-worker';
import { WorkerHandle, workerScript } from './worker-handle';
import { addInto, sizeOf } from '../util/arrays';

export interface ParallelOptions {
  workers: number;
  backend: BackendName;
}

type TfjsWorker = WorkerHandle<WorkerInit | WorkerStep, WorkerReply>;

/** Start `options.workers` workers holding copies of `model`; steps update `model` and `optimizer` here. */
export async function parallelStepRunner(
  model: tf.LayersModel,
  optimizer: TrainOptimizer,
  loss: LossOptions,
  options: ParallelOptions,
): Promise<StepRunner> {
  const count = options.workers;
  const allWeights = model.weights;
  const trainable = model.trainableWeights;
  const trainableIndex = trainable.map((w) => allWeights.indexOf(w));
  const nonTrainableIndex = allWeights.map((_, i) => i).filter((i) => !trainableIndex.includes(i));
  const sizes = allWeights.map((w) => sizeOf(w.shape as number[]));
  const offsets: number[] = [];
  sizes.reduce((acc, s, i) => ((offsets[i] = acc), acc + s), 0);
  const total = sizes.reduce((a, b) => a + b, 0);
  const gradTotal = trainableIndex.reduce((acc, i) => acc + sizes[i], 0);
  const statsTotal = nonTrainableIndex.reduce((acc, i) => acc + sizes[i], 0);
  const weightsBuf = new SharedArrayBuffer(total * 4);
  const weightsView = new Float32Array(weightsBuf);
  const gradBufs = Array.from({ length: count }, () => new SharedArrayBuffer(gradTotal * 4));
  const statsBufs = Array.from({ length: count }, () => new SharedArrayBuffer(Math.max(statsTotal, 1) * 4));
  const statOffsets: number[] = [];
  nonTrainableIndex.reduce((acc, wi, k) => ((statOffsets[k] = acc), acc + sizes[wi]), 0);
  const batchNorms = batchNormStats(model, nonTrainableIndex.map((wi) => allWeights[wi]), statOffsets);
  const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1] as number;
  const topology = model.toJSON(null, false) as object;

  const handles: TfjsWorker[] = Array.from({ length: count }, () => new WorkerHandle(workerScript('parallel-worker.js')));
  const publishWeights = () => {
    allWeights.forEach((w, i) => weightsView.set(w.read().dataSync() as Float32Array, offsets[i]));
  };
  try {
    publishWeights();
    await Promise.all(
      handles.map((h, k) =>
        h.request({
          type: 'init', index: k, backend: options.backend, topology, loss, classes,
          weights: weightsBuf, sizes, shapes: allWeights.map((w) => w.shape as number[]),
          grads: gradBufs[k], stats: statsBufs[k], trainableIndex, nonTrainableIndex,
        }),
      ),
    );
  } catch (err) {
    await Promise.all(handles.map((h) => h.terminate()));
    throw err;
  }
  const variables = trainable.map((w) => w.read() as tf.Variable);
  const statVars = nonTrainableIndex.map((i) => allWeights[i].read() as tf.Variable);
  const classWeights = loss.classWeights ? Array.from(loss.classWeights) : undefined;

  /** The loss weight of rows [a, b): sum of target . classWeights, or the row count. */
  const lossWeight = (targets: Float32Array, a: number, b: number): number => {
    if (!classWeights) return b - a;
    let w = 0;
    for (let i = a; i < b; i++) for (let c = 0; c < classes; c++) w += targets[i * classes + c] * classWeights[c];
    return w;
  };

  return {
    async run(inputs, targets, n, lr, stepSeed): Promise<StepResult> {
      publishWeights();
      const used = Math.min(count, n);
      const bounds = Array.from({ length: used + 1 }, (_, k) => Math.round((k * n) / used));
      const totalWeight = lossWeight(targets, 0, n);
      const replies = await Promise.all(
        Array.from({ length: used }, (_, k) => {
          const a = bounds[k];
          const b = bounds[k + 1];
          return handles[k].request({
            type: 'step',
            inputs: inputs.slice(a * PIXELS_PER_IMAGE, b * PIXELS_PER_IMAGE),
            targets: targets.slice(a * classes, b * classes),
            n: b - a,
            scale: totalWeight > 0 ? lossWeight(targets, a, b) / totalWeight : (b - a) / n,
            stepSeed,
          });
        }),
      );
      let lossSum = 0;
      let correct = 0;
      for (const r of replies) {
        if (r.type !== 'step') throw new FerError('Training worker sent an unexpected reply.');
        lossSum += r.loss;
        correct += r.correct;
      }
      // sum the gradient shares; average the updated moving statistics (weighted by share size), which is exact for
      // the means; the variances also need the spread of the share means (below)
      const grads = gradBufs.slice(0, used).map((b) => new Float32Array(b));
      const summed = addInto(new Float32Array(gradTotal), grads);
      const stats = new Float32Array(statsTotal);
      const shareStats = statsBufs.slice(0, used).map((b) => new Float32Array(b));
      const shares = Array.from({ length: used }, (_, k) => (bounds[k + 1] - bounds[k]) / n);
      shareStats.forEach((s, k) => {
        for (let i = 0; i < statsTotal; i++) stats[i] += s[i] * shares[k];
      });
      addBetweenShareVariance(stats, shareStats, shares, batchNorms);
      tf.tidy(() => {
        let o = 0;
        const gradTensors = trainableIndex.map((wi) => {
          const t = tf.tensor(summed.subarray(o, o + sizes[wi]), allWeights[wi].shape as number[], 'float32');
          o += sizes[wi];
          return t;
        });
        optimizer.apply(variables, gradTensors, lr);
        o = 0;
        nonTrainableIndex.forEach((wi, k) => {
          statVars[k].assign(tf.tensor(stats.subarray(o, o + sizes[wi]), allWeights[wi].shape as number[], 'float32'));
          o += sizes[wi];
        });
      });
      return { loss: lossSum, correct };
    },
    async close(): Promise<void> {
      await Promise.all(handles.map((h) => h.terminate()));
    },
  };
}

/** Where a batch-norm layer's moving mean and variance sit in the statistics buffer, and its momentum. */
interface BatchNormStats {
  mean: number;
  variance: number;
  channels: number;
  momentum: number;
}

function batchNormStats(model: tf.LayersModel, statWeights: tf.LayerVariable[], offsets: number[]): BatchNormStats[] {
  const found: BatchNormStats[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const at = (suffix: string) => statWeights.findIndex((w) => layer.weights.includes(w) && w.originalName.endsWith(suffix));
    const mean = at('moving_mean');
    const variance = at('moving_variance');
    if (mean < 0 || variance < 0) continue;
    found.push({ mean: offsets[mean], variance: offsets[variance], channels: statWeights[mean].shape[0] as number, momentum: layer.getConfig().momentum as number });
  }
  return found;
}

/**
 * Each worker updated the moving averages from the same values with its share's statistics:
 * moving_k = moving - (moving - stat_k) * (1 - momentum). Averaging gives the whole batch's mean update exactly;
 * the whole batch's variance is sum f_k (var_k + (mean_k - mean)^2), and mean_k - mean =
 * (movingMean_k - averaged movingMean) / (1 - momentum), so the averaged variance lacks
 * (1 - momentum) * sum f_k (mean_k - mean)^2 = sum f_k (movingMean_k - averaged)^2 / (1 - momentum).
 */
function addBetweenShareVariance(stats: Float32Array, shareStats: Float32Array[], shares: number[], batchNorms: BatchNormStats[]): void {
  for (const bn of batchNorms) {
    const decay = 1 - bn.momentum;
    if (!(decay > 0)) continue;
    for (let c = 0; c < bn.channels; c++) {
      const averaged = stats[bn.mean + c];
      let spread = 0;
      shareStats.forEach((s, k) => (spread += shares[k] * (s[bn.mean + c] - averaged) ** 2));
      stats[bn.variance + c] += spread / decay;
    }
  }
}
