/**
 * Data-parallel onnxruntime training over worker threads. onnxruntime's multi-threaded kernels use both cores well
 * for convolutions and GEMMs, but many of the graph's layout moves and elementwise ops run on one thread; two
 * single-threaded sessions, each on half of every batch, keep both cores busy through those too.
 *
 * Every worker gets the same weights (shared memory) and its rows of the batch with their loss weights as
 * normalised over the whole batch, so the summed gradient is the whole batch's gradient. Batch norm normalises with
 * each share's own statistics (like PyTorch DDP without SyncBatchNorm); the statistics reported for the moving
 * averages are those of the whole batch (the shares' means and variances combined exactly).
 */
import { GraphBatch, GraphOutputs, TrainingGraphSpec, viewsOf } from './session';
// types only: importing the worker module would run its message handler in this thread
import type { OrtWorkerClose, OrtWorkerInit, OrtWorkerReply, OrtWorkerStep } from './worker';
import { FerError } from '../../errors';
import { WorkerHandle, workerScript } from '../worker-handle';
import { addInto, sizeOf } from '../../util/arrays';

type OrtWorker = WorkerHandle<OrtWorkerInit | OrtWorkerStep | OrtWorkerClose, OrtWorkerReply>;

export interface OrtPoolOptions {
  workers: number;
  /** onnxruntime intra-op threads of each worker's session. */
  threadsPerWorker: number;
  /** The model's name, for error messages. */
  what: string;
}

/** A float32 buffer in shared memory laid out as `shapes`, back to back. */
export function sharedArrays(shapes: number[][]): { buffer: SharedArrayBuffer; views: Float32Array[] } {
  const total = shapes.reduce((acc, s) => acc + sizeOf(s), 0);
  const buffer = new SharedArrayBuffer(total * 4);
  return { buffer, views: viewsOf(buffer, shapes) };
}

function rows(batch: GraphBatch, a: number, b: number, spec: TrainingGraphSpec): GraphBatch {
  const pixels = batch.x.length / batch.n;
  return {
    n: b - a,
    x: batch.x.slice(a * pixels, b * pixels),
    targets: batch.targets.slice(a * spec.classes, b * spec.classes),
    weights: batch.weights.slice(a, b),
    masks: batch.masks.map((m) => {
      const per = m.length / batch.n;
      return m.slice(a * per, b * per);
    }),
  };
}

export class OrtWorkerPool {
  private constructor(
    private readonly handles: OrtWorker[],
    private readonly spec: TrainingGraphSpec,
    private readonly grads: Float32Array[][],
  ) {}

  /** Start the workers; `params` is the shared buffer the caller keeps the current weights in (spec.params layout). */
  static async create(bytes: Uint8Array, spec: TrainingGraphSpec, params: SharedArrayBuffer, options: OrtPoolOptions): Promise<OrtWorkerPool> {
    const shapes = spec.params.map((p) => p.shape);
    const handles: OrtWorker[] = [];
    const grads: Float32Array[][] = [];
    try {
      for (let k = 0; k < options.workers; k++) handles.push(new WorkerHandle(workerScript('ort/worker.js'), `onnxruntime worker ${k + 1} of ${options.workers} (${options.what})`));
      await Promise.all(handles.map((h) => {
        const g = sharedArrays(shapes);
        grads.push(g.views);
        return h.request({ type: 'init', bytes, spec, threads: options.threadsPerWorker, what: options.what, params, grads: g.buffer });
      }));
    } catch (err) {
      await Promise.all(handles.map((h) => h.terminate()));
      throw err;
    }
    return new OrtWorkerPool(handles, spec, grads);
  }

  get workers(): number {
    return this.handles.length;
  }

  /**
   * The whole batch's outputs, computed in shares (the weights are read from the shared params buffer). The
   * gradients are the pool's own buffers: valid until the next run.
   */
  async run(batch: GraphBatch): Promise<GraphOutputs> {
    const { n } = batch;
    const used = Math.min(this.handles.length, n);
    const bounds = Array.from({ length: used + 1 }, (_, k) => Math.round((k * n) / used));
    // allSettled: every worker is idle again before an error propagates (the next request must not overlap)
    const settled = await Promise.allSettled(Array.from({ length: used }, (_, k) => {
      const share = rows(batch, bounds[k], bounds[k + 1], this.spec);
      return this.handles[k].request({ type: 'step', batch: share }, [share.x.buffer, share.targets.buffer, share.weights.buffer, ...share.masks.map((m) => m.buffer)] as ArrayBuffer[]);
    }));
    const steps = settled.map((s) => {
      if (s.status === 'rejected') throw s.reason;
      if (s.value.type !== 'step') throw new FerError('Training worker sent an unexpected reply.');
      return s.value;
    });
    // Summed in place into the first worker's buffer (it writes it afresh next step): no 10 MB allocation per step.
    const others = this.grads.slice(1, used);
    const grads = this.grads[0].map((sum, i) => addInto(sum, others.map((g) => g[i])));
    const logits = new Float32Array(n * this.spec.classes);
    steps.forEach((s, k) => logits.set(s.logits, bounds[k] * this.spec.classes));
    // whole-batch statistics: mean = sum f_k m_k, variance = sum f_k (v_k + (m_k - mean)^2), f_k = share fraction
    const batchStats = this.spec.batchNorms.map((_, b) => {
      const channels = steps[0].batchStats[b].mean.length;
      const mean = new Float32Array(channels);
      const variance = new Float32Array(channels);
      steps.forEach((s, k) => {
        const f = (bounds[k + 1] - bounds[k]) / n;
        const m = s.batchStats[b].mean;
        for (let c = 0; c < channels; c++) mean[c] += f * m[c];
      });
      steps.forEach((s, k) => {
        const f = (bounds[k + 1] - bounds[k]) / n;
        const { mean: m, variance: v } = s.batchStats[b];
        for (let c = 0; c < channels; c++) variance[c] += f * (v[c] + (m[c] - mean[c]) ** 2);
      });
      return { mean, variance };
    });
    return { loss: steps.reduce((a, s) => a + s.loss, 0), logits, grads, batchStats };
  }

  async close(): Promise<void> {
    // release the native sessions first (a failed worker may not answer: terminate regardless)
    await Promise.allSettled(this.handles.map((h) => h.request({ type: 'close' })));
    await Promise.all(this.handles.map((h) => h.terminate()));
  }
}
