export { createModel, listModels, ModelInfo } from './registry';
export { ModelOptions, ResnetStem, DEFAULT_MODEL_OPTIONS, resolveModelOptions } from './options';
export { countParams, modelFlops } from './flops';
