/**
 * Uniform weight averaging of models of one architecture (a "model soup", Wortsman et al. 2022): one model whose
 * every weight, batch-norm statistics included, is the mean of the inputs'. It only makes sense for runs that share
 * a parent (`fer train --init` chains, fine-tunes of one checkpoint); models trained from different random starts
 * do not average into a working model.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { resolveModelSource } from '../inference/predictor';
import { loadModelDir, ModelMeta } from '../util/model-io';
import { recomputeBatchNorm } from './batchnorm';
import { saveCheckpoint } from './checkpoint';

/**
 * The mean of each weight over `models`, in `model.weights` order (ready for `setWeights` on any of them).
 * `names[i]` names models[i] in errors. The caller disposes the returned tensors.
 */
export function averageWeights(models: readonly tf.LayersModel[], names: readonly string[] = []): tf.Tensor[] {
  if (models.length === 0) throw new FerError('Weight averaging needs at least one model.');
  const nameOf = (i: number) => names[i] ?? `model ${i + 1}`;
  const reference = models[0].weights;
  models.forEach((model, i) => {
    const weights = model.weights;
    if (weights.length !== reference.length) {
      throw new FerError(
        `${nameOf(i)} has ${weights.length} weights, ${nameOf(0)} ${reference.length}: ` +
          'only models of one architecture can be averaged; pass checkpoints of one --init chain.',
        { file: names[i] },
      );
    }
    weights.forEach((w, j) => {
      const ref = reference[j];
      // Shapes, not names: layers built in one process get numbered names (dense_Dense1, dense_Dense2, ...).
      if (w.shape.join(',') !== ref.shape.join(',')) {
        throw new FerError(
          `${nameOf(i)}'s weight ${j} (${w.originalName}) is [${w.shape}], ${nameOf(0)}'s (${ref.originalName}) ` +
            `[${ref.shape}]: only models of one architecture can be averaged; pass checkpoints of one --init chain.`,
          { file: names[i] },
        );
      }
    });
  });
  return reference.map((_, j) =>
    tf.tidy(() => tf.div(tf.addN(models.map((m) => m.weights[j].read())), models.length)),
  );
}

/** What a folder written by averageModelFolders holds: it may be replaced by a new average, nothing else may. */
const MODEL_FILES = new Set(['model.json', 'weights.bin', 'meta.json']);

export interface AverageOptions {
  /**
   * Training images (n 48x48 uint8) to re-estimate the average's batch-norm statistics on (recomputeBatchNorm);
   * without them the statistics are averaged like the other weights.
   */
  batchNormImages?: Uint8Array;
}

/**
 * Average the models in `inputs` (model folders, runs (their best/) or shipped folders (their tfjs/), with
 * full-precision weights: quantized copies are refused) into a new
 * model folder `out`. They must share architecture, classes and preprocessing. `out` is replaced as a whole, so it
 * must be new, empty or an earlier average: never an input, a run or a folder of other files. Returns the meta
 * written: the first input's, without its training record, with `averagedFrom` listing the inputs (and
 * `batchNormImages`, the number of images its statistics were re-estimated on, if they were).
 */
export async function averageModelFolders(inputs: readonly string[], out: string, options: AverageOptions = {}): Promise<ModelMeta> {
  if (inputs.length === 0) throw new FerError('Weight averaging needs at least one model folder.');
  const folders = inputs.map((dir) => {
    const source = resolveModelSource(dir, 'tfjs');
    if (source.kind !== 'folder') throw new FerError(`${dir} is an ONNX file: average TF.js model folders.`, { file: dir });
    return source.dir;
  });
  const target = path.resolve(out);
  inputs.forEach((dir, i) => {
    if ([path.resolve(dir), path.resolve(folders[i])].includes(target)) {
      throw new FerError(`--out ${out} is one of the models to average: write the average to a new folder.`, { file: out });
    }
  });
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    const others = fs.readdirSync(target).filter((f) => !MODEL_FILES.has(f));
    if (others.length > 0) {
      throw new FerError(
        `${out} holds ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''} and the average replaces ` +
          'the whole folder: pick a new or empty folder.',
        { file: out },
      );
    }
  }
  const loaded: Array<{ model: tf.LayersModel; meta: ModelMeta }> = [];
  try {
    for (const folder of folders) {
      const one = await loadModelDir(folder);
      loaded.push(one);
      if (one.quantized.length > 0) {
        // an average of rounded weights is a worse average: refuse rather than write it quietly
        throw new FerError(
          `${folder} stores its weights as ${one.quantized.join('/')} (a shipped or exported copy): average the full-precision ` +
            'model folders it was made from (e.g. <run>/best or the snapshots).',
          { file: folder },
        );
      }
    }
    const first = loaded[0].meta;
    loaded.forEach(({ meta }, i) => {
      const differs = meta.arch !== first.arch ? `architecture ${meta.arch}, not ${first.arch}`
        : meta.classes.join(',') !== first.classes.join(',') ? `classes ${meta.classes.join(', ')}, not ${first.classes.join(', ')}`
          : JSON.stringify(meta.preprocess) !== JSON.stringify(first.preprocess) ? 'other preprocessing'
            : undefined;
      if (differs) {
        throw new FerError(`${inputs[i]} has ${differs} (${inputs[0]}): only models of one run chain can be averaged.`,
          { file: inputs[i] });
      }
    });
    const averaged = averageWeights(loaded.map((l) => l.model), inputs);
    loaded[0].model.setWeights(averaged);
    tf.dispose(averaged);
    const batchNormImages = options.batchNormImages ? recomputeBatchNorm(loaded[0].model, options.batchNormImages) : undefined;
    const { training: _training, ...rest } = first; // the first input's training record does not describe the average
    const meta: ModelMeta = { ...rest, averagedFrom: [...inputs], ...(batchNormImages ? { batchNormImages } : {}) };
    await saveCheckpoint(out, { model: loaded[0].model, meta });
    return meta;
  } finally {
    loaded.forEach((l) => l.model.dispose());
  }
}
