/**
 * One data-parallel training worker (see parallel.ts): holds a copy of the model on its own backend; per step it
 * loads the current weights, computes the gradient of (its share's loss * scale) and writes it, and the updated
 * batch-norm statistics, into shared buffers.
 */
import { parentPort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend, BackendName } from '../backend';
import { IMAGE_SIZE } from '../emotions';
import { errorMessage } from '../errors';
import { PREPROCESS } from '../transforms/preprocess';
import { correctCount, crossEntropy, LossOptions } from './loss';
import { deriveSeed } from './random';
import { withStepRandomness } from './step';

export interface WorkerInit {
  type: 'init';
  index: number;
  backend: BackendName;
  topology: object;
  loss: LossOptions;
  classes: number;
  /** All weights (model.weights order), float32, back to back. */
  weights: SharedArrayBuffer;
  sizes: number[];
  shapes: number[][];
  /** Output: gradients of the trainable weights, back to back. */
  grads: SharedArrayBuffer;
  /** Output: the non-trainable weights (batch-norm moving statistics) after the step. */
  stats: SharedArrayBuffer;
  trainableIndex: number[];
  nonTrainableIndex: number[];
}

export interface WorkerStep {
  type: 'step';
  inputs: Float32Array;
  targets: Float32Array;
  n: number;
  /** This share's part of the batch's loss weight. */
  scale: number;
  stepSeed: number;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'step'; loss: number; correct: number }
  | { type: 'error'; message: string };

interface State {
  init: WorkerInit;
  model: tf.LayersModel;
  offsets: number[];
}

let state: State | undefined;

async function initialise(msg: WorkerInit): Promise<void> {
  await initBackend(msg.backend);
  const weightsView = new Float32Array(msg.weights);
  const offsets: number[] = [];
  msg.sizes.reduce((acc, s, i) => ((offsets[i] = acc), acc + s), 0);
  const model = await tf.models.modelFromJSON({ modelTopology: msg.topology } as tf.io.ModelJSON);
  tf.tidy(() => model.setWeights(msg.shapes.map((shape, i) => tf.tensor(weightsView.slice(offsets[i], offsets[i] + msg.sizes[i]), shape))));
  state = { init: msg, model, offsets };
}

function step(msg: WorkerStep): { loss: number; correct: number } {
  if (!state) throw new Error('worker not initialised');
  const { init, model, offsets } = state;
  const weightsView = new Float32Array(init.weights);
  const all = model.weights;
  tf.tidy(() => {
    all.forEach((w, i) => {
      (w.read() as tf.Variable).assign(tf.tensor(weightsView.slice(offsets[i], offsets[i] + init.sizes[i]), init.shapes[i]));
    });
  });
  const variables = init.trainableIndex.map((i) => all[i].read() as tf.Variable);
  const result = withStepRandomness(model, deriveSeed(msg.stepSeed, 'worker', init.index), () =>
    tf.tidy(() => {
      const xs = tf.tensor4d(msg.inputs, [msg.n, IMAGE_SIZE, IMAGE_SIZE, PREPROCESS.channels]);
      const ys = tf.tensor2d(msg.targets, [msg.n, init.classes]);
      let correct = 0;
      const { value, grads } = tf.variableGrads(() => {
        const outputs = model.apply(xs, { training: true }) as tf.Tensor2D;
        correct = correctCount(outputs, ys).dataSync()[0];
        return tf.mul(crossEntropy(outputs, ys, init.loss), msg.scale) as tf.Scalar;
      }, variables);
      const gradView = new Float32Array(init.grads);
      let o = 0;
      variables.forEach((v, k) => {
        const size = init.sizes[init.trainableIndex[k]];
        gradView.set(grads[v.name].dataSync() as Float32Array, o);
        o += size;
      });
      return { loss: value.dataSync()[0], correct };
    }),
  );
  const statsView = new Float32Array(init.stats);
  let o = 0;
  for (const i of init.nonTrainableIndex) {
    statsView.set(all[i].read().dataSync() as Float32Array, o);
    o += init.sizes[i];
  }
  return result;
}

const port = parentPort;
if (port) {
  port.on('message', (msg: WorkerInit | WorkerStep) => {
    const reply = (r: WorkerReply) => port.postMessage(r);
    if (msg.type === 'init') {
      initialise(msg).then(
        () => reply({ type: 'ready' }),
        (err) => reply({ type: 'error', message: errorMessage(err) }),
      );
    } else {
      try {
        reply({ type: 'step', ...step(msg) });
      } catch (err) {
        reply({ type: 'error', message: errorMessage(err) });
      }
    }
  });
}
