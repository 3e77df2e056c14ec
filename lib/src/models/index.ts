/** Model architectures by name (registry), their options, and size/cost helpers. */
export { createModel, listModels } from './registry';
export type { ModelInfo } from './registry';
export { DEFAULT_MODEL_OPTIONS, resolveModelOptions } from './options';
export type { ModelOptions, ResnetStem } from './options';
export { countParams, modelFlops } from './flops';
