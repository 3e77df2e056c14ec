/** Small TF.js test models with every layer kind the ONNX exporter supports, with non-trivial batch-norm statistics. */
import * as tf from '@tensorflow/tfjs';

/**
 * Seeded random batch-norm statistics and biases (gamma/var in [0.5, 1.5], beta/mean/bias in [-0.5, 0.5]), so that
 * folding and bias handling are really exercised; kernels keep their (seeded) initialisers.
 */
export function randomizeWeights(model: tf.LayersModel, seed = 1): void {
  let s = seed;
  for (const layer of model.layers) {
    const values = layer.weights.map((w) => {
      s += 1;
      const n = w.originalName;
      if (/gamma|moving_variance/.test(n)) return tf.randomUniform(w.shape as number[], 0.5, 1.5, 'float32', s);
      if (/beta|moving_mean|bias/.test(n)) return tf.randomUniform(w.shape as number[], -0.5, 0.5, 'float32', s);
      return w.read().clone();
    });
    if (values.length) layer.setWeights(values);
    tf.dispose(values);
  }
}

/** Functional model: convs with/without bias, same/valid, strides 1/2, BN, ReLU/Activation, pools, residual Add,
 * depthwise + separable convs, Flatten (NHWC order matters), Dropout, Dense, softmax activation. */
export function kitchenSinkModel(): tf.LayersModel {
  const input = tf.input({ shape: [48, 48, 1] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'c2' }).apply(x) as tf.SymbolicTensor; // 24
  x = tf.layers.batchNormalization({ name: 'bn2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'r2' }).apply(x) as tf.SymbolicTensor;
  const shortcut = x;
  let y = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 1, name: 'dw' }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'bn_dw' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.activation({ activation: 'relu', name: 'a_dw' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.separableConv2d({ filters: 12, kernelSize: 3, padding: 'same', name: 'sep' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'bn_sep' }).apply(y) as tf.SymbolicTensor;
  x = tf.layers.add({ name: 'add' }).apply([shortcut, y]) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn_add' }).apply(x) as tf.SymbolicTensor; // not foldable: follows Add
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'mp' }).apply(x) as tf.SymbolicTensor; // 12
  x = tf.layers.conv2d({ filters: 16, kernelSize: 5, strides: 2, padding: 'same', name: 'c3' }).apply(x) as tf.SymbolicTensor; // 6
  x = tf.layers.activation({ activation: 'elu', name: 'elu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'ap' }).apply(x) as tf.SymbolicTensor; // 3
  x = tf.layers.conv2d({ filters: 10, kernelSize: 2, padding: 'valid', name: 'c4' }).apply(x) as tf.SymbolicTensor; // 2
  x = tf.layers.flatten({ name: 'flat' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 16, activation: 'relu', name: 'd1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 7, activation: 'softmax', name: 'logits' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'kitchen' });
  randomizeWeights(model, 11);
  return model;
}

/** Sequential model with valid convs, odd sizes (same padding with asymmetric pads), average pooling 'valid',
 * global average pooling, Dense without bias + BatchNormalization (Gemm folding), a separate Softmax layer. */
export function sequentialModel(): tf.LayersModel {
  const model = tf.sequential({ name: 'seq' });
  model.add(tf.layers.conv2d({ inputShape: [48, 48, 1], filters: 6, kernelSize: 5, padding: 'valid' })); // 44
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.activation({ activation: 'relu6' }));
  model.add(tf.layers.averagePooling2d({ poolSize: 3, strides: 3, padding: 'valid' })); // 14
  model.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid' })); // 7
  model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' })); // 4
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 7, useBias: false }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.softmax());
  randomizeWeights(model, 5);
  return model;
}

/** Ends in logits (no softmax): the export must append one. */
export function logitsModel(): tf.LayersModel {
  const model = tf.sequential({ name: 'logits_only' });
  model.add(tf.layers.conv2d({ inputShape: [48, 48, 1], filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }));
  model.add(tf.layers.globalMaxPooling2d({}));
  model.add(tf.layers.dense({ units: 7 }));
  randomizeWeights(model, 3);
  return model;
}

/** Seeded random uint8 crops, n*48*48. */
export function randomPixels(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n * 48 * 48);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** The rarer layers: ZeroPadding2D, Concatenate, Multiply, Add of three, Maximum, Minimum, Average, LeakyReLU, ReLU with
 * maxValue, ELU layer, Softmax over channels, activations (tanh, swish, hardSigmoid, softplus, softsign, selu),
 * GlobalMaxPooling2D, Dense on the pooled vector. */
export function mergeModel(): tf.LayersModel {
  const st = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => l.apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [48, 48, 1] });
  let x = st(tf.layers.zeroPadding2d({ padding: [[1, 2], [3, 0]] }), input); // 51 x 51
  x = st(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same' }), x); // 26
  const a = st(tf.layers.leakyReLU({ alpha: 0.1 }), x);
  const b = st(tf.layers.reLU({ maxValue: 0.5 }), x);
  const c = st(tf.layers.activation({ activation: 'tanh' }), x);
  const d = st(tf.layers.activation({ activation: 'swish' }), x);
  const e = st(tf.layers.activation({ activation: 'hardSigmoid' }), x);
  const f = st(tf.layers.elu({}), x);
  let y = st(tf.layers.concatenate(), [st(tf.layers.multiply(), [a, b]), st(tf.layers.add(), [c, d, b]),
    st(tf.layers.maximum(), [a, e, f]), st(tf.layers.minimum(), [b, c]), st(tf.layers.average(), [d, e])]); // 30 ch
  y = st(tf.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'softplus' }), y);
  y = st(tf.layers.conv2d({ filters: 8, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'softsign' }), y);
  y = st(tf.layers.softmax({ axis: -1 }), y);
  y = st(tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'selu' }), y);
  y = st(tf.layers.globalMaxPooling2d({}), y);
  const out = st(tf.layers.dense({ units: 7, activation: 'softmax' }), y);
  const model = tf.model({ inputs: input, outputs: out, name: 'merge' });
  randomizeWeights(model, 13);
  return model;
}
