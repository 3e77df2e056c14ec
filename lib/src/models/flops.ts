/** Size and cost of a built model: trainable + non-trainable parameters, forward FLOPs per image. */
import * as tf from '@tensorflow/tfjs';

/** All weights, trainable or not (BatchNorm moving statistics included), as model.countParams() reports. */
export function countParams(model: tf.LayersModel): number {
  return model.countParams();
}

function lastDim(shape: tf.Shape | tf.Shape[]): number {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tf.Shape;
  return s[s.length - 1] as number;
}

function spatial(shape: tf.Shape | tf.Shape[]): number {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tf.Shape;
  return (s[1] as number) * (s[2] as number);
}

function inputShape(layer: tf.layers.Layer): tf.Shape {
  const input = layer.input;
  return (Array.isArray(input) ? input[0] : input).shape;
}

/**
 * Forward FLOPs for one image, counting a multiply-add as 2 FLOPs, over Conv2D, DepthwiseConv2D, SeparableConv2D
 * and Dense layers (BatchNorm, ReLU, pooling and additions are under 1% here and left out). A training step costs
 * about 3x this (forward + input gradient + filter gradient).
 */
export function modelFlops(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D' || cls === 'SeparableConv2D') {
      const [kh, kw] = cfg.kernelSize as number[];
      const cin = lastDim(inputShape(layer));
      const cout = lastDim(layer.outputShape);
      const out = spatial(layer.outputShape);
      if (cls === 'Conv2D') flops += 2 * kh * kw * cin * cout * out;
      else if (cls === 'DepthwiseConv2D') flops += 2 * kh * kw * cout * out;
      else {
        const mult = (cfg.depthMultiplier as number | undefined) ?? 1;
        flops += 2 * kh * kw * cin * mult * out + 2 * cin * mult * cout * out;
      }
    } else if (cls === 'Dense') {
      flops += 2 * lastDim(inputShape(layer)) * lastDim(layer.outputShape);
    }
  }
  return flops;
}
