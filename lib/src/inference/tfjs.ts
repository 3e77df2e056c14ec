/** The TF.js engine: a model folder (checkpoint) run on the TF.js backend in use (wasm here, tensorflow if present). */
import * as tf from '@tensorflow/tfjs';
import { GPU_PACKAGE, initBackend } from '../backend';
import { assertDevice, Device, DeviceInfo, tfjsGpuProblems } from './device';
import { endsWithSoftmax } from '../export/convert';
import { PREPROCESS, PreprocessSpec, pixelsToTensor } from '../transforms/preprocess';
import { loadModelDir } from '../util/model-io';
import { FerError } from '../errors';
import { Predictor, PredictorOptions, withPredictorDefaults } from './types';
import { checkModelIO, inBatches, readTensor } from './validate';

/**
 * Start the TF.js backend for `device`: 'cpu' never loads @tensorflow/tfjs-node-gpu; 'gpu' needs it (FerError
 * naming it otherwise); 'auto' takes the fastest installed backend (initBackend's order).
 */
export async function initTfjsDevice(device: Device = 'auto', hasGpuPackage?: (pkg: string) => boolean): Promise<DeviceInfo> {
  assertDevice(device);
  if (device === 'gpu') {
    const problems = tfjsGpuProblems(hasGpuPackage);
    if (problems.length > 0) throw new FerError(`--device gpu with the tfjs engine needs ${problems.join('; ')}. Use --cpu.`);
  }
  const info = await initBackend(device === 'gpu' ? 'tensorflow' : undefined, { gpu: device !== 'cpu' });
  const runtime = `TF.js ${info.name} (${info.package})`;
  if (info.package === GPU_PACKAGE) return { device: 'gpu', runtime, note: '' };
  if (device === 'gpu') throw new FerError(`--device gpu with the tfjs engine: ${GPU_PACKAGE} did not load (${info.skipped.join('; ')}). Use --cpu.`);
  const why = info.skipped.find((line) => line.startsWith(GPU_PACKAGE)) ?? `${GPU_PACKAGE} is not installed`;
  return { device: 'cpu', runtime, note: device === 'auto' ? `no GPU backend (${why})` : '' };
}

/** Wrap an already loaded model (the predictor owns it and disposes it). */
export function createTfjsPredictor(model: tf.LayersModel, classes: readonly string[], source: string,
  options: PredictorOptions = {}, preprocess: PreprocessSpec = PREPROCESS, device?: DeviceInfo): Predictor {
  const opts = withPredictorDefaults(options);
  checkModelIO(source, model.inputs[0].shape, model.outputs[0].shape, preprocess, classes);
  // Models that end in logits get the softmax here, as their ONNX export does.
  const softmax = !endsWithSoftmax(model);
  const frozen = Object.freeze([...classes]);
  let disposed = false;
  return {
    engine: 'tfjs',
    device,
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
  const device = await initTfjsDevice(options.device);
  const { model, meta } = await loadModelDir(dir);
  try {
    return createTfjsPredictor(model, meta.classes, dir, options, meta.preprocess, device);
  } catch (err) {
    model.dispose();
    throw err;
  }
}
