/**
 * TF.js LayersModel -> .onnx bytes: convert, optionally fold batch norm and shrink weights, then encode with the
 * model's classes and preprocessing in metadata_props, so a user of the .onnx file alone can feed it:
 *   classes          JSON array of class names, output order
 *   preprocess       JSON of the PreprocessSpec (input = pixel * scale + offset, NHWC)
 *   arch             registry architecture name
 *   fer_lab_version  the fer-lab version that wrote the file
 *   weights          float32 | float16 | int8 | int8-dynamic
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { EMOTIONS } from '../emotions';
import { FerError, errorMessage } from '../errors';
import { PREPROCESS, PreprocessSpec } from '../transforms/preprocess';
import { writeFileAtomic } from '../util/fs';
import { convertModel } from './convert';
import { foldBatchNorms } from './fold';
import { OnnxGraph, encodeModel } from './graph';
import { WeightFormat, applyWeightFormat } from './quantize';

export interface OnnxExportOptions {
  /** Fold BatchNormalization into the preceding Conv/Dense (default true; same numbers, fewer ops). */
  foldBatchNorm?: boolean;
  /** How weights are stored (default float32). */
  weights?: WeightFormat;
  /** Class names in output order (default: the 7 FER2013 emotions). */
  classes?: readonly string[];
  preprocess?: PreprocessSpec;
  /** Architecture name stored in metadata (default 'unknown'). */
  arch?: string;
  /** Extra metadata_props (string values). */
  metadata?: Record<string, string>;
}

export interface OnnxMetadata {
  classes: string[];
  preprocess: PreprocessSpec;
  arch: string;
  ferLabVersion: string;
  weights: string;
  /** Every metadata_props entry, as stored. */
  raw: Record<string, string>;
}

export function ferLabVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}

/** The converted (and optionally folded / quantized) graph, before encoding: for inspection and tests. */
export function buildOnnxGraph(model: tf.LayersModel, options: OnnxExportOptions = {}): OnnxGraph {
  const graph = convertModel(model);
  if (options.foldBatchNorm ?? true) foldBatchNorms(graph);
  applyWeightFormat(graph, options.weights ?? 'float32');
  return graph;
}

/** Export a model to .onnx bytes. */
export function exportOnnx(model: tf.LayersModel, options: OnnxExportOptions = {}): Uint8Array {
  const classes = [...(options.classes ?? EMOTIONS)];
  const outUnits = model.outputs[0]?.shape[1];
  if (typeof outUnits === 'number' && outUnits !== classes.length) {
    throw new FerError(
      `Model "${model.name}" has ${outUnits} outputs but ${classes.length} class names (${classes.join(', ')}): ` +
        'pass the classes the model was trained on.',
    );
  }
  const graph = buildOnnxGraph(model, options);
  return encodeModel(graph, {
    producerVersion: ferLabVersion(),
    docString: `fer-lab facial expression model (${options.arch ?? 'unknown'}): input NHWC float32, output class probabilities`,
    metadata: {
      classes: JSON.stringify(classes),
      preprocess: JSON.stringify(options.preprocess ?? PREPROCESS),
      arch: options.arch ?? 'unknown',
      fer_lab_version: ferLabVersion(),
      weights: options.weights ?? 'float32',
      ...options.metadata,
    },
  });
}

/** Export and write atomically; returns the file size in bytes. */
export function saveOnnx(model: tf.LayersModel, file: string, options: OnnxExportOptions = {}): number {
  const bytes = exportOnnx(model, options);
  writeFileAtomic(file, bytes);
  return bytes.length;
}

/** Decode an .onnx file's bytes (clear FerError naming `source` when it is not an ONNX model). */
export function decodeOnnx(bytes: Uint8Array, source: string): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new FerError(`${source} is not a valid ONNX model (${errorMessage(err)}): re-export it with \`fer export\`.`,
      { file: source, cause: err });
  }
  if (!model.graph || !model.graph.node?.length || !model.opsetImport?.length) {
    throw new FerError(`${source} is not a valid ONNX model (no graph or opset): re-export it with \`fer export\`.`,
      { file: source });
  }
  return model;
}

function parseJson<T>(raw: string | undefined, key: string, source: string): T | undefined {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new FerError(`${source}: metadata "${key}" is not valid JSON (${errorMessage(err)}).`, { file: source });
  }
}

/**
 * fer-lab metadata of an ONNX model. Files from elsewhere (no metadata) get the defaults: the 7 emotions and
 * PREPROCESS; malformed metadata is a FerError naming the file.
 */
export function readOnnxMetadata(model: onnx.ModelProto, source: string): OnnxMetadata {
  const raw: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) raw[p.key] = p.value ?? '';
  const classes = parseJson<unknown>(raw.classes, 'classes', source) ?? [...EMOTIONS];
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')) {
    throw new FerError(`${source}: metadata "classes" must be a JSON array of class names, got ${raw.classes}.`,
      { file: source });
  }
  const preprocess = parseJson<PreprocessSpec>(raw.preprocess, 'preprocess', source) ?? PREPROCESS;
  const spec = preprocess as Partial<PreprocessSpec>;
  if (typeof spec.size !== 'number' || typeof spec.channels !== 'number' || typeof spec.scale !== 'number' ||
    typeof spec.offset !== 'number') {
    throw new FerError(`${source}: metadata "preprocess" must have numeric size, channels, scale and offset.`,
      { file: source });
  }
  return {
    classes: classes as string[],
    preprocess: { ...PREPROCESS, ...preprocess },
    arch: raw.arch ?? 'unknown',
    ferLabVersion: raw.fer_lab_version ?? 'unknown',
    weights: raw.weights ?? 'float32',
    raw,
  };
}

/** Read an .onnx file and its fer-lab metadata. */
export function readOnnxFile(file: string): { bytes: Uint8Array; model: onnx.ModelProto; meta: OnnxMetadata } {
  if (!fs.existsSync(file)) throw new FerError(`No ONNX model at ${file}: check the path.`, { file });
  const bytes = fs.readFileSync(file);
  const model = decodeOnnx(bytes, file);
  return { bytes, model, meta: readOnnxMetadata(model, file) };
}
