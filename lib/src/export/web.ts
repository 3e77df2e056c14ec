/**
 * TF.js web format for browsers: model.json + weight shards (group1-shardKofN.bin, 4 MB each by default, the size
 * browsers cache well) + meta.json (fer-lab metadata). Loads with `tf.loadLayersModel('<url>/model.json')`, and with
 * fer-lab's loadModelDir / the tfjs Predictor.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { ModelMeta } from '../util/model-io';
import { replaceDirAtomic, writeFileAtomic } from '../util/fs';
import { TfjsWeightFormat, encodeTfjsWeights } from './tfjs-weights';

export interface WebExportOptions {
  /** Maximum shard size in bytes (default 4 MiB). */
  shardBytes?: number;
  /**
   * How the weights are stored (TF.js decodes them to float32 on load; see tfjs-weights.ts): float32 (default),
   * float16 (half the download) or uint8 (about a quarter, one affine map per tensor).
   */
  weights?: TfjsWeightFormat;
}

export interface WebExportResult {
  dir: string;
  files: string[];
  /** Sum of the weight shard sizes. */
  weightBytes: number;
}

async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new Error('TF.js did not hand over the model artifacts');
  return captured;
}

function concatWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  return new Uint8Array(Buffer.concat(parts.map((b) => Buffer.from(b))));
}

/**
 * The folder is replaced as a whole, so it must be new, empty or an earlier web export (has model.json): a folder
 * of other files (a typo such as `--web .`) would be deleted.
 */
function checkReplaceable(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return; // missing: fine; a file: replaceDirAtomic refuses
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes('model.json')) {
    throw new FerError(
      `${dir} already holds other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}) and the web ` +
        'export replaces the whole folder: pick a new or empty folder.',
      { file: dir },
    );
  }
}

/** Write the web format into `dir` (replaced atomically). */
export async function exportWeb(model: tf.LayersModel, dir: string, meta: ModelMeta,
  options: WebExportOptions = {}): Promise<WebExportResult> {
  const shardBytes = options.shardBytes ?? 4 * 1024 * 1024;
  checkReplaceable(dir);
  const artifacts = await artifactsOf(model);
  const { specs, data } = encodeTfjsWeights(
    { specs: artifacts.weightSpecs ?? [], data: concatWeightData(artifacts.weightData) }, options.weights ?? 'float32');
  const count = Math.max(1, Math.ceil(data.byteLength / shardBytes));
  const shardNames = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  const modelJson = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: `fer-lab`,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: shardNames, weights: specs }],
  };
  const resolved = path.resolve(dir);
  await replaceDirAtomic(resolved, (tmp) => {
    shardNames.forEach((name, i) => {
      writeFileAtomic(path.join(tmp, name), data.subarray(i * shardBytes, Math.min(data.byteLength, (i + 1) * shardBytes)));
    });
    writeFileAtomic(path.join(tmp, 'model.json'), JSON.stringify(modelJson));
    writeFileAtomic(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  });
  return { dir: resolved, files: ['model.json', ...shardNames, 'meta.json'], weightBytes: data.byteLength };
}
