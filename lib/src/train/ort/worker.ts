/**
 * One data-parallel onnxruntime training worker (see pool.ts): its own session of the training graph on its own
 * threads; per step it reads the current weights from shared memory, runs its share of the batch and writes the
 * gradient into its shared buffer. Loss, logits and batch statistics go back in the reply.
 */
import { parentPort } from 'worker_threads';
import type * as ort from 'onnxruntime-node';
import { errorMessage } from '../../errors';
import { createTrainingSession, GraphBatch, runTrainingGraph, TrainingGraphSpec, viewsOf } from './session';
import { sizeOf } from '../../util/arrays';

export interface OrtWorkerInit {
  type: 'init';
  bytes: Uint8Array;
  spec: TrainingGraphSpec;
  threads: number;
  what: string;
  /** Every trainable weight, back to back in spec.params order (written by the main thread between steps). */
  params: SharedArrayBuffer;
  /** Output: this worker's gradients, the same layout. */
  grads: SharedArrayBuffer;
}

export interface OrtWorkerStep {
  type: 'step';
  batch: GraphBatch;
}

/** Release the session (before the thread is terminated). */
export interface OrtWorkerClose {
  type: 'close';
}

export type OrtWorkerReply =
  | { type: 'ready' }
  | { type: 'closed' }
  | { type: 'step'; loss: number; logits: Float32Array; batchStats: Array<{ mean: Float32Array; variance: Float32Array }> }
  | { type: 'error'; message: string };

interface WorkerState {
  session: ort.InferenceSession;
  spec: TrainingGraphSpec;
  /** Views of the shared weights, and this worker's copy of them: onnxruntime-node refuses tensors on shared memory. */
  shared: Float32Array[];
  params: Float32Array[];
  grads: Float32Array[];
}

let state: WorkerState | undefined;

async function handle(msg: OrtWorkerInit | OrtWorkerStep | OrtWorkerClose): Promise<OrtWorkerReply> {
  if (msg.type === 'close') {
    await state?.session.release();
    state = undefined;
    return { type: 'closed' };
  }
  if (msg.type === 'init') {
    const shapes = msg.spec.params.map((p) => p.shape);
    state = {
      session: await createTrainingSession(msg.bytes, msg.threads, msg.what),
      spec: msg.spec,
      shared: viewsOf(msg.params, shapes),
      params: shapes.map((shape) => new Float32Array(sizeOf(shape))),
      grads: viewsOf(msg.grads, shapes),
    };
    return { type: 'ready' };
  }
  if (!state) throw new Error('worker not initialised');
  state.params.forEach((p, i) => p.set(state?.shared[i] ?? p));
  const out = await runTrainingGraph(state.session, state.spec, msg.batch, state.params);
  out.grads.forEach((g, i) => state?.grads[i].set(g));
  return { type: 'step', loss: out.loss, logits: out.logits, batchStats: out.batchStats };
}

const port = parentPort;
if (port) {
  port.on('message', (msg: OrtWorkerInit | OrtWorkerStep | OrtWorkerClose) => {
    handle(msg).then(
      (reply) => port.postMessage(reply),
      (err) => port.postMessage({ type: 'error', message: errorMessage(err) } satisfies OrtWorkerReply),
    );
  });
}
