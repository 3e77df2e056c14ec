/** Model architectures by name (registry), their options, and size/cost helpers. */
export { createModel, listModels } from './registry';
export type { ModelInfo } from './registry';
export { DEFAULT_MODEL_OPTIONS, resolveModelOptions } from './options';
export type { ModelOptions, ResnetStem } from './options';
export type { WeightInit } from './build';
export { countParams, modelFlops } from './flops';
export {
  applyResNet18Weights, IMAGENET_MEAN, IMAGENET_STD, loadImageNetResNet18, readResNet18Onnx,
} from './pretrained';
export type {
  InputNormalization, OnnxConvUnit, PretrainedOptions, PretrainedReport, ResNet18OnnxWeights,
} from './pretrained';
