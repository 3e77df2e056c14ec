/**
 * FER+ (Barsoum et al. 2016): folders FER2013Train/, FER2013Valid/, FER2013Test/ each with PNGs and Microsoft's
 * label.csv (no header): image name, face box, then 10 votes in the order below. Read from the folders or a .zip.
 *
 * Labels:
 * - 'majority' (FER+ paper's majority voting): the category with the most votes; images whose top category is
 *   unknown or not-a-face are dropped, ties for the top are dropped, and in 7-class mode contempt-majority images
 *   are dropped.
 * - 'soft': the vote distribution over the kept classes (unknown/not-a-face votes, and contempt in 7-class mode,
 *   removed and the rest renormalised). Images are dropped when unknown/not-a-face (or, 7-class, contempt) gets more
 *   votes than every kept class. The hard label is the top kept class (ties: first in EMOTIONS order).
 * Splits: Train -> train, Valid -> val, Test -> test.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'csv-parse/sync';
import { EMOTIONS, EMOTIONS_FERPLUS8 } from '../../emotions';
import { errorMessage } from '../../errors';
import type { BadItem, SplitName } from '../dataset';
import { mapPool } from '../pool';
import type { FerPlusLabelMode, RawImage, ReadOptions, ReadResult } from './types';
import { ZipArchive } from './zip';

/** Microsoft's vote columns, in label.csv order. */
export const FERPLUS_VOTE_ORDER = [
  'neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear', 'contempt', 'unknown', 'not-a-face',
] as const;
/** Vote column -> EMOTIONS_FERPLUS8 index (-1: unknown, not-a-face). */
const VOTE_TO_LABEL: readonly number[] = [4, 3, 6, 5, 0, 1, 2, 7, -1, -1];
const CONTEMPT = 7;

const SPLIT_DIRS: Record<string, SplitName> = { fer2013train: 'train', fer2013valid: 'val', fer2013test: 'test' };

export type FerPlusVerdict = { label: number; soft?: Float32Array } | { drop: string };

/** Turn one image's 10 votes into a label (or a reason to drop it); see the file comment for the rules. */
export function ferplusLabel(votes: readonly number[], classes: 7 | 8, mode: FerPlusLabelMode): FerPlusVerdict {
  const kept = (v: number): boolean => VOTE_TO_LABEL[v] >= 0 && (classes === 8 || VOTE_TO_LABEL[v] !== CONTEMPT);
  if (mode === 'majority') {
    const max = Math.max(...votes);
    if (max <= 0) return { drop: 'no votes' };
    const winners = votes.map((v, i) => (v === max ? i : -1)).filter((i) => i >= 0);
    if (winners.length > 1) return { drop: 'tied majority' };
    const w = winners[0];
    if (VOTE_TO_LABEL[w] < 0) return { drop: 'unknown/not-a-face majority' };
    if (!kept(w)) return { drop: 'contempt majority (7-class)' };
    return { label: VOTE_TO_LABEL[w] };
  }
  const soft = new Float32Array(classes);
  let keptMax = 0;
  let sum = 0;
  let otherMax = 0;
  votes.forEach((v, i) => {
    if (kept(i)) {
      soft[VOTE_TO_LABEL[i]] += v;
      sum += v;
      keptMax = Math.max(keptMax, v);
    } else otherMax = Math.max(otherMax, v);
  });
  if (otherMax > keptMax) return { drop: classes === 7 && votes[7] === otherMax && votes[8] < otherMax && votes[9] < otherMax ? 'contempt majority (7-class)' : 'unknown/not-a-face majority' };
  if (sum <= 0) return { drop: 'no votes' };
  let label = 0;
  for (let c = 0; c < classes; c++) {
    soft[c] /= sum;
    if (soft[c] > soft[label]) label = c;
  }
  return { label, soft };
}

interface LabelRow {
  name: string;
  votes: number[];
  line: number;
}

/** Parse a label.csv; bad rows are reported as `<where>:<line>`. */
export function parseFerPlusLabels(text: string, where: string): { rows: LabelRow[]; bad: BadItem[] } {
  const rows: LabelRow[] = [];
  const bad: BadItem[] = [];
  let records: string[][];
  try {
    records = parse(text, { relax_column_count: true, skip_empty_lines: false, trim: true, bom: true });
  } catch (err) {
    return { rows, bad: [{ file: where, reason: `not a readable CSV (${errorMessage(err)})` }] };
  }
  records.forEach((r, k) => {
    const line = k + 1;
    if (r.length === 1 && r[0] === '') return;
    const votes = r.slice(2, 12).map(Number);
    const ok = r.length >= 12 && r[0] !== '' && votes.every((v) => Number.isFinite(v) && v >= 0);
    if (ok) rows.push({ name: r[0], votes, line });
    else if (line === 1 && r.length >= 12) return; // a header row
    else bad.push({ file: `${where}:${line}`, reason: `expected "name,box,10 vote counts", got ${r.length} fields` });
  });
  return { rows, bad };
}

/** Split folder name -> split (FER2013Train -> train ...), or undefined. */
export function ferplusSplitOf(folder: string): SplitName | undefined {
  return SPLIT_DIRS[folder.toLowerCase()];
}

