/**
 * Small helpers the architectures share: seeded initialisers and the conv + BatchNorm (+ ReLU) unit.
 * Only standard tf.layers, so a model serialises to model.json and maps one-to-one onto ONNX operators.
 */
import * as tf from '@tensorflow/tfjs';

/** BatchNorm settings matching PyTorch's defaults (momentum 0.1 there = 0.9 here, eps 1e-5). */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;

/**
 * How conv and dense kernels start (ModelOptions.weightInit):
 * - 'torch': PyTorch's default kernels, U(+-1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5); biases still start
 *   at 0, PyTorch draws them from the same range), the default here: with
 *   batch norm after every conv, smaller weights mean larger effective steps, and the small head gives near-uniform
 *   first predictions. Measured (results/experiments/weight-init.md): 3 epochs on 8,000 FER2013 images, validation
 *   45.1% against 42.2% for 'keras', training loss 1.57 against 1.69.
 * - 'keras': He-normal convs and Glorot-uniform dense layers (fer-lab before 2026-11-29).
 */
export type WeightInit = 'torch' | 'keras';

/** Hands out one seed per initialiser so a model built twice with the same seed has the same weights. */
export class SeedSequence {
  private next: number;
  constructor(seed: number, readonly init: WeightInit = 'torch') {
    this.next = seed * 1000;
  }
  take(): number {
    return this.next++;
  }
  /**
   * The next kernel initialiser of the chosen scheme ('keras': He-normal for convs, Glorot-uniform for dense).
   * Depthwise kernels [kh,kw,c,1]: TF.js counts fan_in as kh*kw*c, PyTorch (groups = c) as kh*kw, so 'torch'
   * scales by c to land on U(+-1/sqrt(kh*kw)).
   */
  kernel(kind: 'conv' | 'dense' | 'depthwise', channels = 1): ReturnType<typeof tf.initializers.heNormal> {
    const seed = this.take();
    if (this.init === 'torch') {
      return tf.initializers.varianceScaling({ scale: (kind === 'depthwise' ? channels : 1) / 3, mode: 'fanIn', distribution: 'uniform', seed });
    }
    return kind === 'dense' ? tf.initializers.glorotUniform({ seed }) : tf.initializers.heNormal({ seed });
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

/** Conv2D without bias (BatchNorm follows), weights from `seeds.kernel('conv')`. */
export function conv(x: tf.SymbolicTensor, spec: ConvSpec, seeds: SeedSequence): tf.SymbolicTensor {
  return tf.layers
    .conv2d({
      filters: spec.filters,
      kernelSize: spec.kernel,
      strides: spec.strides ?? 1,
      padding: spec.padding ?? 'same',
      useBias: false,
      kernelInitializer: seeds.kernel('conv'),
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
      kernelInitializer: seeds.kernel('dense'),
      name,
    })
    .apply(x) as tf.SymbolicTensor;
}

export function dropout(x: tf.SymbolicTensor, rate: number, name: string, seeds: SeedSequence): tf.SymbolicTensor {
  return tf.layers.dropout({ rate, seed: seeds.take(), name }).apply(x) as tf.SymbolicTensor;
}
