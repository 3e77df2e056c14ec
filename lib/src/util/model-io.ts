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
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ModelMeta;
  } catch (err) {
    throw new FerError(`${file} is not valid JSON (${errorMessage(err)}): re-export or re-train the model.`, { file });
  }
}

/** Load a model folder written by saveModelDir (or any TF.js layers model.json with its weight files). */
export async function loadModelDir(dir: string): Promise<{ model: tf.LayersModel; meta: ModelMeta }> {
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
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }),
  );
  return { model, meta: readModelMeta(folder) };
}
