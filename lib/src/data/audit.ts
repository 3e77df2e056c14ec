/**
 * Data audit: exact duplicate images, duplicates across splits, duplicate groups with conflicting labels,
 * blank/flat images and unreadable files.
 *
 * Definitions (also in data/README.md):
 * - A duplicate group is a set of 2+ images with exactly the same 48x48 pixels.
 * - Each group keeps one representative: the copy in the highest-priority split (test, then private, then val,
 *   then train; so evaluation sets stay whole), earliest index first.
 * - duplicates = images that repeat their group's representative (sum over groups of size - 1).
 * - crossSplitDuplicates = those duplicates that sit in a different split from the representative (leakage).
 * - conflictingLabels = number of duplicate groups whose copies carry different labels.
 * - blank = images whose max - min pixel value is below `blankThreshold` (flat: all black, all white, ...).
 * - unreadable = files or rows skipped while loading (ds.bad).
 */
import * as crypto from 'crypto';
import { PIXELS_PER_IMAGE } from '../emotions';
import { BadItem, Dataset, imageAt, SplitName, subset } from './dataset';

export interface AuditOptions {
  /** An image with max - min below this is blank (default 8 grey levels). */
  blankThreshold?: number;
}

export interface DuplicateGroup {
  /** Image indices, representative first. */
  indices: number[];
  conflicting: boolean;
}

export interface AuditCounts {
  duplicates: number;
  crossSplitDuplicates: number;
  conflictingLabels: number;
  blank: number;
  unreadable: number;
}

export interface AuditReport {
  groups: DuplicateGroup[];
  /** Indices of images that repeat their group's representative. */
  duplicates: number[];
  /** The subset of `duplicates` in another split than their representative. */
  crossSplit: number[];
  /** Indices of every image in a group with conflicting labels (representatives included). */
  conflicting: number[];
  blank: number[];
  unreadable: BadItem[];
  counts: AuditCounts;
}

const SPLIT_PRIORITY: Record<SplitName, number> = { test: 0, private: 1, val: 2, train: 3 };

function sameImage(ds: Dataset, a: number, b: number): boolean {
  const x = imageAt(ds, a);
  const y = imageAt(ds, b);
  for (let i = 0; i < PIXELS_PER_IMAGE; i++) if (x[i] !== y[i]) return false;
  return true;
}

export function auditDataset(ds: Dataset, options: AuditOptions = {}): AuditReport {
  const threshold = options.blankThreshold ?? 8;
  const buckets = new Map<string, number[]>();
  const blank: number[] = [];
  for (let i = 0; i < ds.size; i++) {
    const img = imageAt(ds, i);
    let lo = 255;
    let hi = 0;
    for (let k = 0; k < PIXELS_PER_IMAGE; k++) {
      const v = img[k];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo < threshold) blank.push(i);
    const h = crypto.createHash('md5').update(img).digest('base64');
    const b = buckets.get(h);
    if (b) b.push(i);
    else buckets.set(h, [i]);
  }
  const groups: DuplicateGroup[] = [];
  const duplicates: number[] = [];
  const crossSplit: number[] = [];
  const conflicting: number[] = [];
  for (const bucket of buckets.values()) {
    if (bucket.length < 2) continue;
    // A hash bucket is verified byte by byte (it may, in theory, mix different images).
    let rest = bucket;
    while (rest.length > 1) {
      const first = rest[0];
      const same = rest.filter((j) => sameImage(ds, first, j));
      rest = rest.filter((j) => !same.includes(j));
      if (same.length < 2) continue;
      same.sort((a, b) => SPLIT_PRIORITY[ds.split[a]] - SPLIT_PRIORITY[ds.split[b]] || a - b);
      const rep = same[0];
      const isConflict = same.some((j) => ds.labels[j] !== ds.labels[rep]);
      groups.push({ indices: same, conflicting: isConflict });
      for (const j of same.slice(1)) {
        duplicates.push(j);
        if (ds.split[j] !== ds.split[rep]) crossSplit.push(j);
      }
      if (isConflict) conflicting.push(...same);
    }
  }
  const asc = (a: number, b: number): number => a - b;
  duplicates.sort(asc);
  crossSplit.sort(asc);
  conflicting.sort(asc);
  groups.sort((a, b) => a.indices[0] - b.indices[0]);
  return {
    groups, duplicates, crossSplit, conflicting, blank, unreadable: ds.bad,
    counts: {
      duplicates: duplicates.length,
      crossSplitDuplicates: crossSplit.length,
      conflictingLabels: groups.filter((g) => g.conflicting).length,
      blank: blank.length,
      unreadable: ds.bad.length,
    },
  };
}

export interface DropOptions {
  /** Drop every duplicate (keep each group's representative). */
  duplicates?: boolean;
  /** Drop only duplicates in another split than their representative (train copies of test images, ...). */
  crossSplit?: boolean;
  /** Drop every image of a group with conflicting labels (representative too: its label is doubtful). */
  conflicting?: boolean;
  /** Drop blank/flat images. */
  blank?: boolean;
}

/** A new Dataset without the chosen audit findings (ds.bad is kept: those files were never loaded). */
export function dropAuditFindings(ds: Dataset, options: DropOptions, report: AuditReport = auditDataset(ds)): Dataset {
  const drop = new Uint8Array(ds.size);
  const mark = (list: number[]): void => list.forEach((i) => (drop[i] = 1));
  if (options.duplicates) mark(report.duplicates);
  if (options.crossSplit) mark(report.crossSplit);
  if (options.conflicting) mark(report.conflicting);
  if (options.blank) mark(report.blank);
  const keep: number[] = [];
  for (let i = 0; i < ds.size; i++) if (!drop[i]) keep.push(i);
  return subset(ds, keep);
}
