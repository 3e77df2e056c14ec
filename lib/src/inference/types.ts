import type { PreprocessSpec } from '../transforms/preprocess';
import type { Device, DeviceInfo } from './device';

export type Engine = 'onnx' | 'tfjs';

export interface Predictor {
  readonly engine: Engine;
  readonly classes: readonly string[];
  /** The file or folder the model came from. */
  readonly source: string;
  /** How uint8 crops become model input (from the model's metadata). */
  readonly preprocess: PreprocessSpec;
  /** The device it runs on and why (see device.ts). */
  readonly device?: DeviceInfo;
  /** n 48x48 uint8 grayscale crops back to back (n*2304 bytes) -> n*classes.length probabilities. */
  predict(pixels: Uint8Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export interface PredictorOptions {
  /** 'onnx' (onnxruntime-node, default) or 'tfjs' (the TF.js backend in use). */
  engine?: Engine;
  /** onnxruntime intra-op threads (default 2). */
  threads?: number;
  /** Crops per model call; bigger inputs are split (bounds memory). Default 256. */
  batchSize?: number;
  /** 'auto' (default: a GPU when one is usable, else the CPU), 'cpu', or 'gpu' (FerError when none is usable). */
  device?: Device;
}

export const DEFAULT_PREDICTOR_OPTIONS: Required<PredictorOptions> = { engine: 'onnx', threads: 2, batchSize: 256, device: 'auto' };

/** The defaults with `options` on top; a key given as undefined keeps its default. */
export function withPredictorDefaults(options: PredictorOptions = {}): Required<PredictorOptions> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as PredictorOptions;
  return { ...DEFAULT_PREDICTOR_OPTIONS, ...given };
}
