/** What a format reader hands to the loader: labelled, still-encoded images (or CSV pixels) plus what it skipped. */
import type { BadItem, DatasetFormat, SplitName } from '../dataset';

export interface RawImage {
  /** Where it came from, relative to the source: `train/angry/x.jpg`, `FER2013Valid/fer0001.png`, `fer2013.csv:12`. */
  file: string;
  split: SplitName;
  /** Class index into ReadResult.classes. */
  label: number;
  /** Soft label (classes.length values summing to 1), FER+ only. */
  soft?: Float32Array;
  /** The encoded image file (JPEG, PNG, ...), or undefined when `pixels` is given. */
  bytes?: Uint8Array;
  /** Already-decoded 48x48 grayscale pixels (CSV rows). */
  pixels?: Uint8Array;
}

export interface ReadResult {
  format: DatasetFormat;
  classes: readonly string[];
  images: RawImage[];
  bad: BadItem[];
  /** Images left out on purpose (not errors), by reason, e.g. FER+ label rules. */
  dropped: Record<string, number>;
}

export type FerPlusLabelMode = 'majority' | 'soft';

/** Options the readers understand (a subset of LoadOptions). */
export interface ReadOptions {
  /** FER+: hard majority-vote labels or soft vote distributions. Default 'majority'. */
  ferplusLabels: FerPlusLabelMode;
  /** FER+: 7 classes (contempt dropped) or 8 (EMOTIONS_FERPLUS8). Default 7. */
  ferplusClasses: 7 | 8;
  /** Parallel file reads for folder layouts. */
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
}

/** Hidden files and OS litter inside folders or zips (macOS `__MACOSX/`, `.DS_Store`, `Thumbs.db`). */
export function isLitter(relPath: string): boolean {
  const parts = relPath.split('/');
  return parts.some((p) => p.startsWith('.') || p === '__MACOSX') || /(^|\/)thumbs\.db$/i.test(relPath);
}

/** File extensions treated as images when walking folders. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.gif', '.webp', '.tif', '.tiff', '.pgm', '.jfif']);
