/** Architectures by name: `createModel('vgg-compact')`, `listModels()` for `--help` and notebooks. */
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { ModelOptions, resolveModelOptions, ResolvedModelOptions } from './options';
import { buildResnet } from './resnet';
import { buildVgg } from './vgg';
import { buildMiniXception } from './xception';

export interface ModelInfo {
  name: string;
  description: string;
  /** Parameters (trainable + BatchNorm statistics) with the default options: 48x48x1 input, 7 classes. */
  params: number;
  /** Forward FLOPs per 48x48 image (multiply-add = 2), default options. */
  flops: number;
}

interface Entry extends ModelInfo {
  build(opts: ResolvedModelOptions): tf.LayersModel;
}

/** params and flops are checked against the built models by tests/models/registry.test.ts. */
const ENTRIES: readonly Entry[] = [
  {
    name: 'vgg-compact',
    description: 'VGG-style: 4 blocks of two 3x3 conv+BN+ReLU (32-64-128-256), max-pool, GAP, dropout, dense',
    params: 1_176_359,
    flops: 234_900_992,
    build: (o) => buildVgg([32, 64, 128, 256], 'vgg-compact', o),
  },
  {
    name: 'vgg-small',
    description: 'vgg-compact at half width (16-32-64-128): about 1/4 of the compute',
    params: 295_575,
    flops: 59_057_920,
    build: (o) => buildVgg([16, 32, 64, 128], 'vgg-small', o),
  },
  {
    name: 'vgg-wide',
    description: 'vgg-compact at 1.5x width (48-96-192-384): about 2.2x the compute',
    params: 2_642_359,
    flops: 527_529_216,
    build: (o) => buildVgg([48, 96, 192, 384], 'vgg-wide', o),
  },
  {
    name: 'vgg-large',
    description: 'vgg-compact at 2x width (64-128-256-512, the conv stack of Khaireddin & Chen 2021): about 4x the compute',
    params: 4_693_575,
    flops: 936_942_592,
    build: (o) => buildVgg([64, 128, 256, 512], 'vgg-large', o),
  },
  {
    name: 'resnet18',
    description:
      'ResNet-18 ([2,2,2,2] basic blocks, 64-512), GAP, FC 256+BN+ReLU+dropout, FC; stem imagenet (7x7/2+pool) or cifar (3x3/1)',
    params: 11_313_991,
    flops: 188_952_064,
    build: (o) => buildResnet([2, 2, 2, 2], [64, 128, 256, 512], 'resnet18', o),
  },
  {
    name: 'mini-xception',
    description: 'mini-Xception: 2 convs (8 ch) + 4 residual modules of two 3x3 separable convs (16-32-64-128), GAP',
    params: 51_255,
    flops: 12_521_728,
    build: (o) => buildMiniXception([16, 32, 64, 128], 'mini-xception', o),
  },
  {
    name: 'mini-xception-wide',
    description: 'mini-Xception at 4x width (32 stem, 64-128-256-512 modules)',
    params: 734_151,
    flops: 173_949_952,
    build: (o) => buildMiniXception([64, 128, 256, 512], 'mini-xception-wide', o),
  },
];

/** The architectures, with their size and cost at the default options. */
export function listModels(): ModelInfo[] {
  return ENTRIES.map(({ name, description, params, flops }) => ({ name, description, params, flops }));
}

/** Builds an untrained model; output: softmax probabilities [n, numClasses]. */
export function createModel(arch: string, options: ModelOptions = {}): tf.LayersModel {
  const entry = ENTRIES.find((e) => e.name === arch);
  if (!entry) {
    throw new FerError(`Unknown model architecture '${arch}'. Choose one of: ${ENTRIES.map((e) => e.name).join(', ')}.`);
  }
  if (options.stem !== undefined && arch !== 'resnet18') {
    throw new FerError(`Model option stem applies only to resnet18, not '${arch}'.`);
  }
  return entry.build(resolveModelOptions(options));
}
