/**
 * Running the training graph (graph.ts) on onnxruntime, without TF.js: shared by the in-thread engine (runner.ts)
 * and the data-parallel workers (worker.ts), which only get the graph's bytes and this plain description of it.
 */
import * as ort from 'onnxruntime-node';
import { FerError, errorMessage } from '../../errors';
import { sizeOf } from '../../util/arrays';

/** What a training graph takes and gives, by name (plain data: it crosses to worker threads). */
export interface TrainingGraphSpec {
  /** The image input's shape [N, H, W, C] (N is symbolic). */
  inputShape: number[];
  classes: number;
  params: Array<{ input: string; grad: string; shape: number[] }>;
  dropouts: Array<{ input: string; shape: number[] }>;
  batchNorms: Array<{ mean: string; variance: string }>;
}

/** One batch (or one worker's share of it) as the graph takes it. */
export interface GraphBatch {
  n: number;
  /** Preprocessed NHWC images, n * H * W * C. */
  x: Float32Array;
  /** Label-smoothed targets, n * classes. */
  targets: Float32Array;
  /** Per-example loss weights (over the whole batch they sum to 1). */
  weights: Float32Array;
  /** One inverted-dropout mask per dropout layer, n * (per-example size). */
  masks: Float32Array[];
}

export interface GraphOutputs {
  /** sum_i weights_i * cross-entropy_i over the rows given. */
  loss: number;
  logits: Float32Array;
  /** d loss / d param, one per spec.params entry (from a worker pool: its buffers, valid until its next run). */
  grads: Float32Array[];
  /** Each batch-norm layer's batch mean and (biased) variance over the rows given. */
  batchStats: Array<{ mean: Float32Array; variance: Float32Array }>;
}

export async function createTrainingSession(bytes: Uint8Array, threads: number, what: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new FerError(`onnxruntime could not load the training graph of "${what}" (${errorMessage(err)}); train with --engine tfjs.`, { cause: err });
  }
}

/** One run of the training graph: loss, logits, gradients and batch statistics of `batch` at weights `params`. */
export async function runTrainingGraph(session: ort.InferenceSession, spec: TrainingGraphSpec, batch: GraphBatch, params: Float32Array[]): Promise<GraphOutputs> {
  const { n } = batch;
  const [, h, w, c] = spec.inputShape;
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', batch.x.subarray(0, n * h * w * c), [n, h, w, c]),
    targets: new ort.Tensor('float32', batch.targets, [n, spec.classes]),
    weights: new ort.Tensor('float32', batch.weights, [n]),
  };
  spec.params.forEach((p, i) => {
    feeds[p.input] = new ort.Tensor('float32', params[i], p.shape);
  });
  spec.dropouts.forEach((d, j) => {
    feeds[d.input] = new ort.Tensor('float32', batch.masks[j], [n, ...d.shape]);
  });
  const out = await session.run(feeds);
  const take = (name: string): Float32Array => {
    const t = out[name];
    const data = t.data as Float32Array;
    t.dispose();
    return data;
  };
  return {
    loss: take('loss')[0],
    logits: take('logits'),
    grads: spec.params.map((p) => take(p.grad)),
    batchStats: spec.batchNorms.map((b) => ({ mean: take(b.mean), variance: take(b.variance) })),
  };
}

/** Views of a back-to-back float32 buffer, one per shape. */
export function viewsOf(buffer: SharedArrayBuffer, shapes: number[][]): Float32Array[] {
  let offset = 0;
  return shapes.map((shape) => {
    const size = sizeOf(shape);
    const view = new Float32Array(buffer, offset * 4, size);
    offset += size;
    return view;
  });
}
