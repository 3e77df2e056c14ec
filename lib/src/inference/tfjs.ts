/** The TF.js engine: a model folder (checkpoint) run on the TF.js backend in use (wasm here, tensorflow if present). */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { endsWithSoftmax } from '../export/convert';
import { PREPROCESS, PreprocessSpec, pixelsToTensor } from '../transforms/preprocess';
import { loadModelDir } from '../util/model-io';
import { FerError } from '../errors';
import { DEFAULT_PREDICTOR_OPTIONS, Predictor, PredictorOptions } from './types';
import { checkModelIO, inBatches, readTensor } from './validate';

/** Wrap an already loaded model (the predictor owns it and disposes it). */
export function createTfjsPredictor(model: tf.LayersModel, classes: readonly string[], source: string,
  options: PredictorOptions = {}, preprocess: PreprocessSpec = PREPROCESS): Predictor {
  const opts = { ...DEFAULT_PREDICTOR_OPTIONS, ...options };
  checkModelIO(source, model.inputs[0].shape, model.outputs[0].shape, preprocess, classes);
  // Models that end in logits get the softmax here, as their ONNX export does.
  const softmax = !endsWithSoftmax(model);
  const frozen = Object.freeze([...classes]);
  let disposed = false;
  return {
    engine: 'tfjs',
    classes: frozen,
    source,
    preprocess,
    async predict(pixels: Uint8Array): Promise<Float32Array> {
      if (disposed) throw new FerError(`The predictor for ${source} was disposed.`);
      return inBatches(pixels, opts.batchSize, frozen.length, (slice) =>
        readTensor(() => {
          const out = model.predict(pixelsToTensor(slice, preprocess)) as tf.Tensor;
          return softmax ? tf.softmax(out) : out;
        }));
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}

/** Load a model folder (model.json + weights + meta.json) as a TF.js Predictor. */
export async function loadTfjsPredictor(dir: string, options: PredictorOptions = {}): Promise<Predictor> {
  await initBackend();
  const { model, meta } = await loadModelDir(dir);
  try {
    return createTfjsPredictor(model, meta.classes, dir, options, meta.preprocess);
  } catch (err) {
    model.dispose();
    throw err;
  }
}
