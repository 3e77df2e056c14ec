/**
 * ResNet-18 (basic blocks [2,2,2,2], 64-128-256-512 channels) with the seed project's head:
 * GAP -> FC 512->256 -> BatchNorm -> ReLU -> Dropout -> FC 256->classes (softmax).
 * Stems: 'imagenet' = 7x7/2 conv + 3x3/2 max-pool (48 -> 12 before the blocks); 'cifar' = 3x3/1 conv, no pool
 * (48 -> 48: about 16x the compute, and batch 64 does not fit the wasm heap).
 */
import * as tf from '@tensorflow/tfjs';
import { batchNorm, conv, convBnRelu, dense, dropout, relu, SeedSequence } from './build';
import { ResolvedModelOptions } from './options';

function basicBlock(
  x: tf.SymbolicTensor,
  filters: number,
  stride: number,
  name: string,
  seeds: SeedSequence,
): tf.SymbolicTensor {
  const inChannels = x.shape[x.shape.length - 1];
  let y = convBnRelu(x, { filters, kernel: 3, strides: stride, name: `${name}_conv1` }, seeds);
  y = batchNorm(conv(y, { filters, kernel: 3, name: `${name}_conv2` }, seeds), `${name}_conv2_bn`);
  let shortcut = x;
  if (stride !== 1 || inChannels !== filters) {
    shortcut = conv(x, { filters, kernel: 1, strides: stride, name: `${name}_down` }, seeds);
    shortcut = batchNorm(shortcut, `${name}_down_bn`);
  }
  const sum = tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
  return relu(sum, `${name}_relu`);
}

export function buildResnet(
  blocks: readonly number[],
  widths: readonly number[],
  name: string,
  opts: ResolvedModelOptions,
): tf.LayersModel {
  const seeds = new SeedSequence(opts.seed, opts.weightInit);
  const input = tf.input({ shape: [opts.inputSize, opts.inputSize, opts.inputChannels], name: 'input' });
  let x: tf.SymbolicTensor;
  if (opts.stem === 'imagenet') {
    x = convBnRelu(input, { filters: widths[0], kernel: 7, strides: 2, name: 'stem_conv' }, seeds);
    x = tf.layers
      .maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'stem_pool' })
      .apply(x) as tf.SymbolicTensor;
  } else {
    x = convBnRelu(input, { filters: widths[0], kernel: 3, strides: 1, name: 'stem_conv' }, seeds);
  }
  blocks.forEach((count, stage) => {
    for (let i = 0; i < count; i++) {
      const stride = stage > 0 && i === 0 ? 2 : 1;
      x = basicBlock(x, widths[stage], stride, `layer${stage + 1}_${i}`, seeds);
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = dense(x, 256, 'head_fc1', seeds);
  x = relu(batchNorm(x, 'head_bn'), 'head_relu');
  if (opts.dropout > 0) x = dropout(x, opts.dropout, 'head_dropout', seeds);
  const output = dense(x, opts.numClasses, 'logits', seeds, 'softmax');
  return tf.model({ inputs: input, outputs: output, name });
}
