/**
 * The training view of a Dataset: train and val images as contiguous pixel arrays with their target rows
 * (one-hot, or the dataset's soft labels), the class weights, and batch assembly for the loop.
 */
import { PIXELS_PER_IMAGE } from '../emotions';
import { FerError } from '../errors';
import { auditDataset, classCounts, classWeights, Dataset, splitIndices, stratifiedSplit, subset } from '../data';
import type { TrainConfig } from '../config';
import { oneHotRows } from './loss';
import { permutation, streamFor } from './random';

export interface SplitData {
  size: number;
  pixels: Uint8Array;
  /** size * classes target rows (sum to 1). */
  targets: Float32Array;
  labels: Uint8Array;
}

export interface TrainingData {
  classes: readonly string[];
  source: string;
  train: SplitData;
  val: SplitData;
  /** Per-class loss weights, or null. */
  classWeights: number[] | null;
  soft: boolean;
  /** Train/val images left out because of `config.drop` (audit findings). */
  dropped: number;
}

/** Indices of the images `config.drop` leaves out (audit findings); never test or private images. */
function droppedIndices(ds: Dataset, config: TrainConfig): Set<number> {
  const out = new Set<number>();
  if (config.drop.length === 0) return out;
  const audit = auditDataset(ds);
  const lists: Record<TrainConfig['drop'][number], number[]> = {
    duplicates: audit.duplicates, 'cross-split': audit.crossSplit, conflicting: audit.conflicting, blank: audit.blank,
  };
  for (const kind of config.drop) {
    for (const i of lists[kind]) if (ds.split[i] === 'train' || ds.split[i] === 'val') out.add(i);
  }
  return out;
}

function splitData(ds: Dataset, indices: ArrayLike<number>, soft: boolean): SplitData {
  const part = subset(ds, indices);
  const c = ds.classes.length;
  const targets = soft && part.soft ? Float32Array.from(part.soft) : oneHotRows(part.labels, c);
  return { size: part.size, pixels: part.pixels, targets, labels: part.labels };
}

/**
 * Train/val from a dataset: its own 'val' split when it has one, else a stratified split of 'train'
 * (valFraction, splitSeed ?? seed; with valFraction 0 val is empty); `maxTrain` keeps a seeded random subset of the training images.
 */
export function prepareTrainingData(ds: Dataset, config: TrainConfig): TrainingData {
  const withVal = splitIndices(ds, 'val').length > 0 ? ds : stratifiedSplit(ds, { valFraction: config.valFraction, seed: config.splitSeed ?? config.seed });
  const dropped = droppedIndices(ds, config);
  let trainIdx = splitIndices(withVal, 'train').filter((i) => !dropped.has(i));
  const valIdx = splitIndices(withVal, 'val').filter((i) => !dropped.has(i));
  if (trainIdx.length === 0) {
    throw new FerError(`${ds.source} has no training images (split 'train'): check the dataset path and format.`, {
      file: ds.source,
    });
  }
  // valFraction 0 trains on every training image (a refit): the run then has no validation
  if (valIdx.length === 0 && config.valFraction > 0) {
    throw new FerError(
      `No validation images from ${ds.source}: set valFraction above 0 (now ${config.valFraction}) or use a dataset with a val split.`,
      { file: ds.source },
    );
  }
  if (config.maxTrain > 0 && trainIdx.length > config.maxTrain) {
    const order = permutation(trainIdx.length, streamFor(config.seed, 'max-train'));
    trainIdx = Array.from(order.subarray(0, config.maxTrain), (k) => trainIdx[k]).sort((a, b) => a - b);
  }
  const soft = config.softLabels && ds.soft !== undefined;
  const weights =
    config.classWeights === 'none' ? null : classWeights(classCounts(withVal, trainIdx), config.classWeights);
  return {
    classes: ds.classes,
    source: ds.source,
    train: splitData(withVal, trainIdx, soft),
    val: splitData(withVal, valIdx, soft),
    classWeights: weights ? Array.from(weights) : null,
    soft,
    dropped: dropped.size,
  };
}

/**
 * Number of batches per epoch: full batches, plus the remainder as its own batch when it is at least half a
 * batch; a smaller remainder joins the last batch (no image is skipped, no tiny batch upsets batch norm).
 */
export function batchesPerEpoch(size: number, batchSize: number): number {
  if (size <= batchSize) return 1;
  const full = Math.floor(size / batchSize);
  return size - full * batchSize >= batchSize / 2 ? full + 1 : full;
}

/** Copy the images and target rows of `order[start, end)` into the batch buffers. */
export function gatherBatch(
  split: SplitData,
  classes: number,
  order: ArrayLike<number>,
  start: number,
  end: number,
  pixels: Uint8Array,
  targets: Float32Array,
): void {
  for (let k = start; k < end; k++) {
    const i = order[k];
    const b = k - start;
    pixels.set(split.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE), b * PIXELS_PER_IMAGE);
    targets.set(split.targets.subarray(i * classes, (i + 1) * classes), b * classes);
  }
}
