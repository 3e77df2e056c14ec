/**
 * mini-Xception (after Arriaga et al. 2017, the model behind Human's emotion net): two 3x3 conv+BN+ReLU (half the
 * first module's width: 8 ch),
 * then 4 residual modules of [3x3 separable conv+BN+ReLU, 3x3 separable conv+BN, 3x3/2 max-pool] plus a 1x1/2
 * conv+BN shortcut (16-32-64-128 ch), GAP, dropout, dense softmax. 'same' padding keeps 48 -> 24 -> 12 -> 6 -> 3.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNorm, conv, convBnRelu, dense, dropout, relu, SeedSequence } from './build';
import { ResolvedModelOptions } from './options';

function separable(x: tf.SymbolicTensor, filters: number, name: string, seeds: SeedSequence): tf.SymbolicTensor {
  return tf.layers
    .separableConv2d({
      filters,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: seeds.kernel('depthwise', x.shape[3] as number),
      pointwiseInitializer: seeds.kernel('conv'),
      name,
    })
    .apply(x) as tf.SymbolicTensor;
}

export function buildMiniXception(widths: readonly number[], name: string, opts: ResolvedModelOptions): tf.LayersModel {
  const seeds = new SeedSequence(opts.seed, opts.weightInit);
  const input = tf.input({ shape: [opts.inputSize, opts.inputSize, opts.inputChannels], name: 'input' });
  const stem = widths[0] / 2;
  let x = convBnRelu(input, { filters: stem, kernel: 3, name: 'stem_conv1' }, seeds);
  x = convBnRelu(x, { filters: stem, kernel: 3, name: 'stem_conv2' }, seeds);
  widths.forEach((filters, i) => {
    const m = `module${i + 1}`;
    const shortcut = batchNorm(conv(x, { filters, kernel: 1, strides: 2, name: `${m}_shortcut` }, seeds), `${m}_shortcut_bn`);
    let y = relu(batchNorm(separable(x, filters, `${m}_sep1`, seeds), `${m}_sep1_bn`), `${m}_sep1_relu`);
    y = batchNorm(separable(y, filters, `${m}_sep2`, seeds), `${m}_sep2_bn`);
    y = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: `${m}_pool` }).apply(y) as tf.SymbolicTensor;
    x = tf.layers.add({ name: `${m}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  if (opts.dropout > 0) x = dropout(x, opts.dropout, 'head_dropout', seeds);
  const output = dense(x, opts.numClasses, 'logits', seeds, 'softmax');
  return tf.model({ inputs: input, outputs: output, name });
}