/** Entries of a FER+ layout: label.csv paths (relative, '/'-separated) with their split. */
export function findFerPlusLabelFiles(paths: readonly string[]): Array<{ csv: string; dir: string; split: SplitName }> {
  const out: Array<{ csv: string; dir: string; split: SplitName }> = [];
  for (const p of paths) {
    const parts = p.split('/');
    if (parts[parts.length - 1].toLowerCase() !== 'label.csv' || parts.some((x) => x === '__MACOSX')) continue;
    const dir = parts.slice(0, -1).join('/');
    const split = parts.length >= 2 ? ferplusSplitOf(parts[parts.length - 2]) : undefined;
    if (split) out.push({ csv: p, dir, split });
  }
  return out;
}

interface SplitSource {
  split: SplitName;
  /** Relative folder of this split ('' for a single split folder given directly). */
  dir: string;
  labelsText: string;
  labelsWhere: string;
  /** Image names (not label.csv) present in the folder. */
  present: Set<string>;
  read: (name: string) => Promise<Uint8Array>;
}

async function assemble(sources: SplitSource[], options: ReadOptions): Promise<ReadResult> {
  const classes = options.ferplusClasses === 8 ? EMOTIONS_FERPLUS8 : EMOTIONS;
  const bad: BadItem[] = [];
  const dropped: Record<string, number> = {};
  const jobs: Array<{ src: SplitSource; name: string; label: number; soft?: Float32Array }> = [];
  for (const src of sources) {
    const { rows, bad: badRows } = parseFerPlusLabels(src.labelsText, src.labelsWhere);
    bad.push(...badRows);
    const listed = new Set<string>();
    for (const row of rows) {
      listed.add(row.name);
      const rel = src.dir ? `${src.dir}/${row.name}` : row.name;
      if (!src.present.has(row.name)) {
        bad.push({ file: rel, reason: `listed in ${src.labelsWhere}:${row.line} but the image is missing` });
        continue;
      }
      const v = ferplusLabel(row.votes, options.ferplusClasses, options.ferplusLabels);
      if ('drop' in v) dropped[`ferplus: ${v.drop}`] = (dropped[`ferplus: ${v.drop}`] ?? 0) + 1;
      else jobs.push({ src, name: row.name, label: v.label, soft: v.soft });
    }
    for (const name of src.present) {
      if (!listed.has(name)) bad.push({ file: src.dir ? `${src.dir}/${name}` : name, reason: `has no row in ${src.labelsWhere}` });
    }
  }
  let done = 0;
  const images = await mapPool(jobs, options.concurrency, async (j): Promise<RawImage> => {
    const bytes = await j.src.read(j.name);
    options.onProgress?.(++done, jobs.length);
    return { file: j.src.dir ? `${j.src.dir}/${j.name}` : j.name, split: j.src.split, label: j.label, soft: j.soft, bytes };
  });
  const soft = options.ferplusLabels === 'soft';
  return { format: 'ferplus', classes, images: soft ? images : images.map(({ soft: _s, ...rest }) => rest), bad, dropped };
}

/** Folders that make up a FER+ layout under `dir` (the FER2013* sub-folders, or `dir` itself if it has label.csv). */
export function ferplusFolders(dir: string): Array<{ dir: string; split: SplitName }> {
  if (fs.existsSync(path.join(dir, 'label.csv'))) return [{ dir: '', split: ferplusSplitOf(path.basename(dir)) ?? 'train' }];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && ferplusSplitOf(e.name) && fs.existsSync(path.join(dir, e.name, 'label.csv')))
    .map((e) => ({ dir: e.name, split: ferplusSplitOf(e.name) as SplitName }))
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

export async function readFerPlusFolder(root: string, options: ReadOptions): Promise<ReadResult> {
  const sources: SplitSource[] = ferplusFolders(root).map(({ dir, split }) => {
    const abs = path.join(root, dir);
    const present = new Set(fs.readdirSync(abs).filter((n) => n.toLowerCase() !== 'label.csv' && !n.startsWith('.')));
    const labelsWhere = dir ? `${dir}/label.csv` : 'label.csv';
    return {
      split,
      dir,
      labelsText: fs.readFileSync(path.join(abs, 'label.csv'), 'utf8'),
      labelsWhere,
      present,
      read: async (name: string) => {
        const b = await fs.promises.readFile(path.join(abs, name));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      },
    };
  });
  return assemble(sources, options);
}

export async function readFerPlusZip(file: string, options: ReadOptions, zip = ZipArchive.open(file)): Promise<ReadResult> {
  const labelFiles = findFerPlusLabelFiles(zip.names);
  const dirs = new Set(labelFiles.map((l) => l.dir));
  const entries = zip.extract((name) => dirs.has(name.split('/').slice(0, -1).join('/')));
  const sources: SplitSource[] = labelFiles.map(({ csv, dir, split }) => {
    const prefix = `${dir}/`;
    const present = new Set(
      Object.keys(entries)
        .filter((n) => n.startsWith(prefix) && n !== csv && !n.slice(prefix.length).startsWith('.'))
        .map((n) => n.slice(prefix.length)),
    );
    return {
      split,
      dir,
      labelsText: Buffer.from(entries[csv]).toString('utf8'),
      labelsWhere: csv,
      present,
      read: async (name: string) => entries[prefix + name],
    };
  });
  return assemble(sources, options);
}
