/** Export: TF.js models -> ONNX (float32 / float16 / int8 weights) and the TF.js web format. */
export { exportOnnx, saveOnnx, buildOnnxGraph, readOnnxFile, readOnnxMetadata, decodeOnnx, ferLabVersion } from './onnx';
export type { OnnxExportOptions, OnnxMetadata } from './onnx';
export { convertModel, endsWithSoftmax, samePads } from './convert';
export type { ConvertOptions } from './convert';
export { foldBatchNorms } from './fold';
export { toFloat16Weights, toInt8Weights, applyWeightFormat, toFloat16Bits, fromFloat16Bits } from './quantize';
export type { WeightFormat } from './quantize';
export { exportWeb } from './web';
export { encodeTfjsWeights, quantizeUint8, uint8Quantizes, UINT8_MIN_ELEMENTS } from './tfjs-weights';
export type { TfjsWeightFormat, TfjsWeights } from './tfjs-weights';
export type { WebExportOptions, WebExportResult } from './web';
export { encodeModel, weightBytes, OPSET } from './graph';
export type { OnnxGraph, GraphNode, Initializer, ValueInfo } from './graph';
export { compareOnnxToTfjs, randomCrops, maxAbsDiff } from './verify';
export { toDynamicInt8 } from './dynamic';
