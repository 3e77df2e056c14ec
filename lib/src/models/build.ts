/**
 * Small helpers the architectures share: seeded initialisers and the conv + BatchNorm (+ ReLU) unit.
 * Only standard tf.layers, so a model serialises to model.json and maps one-to-one onto ONNX operators.
 */
import * as tf from '@tensorflow/tfjs';

/** BatchNorm settings matching PyTorch's defaults (momentum 0.1 there = 0.9 here, eps 1e-5). */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;

/** Hands out one seed per initialiser so a model built twice with the same seed has the same weights. */
export class SeedSequence {
  private next: number;
  constructor(seed: number) {
    this.next = seed * 1000;
  }
  take(): number {
    return this.next++;
  }
}

export interface ConvSpec {
  filters: number;
  kernel: number;
  strides?: number;
  /** Default 'same'. */
  padding?: 'same' | 'valid';
  name: string;
}

/** Conv2D without bias (BatchNorm follows) and He-normal weights. */
export function conv(x: tf.SymbolicTensor, spec: ConvSpec, seeds: SeedSequence): tf.SymbolicTensor {
  return tf.layers
    .conv2d({
      filters: spec.filters,
      kernelSize: spec.kernel,
      strides: spec.strides ?? 1,
      padding: spec.padding ?? 'same',
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({ seed: seeds.take() }),
      name: spec.name,
    })
    .apply(x) as tf.SymbolicTensor;
}

export function batchNorm(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name }).apply(x) as tf.SymbolicTensor;
}

export function relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
}

/** conv -> BatchNorm -> ReLU, the unit every model here is made of. */
export function convBnRelu(x: tf.SymbolicTensor, spec: ConvSpec, seeds: SeedSequence): tf.SymbolicTensor {
  return relu(batchNorm(conv(x, spec, seeds), `${spec.name}_bn`), `${spec.name}_relu`);
}

export function dense(
  x: tf.SymbolicTensor,
  units: number,
  name: string,
  seeds: SeedSequence,
  activation?: 'softmax',
): tf.SymbolicTensor {
  return tf.layers
    .dense({
      units,
      activation,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seeds.take() }),
      name,
    })
    .apply(x) as tf.SymbolicTensor;
}

export function dropout(x: tf.SymbolicTensor, rate: number, name: string, seeds: SeedSequence): tf.SymbolicTensor {
  return tf.layers.dropout({ rate, seed: seeds.take(), name }).apply(x) as tf.SymbolicTensor;
}
