/**
 * The one in-memory representation of a FER dataset: every format reader produces it, every later step reads it.
 * Images are 48x48 grayscale, row-major, stored back to back in one Uint8Array.
 */
import { PIXELS_PER_IMAGE } from '../emotions';

export type DatasetFormat = 'kaggle-folder' | 'kaggle-zip' | 'fer2013-csv' | 'ferplus';
/** train/val come from the training data, test is FER2013 PublicTest (or FER+ Valid/Test), private is PrivateTest. */
export type SplitName = 'train' | 'val' | 'test' | 'private';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test', 'private'];

/** A file (or CSV row) that could not be read; loading goes on and reports these. */
export interface BadItem {
  file: string;
  reason: string;
}

export interface Dataset {
  format: DatasetFormat;
  /** The path it was read from. */
  source: string;
  /** Class names, in label order (EMOTIONS, or EMOTIONS_FERPLUS8 for 8-class FER+). */
  classes: readonly string[];
  /** Number of images. */
  size: number;
  /** size * 48 * 48 grayscale pixels. */
  pixels: Uint8Array;
  /** Hard label per image (class index). */
  labels: Uint8Array;
  /** Optional soft labels (size * classes.length, rows sum to 1), e.g. FER+ vote distributions. */
  soft?: Float32Array;
  /** Split per image. */
  split: SplitName[];
  /** Where each image came from (file path inside the folder or zip, or `fer2013.csv:<row>`). */
  files: string[];
  /** Files or rows skipped while loading. */
  bad: BadItem[];
  /** Files loaded with a fix-up (e.g. a wrong-size image resized to 48x48), naming the file and what was done. */
  warnings?: BadItem[];
  /** Images left out on purpose by a label rule (not errors), count per reason, e.g. FER+ 'ferplus: tied majority'. */
  dropped?: Record<string, number>;
}

/** The 48*48 pixels of image i (a view, not a copy). */
export function imageAt(ds: Dataset, i: number): Uint8Array {
  return ds.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE);
}

/** A new Dataset holding the given images, in the given order (pixels copied). */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const n = indices.length;
  const pixels = new Uint8Array(n * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(n);
  const c = ds.classes.length;
  const soft = ds.soft ? new Float32Array(n * c) : undefined;
  const split: SplitName[] = new Array(n);
  const files: string[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    pixels.set(imageAt(ds, i), k * PIXELS_PER_IMAGE);
    labels[k] = ds.labels[i];
    if (soft && ds.soft) soft.set(ds.soft.subarray(i * c, (i + 1) * c), k * c);
    split[k] = ds.split[i];
    files[k] = ds.files[i];
  }
  return { ...ds, size: n, pixels, labels, soft, split, files, bad: ds.bad };
}

/** Indices of the images in one split. */
export function splitIndices(ds: Dataset, name: SplitName): number[] {
  const out: number[] = [];
  for (let i = 0; i < ds.size; i++) if (ds.split[i] === name) out.push(i);
  return out;
}

/** The images of one split as their own Dataset. */
export function takeSplit(ds: Dataset, name: SplitName): Dataset {
  return subset(ds, splitIndices(ds, name));
}

/** Images per class (length = classes.length). */
export function classCounts(ds: Dataset, indices?: ArrayLike<number>): number[] {
  const counts = new Array<number>(ds.classes.length).fill(0);
  if (indices) for (let k = 0; k < indices.length; k++) counts[ds.labels[indices[k]]]++;
  else for (let i = 0; i < ds.size; i++) counts[ds.labels[i]]++;
  return counts;
}
