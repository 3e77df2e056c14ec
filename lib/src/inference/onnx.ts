/** The onnxruntime-node engine: an .onnx file (or bytes exported in memory) behind the Predictor interface. */
import * as ort from 'onnxruntime-node';
import { FerError, errorMessage } from '../errors';
import { decodeOnnx, readOnnxFile, readOnnxMetadata } from '../export/onnx';
import { normalizePixels } from '../transforms/preprocess';
import { chooseOnnxDevice, DeviceProbe } from './device';
import { Predictor, PredictorOptions, withPredictorDefaults } from './types';
import { checkModelIO, inBatches } from './validate';

function tensorShape(meta: ort.InferenceSession.ValueMetadata | undefined): ReadonlyArray<number | string> {
  return meta && meta.isTensor ? meta.shape : [];
}

/** A Predictor over ONNX bytes; `source` names the file (or folder) in messages. */
export async function createOnnxPredictor(bytes: Uint8Array, source: string,
  options: PredictorOptions = {}, probe?: DeviceProbe): Promise<Predictor> {
  const opts = withPredictorDefaults(options);
  const meta = readOnnxMetadata(decodeOnnx(bytes, source), source);
  const choice = chooseOnnxDevice(opts.device, probe);
  let device = choice.info;
  const create = (executionProviders: string[]): Promise<ort.InferenceSession> =>
    ort.InferenceSession.create(bytes, {
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      executionProviders,
      logSeverityLevel: 3,
      // fer export --int8 stores weights as int8 + DequantizeLinear. onnxruntime keeps such DequantizeLinear nodes
      // for its QDQ fusions, which leaves every Conv reading a computed weight: no pre-packed kernels, 1.4-1.5x slower
      // here. With QDQ handling off it folds them into float32 weights once, at load: float32's speed
      // (benchmarks/onnx-int8-load.js).
      ...(meta.weights === 'int8' ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
    });
  let session: ort.InferenceSession;
  try {
    session = await create(choice.executionProviders);
  } catch (err) {
    if (device.device !== 'gpu') {
      throw new FerError(`onnxruntime cannot load ${source}: ${errorMessage(err)}. Re-export it with \`fer export\`.`,
        { file: source, cause: err });
    }
    // The CUDA provider files are there but did not load (e.g. no CUDA 12 / cuDNN libraries).
    const why = errorMessage(err).split('\n')[0];
    if (opts.device === 'gpu') {
      throw new FerError(`--device gpu: onnxruntime-node could not start its CUDA provider for ${source} (${why}). Use --cpu.`, { file: source, cause: err });
    }
    session = await create(['cpu']).catch((e: unknown) => {
      throw new FerError(`onnxruntime cannot load ${source}: ${errorMessage(e)}. Re-export it with \`fer export\`.`, { file: source, cause: e });
    });
    device = { device: 'cpu', runtime: 'onnxruntime-node CPU', note: `the CUDA provider did not start: ${why}` };
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames.includes('probabilities') ? 'probabilities' : session.outputNames[0];
  const inputMeta = session.inputMetadata.find((m) => m.name === inputName);
  const outputMeta = session.outputMetadata.find((m) => m.name === outputName);
  try {
    if (session.inputNames.length !== 1) {
      throw new FerError(`${source} has ${session.inputNames.length} inputs; fer-lab models take one image input.`,
        { file: source });
    }
    if (inputMeta?.isTensor && inputMeta.type !== 'float32') {
      throw new FerError(`${source} input "${inputName}" is ${inputMeta.type}; fer-lab models take float32.`,
        { file: source });
    }
    checkModelIO(source, tensorShape(inputMeta), tensorShape(outputMeta), meta.preprocess, meta.classes);
  } catch (err) {
    await session.release();
    throw err;
  }
  const classes = Object.freeze([...meta.classes]);
  const spec = meta.preprocess;
  let released = false;
  return {
    engine: 'onnx',
    device,
    classes,
    source,
    preprocess: spec,
    async predict(pixels: Uint8Array): Promise<Float32Array> {
      if (released) throw new FerError(`The predictor for ${source} was disposed.`);
      return inBatches(pixels, opts.batchSize, classes.length, async (slice, n) => {
        const input = new ort.Tensor('float32', normalizePixels(slice, spec), [n, spec.size, spec.size, spec.channels]);
        const result = await session.run({ [inputName]: input });
        const out = result[outputName];
        const data = out.data as Float32Array;
        out.dispose();
        return data;
      });
    },
    async dispose(): Promise<void> {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}

/** Load an .onnx file as a Predictor. */
export async function loadOnnxPredictor(file: string, options: PredictorOptions = {}): Promise<Predictor> {
  const { bytes } = readOnnxFile(file);
  return createOnnxPredictor(bytes, file, options);
}
