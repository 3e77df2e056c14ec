/**
 * What the apps need from an emotion model: the inference Predictor's classes and predict(). Any object with this
 * shape works (tests and notebooks can pass their own); openClassifier() loads a real Predictor.
 */
import { loadPredictor } from '../inference';
import type { PredictorOptions } from '../inference';

export interface EmotionClassifier {
  readonly classes: readonly string[];
  /** n 48x48 uint8 grayscale crops back to back (n*2304 bytes) -> n*classes.length probabilities. */
  predict(pixels: Uint8Array): Promise<Float32Array>;
  dispose?(): Promise<void> | void;
}

export type OpenClassifierOptions = PredictorOptions;

/** Load a model (.onnx, model folder or checkpoint; none = the shipped default) as a classifier. */
export async function openClassifier(model?: string, options: OpenClassifierOptions = {}): Promise<EmotionClassifier> {
  return loadPredictor(model, options);
}
