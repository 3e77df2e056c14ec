/**
 * Compact VGG-style nets: blocks of two 3x3 conv + BatchNorm + ReLU, 2x2 max-pool after each block, global average
 * pooling, dropout and a dense softmax. 48x48 -> 24 -> 12 -> 6 -> 3 with four blocks.
 */
import * as tf from '@tensorflow/tfjs';
import { convBnRelu, dense, dropout, SeedSequence } from './build';
import { ResolvedModelOptions } from './options';

export function buildVgg(widths: readonly number[], name: string, opts: ResolvedModelOptions): tf.LayersModel {
  const seeds = new SeedSequence(opts.seed, opts.weightInit);
  const input = tf.input({ shape: [opts.inputSize, opts.inputSize, opts.inputChannels], name: 'input' });
  let x = input;
  widths.forEach((filters, b) => {
    x = convBnRelu(x, { filters, kernel: 3, name: `block${b + 1}_conv1` }, seeds);
    x = convBnRelu(x, { filters, kernel: 3, name: `block${b + 1}_conv2` }, seeds);
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  if (opts.dropout > 0) x = dropout(x, opts.dropout, 'head_dropout', seeds);
  const output = dense(x, opts.numClasses, 'logits', seeds, 'softmax');
  return tf.model({ inputs: input, outputs: output, name });
}
