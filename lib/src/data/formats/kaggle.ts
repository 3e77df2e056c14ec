/**
 * Kaggle's FER2013 layout: `train/<class>/*.jpg` and `test/<class>/*.jpg` (either may be missing; `val/` also
 * accepted), as a folder or straight from the downloaded .zip. A leading folder (e.g. `archive/train/...`) is allowed.
 * Images are keyed by their whole relative path (split/class/name): two file names occur in two class folders.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EMOTIONS, emotionIndex } from '../../emotions';
import type { BadItem, SplitName } from '../dataset';
import { mapPool, walkFiles } from '../pool';
import { IMAGE_EXTENSIONS, isLitter, RawImage, ReadOptions, ReadResult } from './types';
import { ZipArchive } from './zip';

const SPLIT_FOLDERS: Record<string, SplitName> = { train: 'train', training: 'train', test: 'test', val: 'val', valid: 'val', validation: 'val' };

export type KaggleEntry = { kind: 'image'; split: SplitName; label: number } | { kind: 'bad'; reason: string } | { kind: 'other' };

/** Classify one relative path of the layout. */
export function parseKagglePath(rel: string): KaggleEntry {
  if (isLitter(rel)) return { kind: 'other' };
  const parts = rel.split('/');
  if (parts.length < 3) return { kind: 'other' };
  const split = SPLIT_FOLDERS[parts[parts.length - 3].toLowerCase()];
  if (!split) return { kind: 'other' };
  const cls = parts[parts.length - 2];
  const label = emotionIndex(cls);
  if (label < 0) return { kind: 'bad', reason: `class folder "${cls}" is not one of ${EMOTIONS.join(', ')}` };
  if (!IMAGE_EXTENSIONS.has(path.extname(rel).toLowerCase())) return { kind: 'bad', reason: 'not an image file (extension)' };
  return { kind: 'image', split, label };
}

/** True when some path looks like the Kaggle layout. */
export function looksLikeKaggle(paths: readonly string[]): boolean {
  return paths.some((p) => parseKagglePath(p).kind === 'image');
}

/** True when a folder holds train/ or test/ (or val/) sub-folders. */
export function isKaggleFolder(dir: string): boolean {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .some((e) => (e.isDirectory() || e.isSymbolicLink()) && SPLIT_FOLDERS[e.name.toLowerCase()] !== undefined);
}

function collect(paths: readonly string[]): { wanted: Array<{ rel: string; split: SplitName; label: number }>; bad: BadItem[] } {
  const wanted: Array<{ rel: string; split: SplitName; label: number }> = [];
  const bad: BadItem[] = [];
  for (const rel of paths) {
    const e = parseKagglePath(rel);
    if (e.kind === 'image') wanted.push({ rel, split: e.split, label: e.label });
    else if (e.kind === 'bad') bad.push({ file: rel, reason: e.reason });
  }
  return { wanted, bad };
}

export async function readKaggleFolder(dir: string, options: ReadOptions): Promise<ReadResult> {
  const { wanted, bad } = collect(walkFiles(dir));
  let done = 0;
  const images = await mapPool(wanted, options.concurrency, async (w): Promise<RawImage> => {
    const buf = await fs.promises.readFile(path.join(dir, w.rel));
    options.onProgress?.(++done, wanted.length);
    return { file: w.rel, split: w.split, label: w.label, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
  });
  return { format: 'kaggle-folder', classes: EMOTIONS, images, bad, dropped: {} };
}

export async function readKaggleZip(file: string, options: ReadOptions, zip = ZipArchive.open(file)): Promise<ReadResult> {
  // Sorted like a folder walk, so a zip and its unpacked folder load in the same order.
  const { wanted, bad } = collect([...zip.names].sort());
  const want = new Set(wanted.map((w) => w.rel));
  const entries = zip.extract((name) => want.has(name));
  const images: RawImage[] = wanted.map((w) => ({ file: w.rel, split: w.split, label: w.label, bytes: entries[w.rel] }));
  options.onProgress?.(images.length, images.length);
  return { format: 'kaggle-zip', classes: EMOTIONS, images, bad, dropped: {} };
}
