/**
 * Save and load TF.js LayersModels as plain folders without @tensorflow/tfjs-node (whose file:// handler is not
 * available on the wasm backend). A model folder holds:
 *   model.json   the standard TF.js format (topology + weightsManifest -> weights.bin); loadable by tf.loadLayersModel
 *   weights.bin  all weights, float32, in manifest order
 *   meta.json    fer-lab metadata: architecture, classes, preprocessing (see ModelMeta)
 * Files are written to a temp folder and renamed, so a crash never leaves a half-written model.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FerError, errorMessage } from '../errors';
import { PREPROCESS, PreprocessSpec } from '../transforms/preprocess';
import { EMOTIONS } from '../emotions';
import { replaceDirAtomic, writeFileAtomic } from './fs';

export interface ModelMeta {
  /** Registry name of the architecture (models/registry). */
  arch: string;
  /** Output classes in order. */
  classes: string[];
  preprocess: PreprocessSpec;
  /** Trainable + non-trainable parameter count. */
  params: number;
  /** Free-form notes (training command, data, metrics). */
  [key: string]: unknown;
}

export function defaultMeta(arch: string, model: tf.LayersModel): ModelMeta {
  return { arch, classes: [...EMOTIONS], preprocess: PREPROCESS, params: model.countParams() };
}

/** Write model.json + weights.bin + meta.json into `dir` (inside an existing folder, not atomic on its own). */
export async function writeModelFiles(model: tf.LayersModel, dir: string, meta: ModelMeta): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      const buffers = weightData === undefined ? [] : Array.isArray(weightData) ? weightData : [weightData];
      const bytes = Buffer.concat(buffers.map((b) => Buffer.from(b)));
      const modelJson = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileAtomic(path.join(dir, 'weights.bin'), bytes);
      writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length } };
    }),
  );
  writeFileAtomic(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
}

/** Save a model as its own folder, atomically (the folder is replaced only once complete). */
export async function saveModelDir(model: tf.LayersModel, dir: string, meta: ModelMeta): Promise<void> {
  await replaceDirAtomic(dir, (tmp) => writeModelFiles(model, tmp, meta));
}

/** Read meta.json of a model folder (defaults for folders written by plain TF.js). */
export function readModelMeta(dir: string): ModelMeta {
  const file = path.join(dir, 'meta.json');
  if (!fs.existsSync(file)) return { arch: 'unknown', classes: [...EMOTIONS], preprocess: PREPROCESS, params: 0 };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FerError(`${file} is not valid JSON (${errorMessage(err)}): re-export or re-train the model.`, { file });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FerError(`${file} must hold a JSON object (arch, classes, preprocess): re-export or re-train the model.`, { file });
  }
  const meta = { arch: 'unknown', classes: [...EMOTIONS], preprocess: PREPROCESS, params: 0, ...raw } as ModelMeta;
  if (!Array.isArray(meta.classes) || meta.classes.length === 0 || !meta.classes.every((c) => typeof c === 'string')) {
    throw new FerError(`${file}: "classes" must be a list of class names, e.g. ["angry", ...]; fix or delete meta.json.`, { file });
  }
  return meta;
}

/**
 * The quantized formats a model.json's weights are stored in (e.g. ['uint8'] for the shipped TF.js copy; empty for
 * full-precision weights). TF.js decodes them to float32 on load, so a loaded model does not show it.
 */
export function quantizedWeightTypes(specs: readonly tf.io.WeightsManifestEntry[]): string[] {
  return [...new Set(specs.flatMap((s) => (s.quantization ? [s.quantization.dtype] : [])))];
}

/** Load a model folder written by saveModelDir (or any TF.js layers model.json with its weight files). */
export async function loadModelDir(dir: string): Promise<{ model: tf.LayersModel; meta: ModelMeta; quantized: string[]; weightBytes: number }> {
  const jsonFile = fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? path.join(dir, 'model.json') : dir;
  const folder = path.dirname(jsonFile);
  if (!fs.existsSync(jsonFile)) {
    throw new FerError(
      `No model at ${dir}: expected a folder with model.json (a checkpoint from \`fer train\`) or a model.json file.`,
      { file: dir },
    );
  }
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as tf.io.ModelJSON;
  } catch (err) {
    throw new FerError(`${jsonFile} is not a TF.js model.json (${errorMessage(err)}).`, { file: jsonFile });
  }
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new FerError(`${jsonFile} has no modelTopology/weightsManifest: it is not a TF.js layers model.`, {
      file: jsonFile,
    });
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const wf = path.join(folder, p);
      if (!fs.existsSync(wf)) throw new FerError(`Weight file ${wf} named in ${jsonFile} is missing.`, { file: wf });
      buffers.push(fs.readFileSync(wf));
    }
  }
  const all = Buffer.concat(buffers);
  const weightFiles = modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => path.join(folder, p))).join(', ');
  const expected = expectedWeightBytes(weightSpecs);
  if (expected !== undefined && expected !== all.byteLength) {
    throw new FerError(
      `${weightFiles} hold${modelJson.weightsManifest.length === 1 ? 's' : ''} ${all.byteLength} bytes but ${jsonFile} ` +
        `describes ${expected}: the weights are truncated or belong to another model; copy or re-export the model folder.`,
      { file: jsonFile },
    );
  }
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }),
    );
  } catch (err) {
    throw new FerError(
      `${jsonFile} could not be loaded as a TF.js layers model (${errorMessage(err)}): re-export or re-train the model.`,
      { file: jsonFile, cause: err },
    );
  }
  return { model, meta: readModelMeta(folder), quantized: quantizedWeightTypes(weightSpecs), weightBytes: all.byteLength };
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes the weight specs need (undefined for dtypes this check does not know, e.g. strings). */
export function expectedWeightBytes(specs: readonly tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const s of specs) {
    const stored = s.quantization?.dtype ?? s.dtype;
    const bytes = DTYPE_BYTES[stored];
    if (bytes === undefined) return undefined;
    total += s.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  return total;
}
