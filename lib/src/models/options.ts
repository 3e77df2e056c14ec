import { FerError } from '../errors';
import { EMOTIONS, IMAGE_SIZE } from '../emotions';
import type { WeightInit } from './build';

export type ResnetStem = 'imagenet' | 'cifar';

/** Options every architecture accepts; all optional. */
export interface ModelOptions {
  /** 1 (grayscale, default) or 3. */
  inputChannels?: number;
  /** Default 7 (EMOTIONS.length). */
  numClasses?: number;
  /** Dropout rate before the last dense layer; default 0.5; 0 removes the layer. */
  dropout?: number;
  /** resnet18 only: 'imagenet' (7x7/2 + max-pool, default) or 'cifar' (3x3/1, no pool). */
  stem?: ResnetStem;
  /** Seed of the weight initialisers and dropout; default 42. */
  seed?: number;
  /** Input height = width; default 48 (IMAGE_SIZE). */
  inputSize?: number;
  /** Kernel initialisers: 'torch' (PyTorch's defaults, default) or 'keras' (He-normal / Glorot); see build.ts. */
  weightInit?: WeightInit;
}

export type ResolvedModelOptions = Required<ModelOptions>;

export const DEFAULT_MODEL_OPTIONS: ResolvedModelOptions = {
  inputChannels: 1,
  numClasses: EMOTIONS.length,
  dropout: 0.5,
  stem: 'imagenet',
  seed: 42,
  inputSize: IMAGE_SIZE,
  weightInit: 'torch',
};

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new FerError(`Model option ${name} must be a positive integer, got ${v}.`);
}

export function resolveModelOptions(options: ModelOptions = {}): ResolvedModelOptions {
  const o: ResolvedModelOptions = { ...DEFAULT_MODEL_OPTIONS };
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  }
  positiveInt('inputChannels', o.inputChannels);
  positiveInt('numClasses', o.numClasses);
  positiveInt('inputSize', o.inputSize);
  if (o.inputSize < 16) throw new FerError(`Model option inputSize must be at least 16, got ${o.inputSize}.`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new FerError(`Model option dropout must be in [0, 1), got ${o.dropout}.`);
  if (o.stem !== 'imagenet' && o.stem !== 'cifar') {
    throw new FerError(`Model option stem must be 'imagenet' or 'cifar', got '${String(o.stem)}'.`);
  }
  if (o.weightInit !== 'torch' && o.weightInit !== 'keras') {
    throw new FerError(`Model option weightInit must be 'torch' or 'keras', got '${String(o.weightInit)}'.`);
  }
  if (!Number.isFinite(o.seed)) throw new FerError(`Model option seed must be a number, got ${o.seed}.`);
  return o;
}
