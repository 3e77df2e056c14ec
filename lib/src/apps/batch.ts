/** `fer predict` on many files: list inputs, run the pipeline with bounded concurrency, annotated copies, reports. */
import * as fs from 'fs';
import * as path from 'path';
import { FerError, errorMessage } from '../errors';
import { encodeImage, loadImage, LoadImageOptions } from '../faces/image';
import { writeFileAtomic } from '../util/fs';
import { AnnotateOptions, drawAnnotations } from './annotate';
import { FacePipeline, FaceResult, toFaceJson } from './pipeline';
import type { ReportEntry } from './report';
export { toJsonResults } from './report';

export interface InputList {
  /** Folder the relative output names are taken from. */
  root: string;
  files: string[];
  /** True when the target was a single file. */
  single: boolean;
}

const isInside = (child: string, parent: string): boolean => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * The files to process: the file itself, or every (non-hidden) file of a folder, sorted; with `recursive`,
 * subfolders too. Files inside `exclude` (the output folder) are skipped. Non-images are kept: they get reported.
 */
export function listInputs(target: string, options: { recursive?: boolean; exclude?: string } = {}): InputList {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new FerError(`${target}: no such file or folder`, { file: target });
  }
  if (stat.isFile()) return { root: path.dirname(target), files: [target], single: true };
  if (!stat.isDirectory()) throw new FerError(`${target}: not a file or folder`, { file: target });
  const exclude = options.exclude ? path.resolve(options.exclude) : undefined;
  if (exclude && isInside(path.resolve(target), exclude)) {
    // Every input would be skipped as output (and outputs would land among the inputs).
    throw new FerError(`the output folder ${options.exclude} is the input folder ${target} or holds it: pick an output folder outside it (--out)`, { file: target });
  }
  const files: string[] = [];
  let subfolders = 0;
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const p = path.join(dir, entry.name);
      if (exclude && isInside(path.resolve(p), exclude)) continue;
      if (entry.isDirectory()) {
        subfolders++;
        if (options.recursive) walk(p);
      } else if (entry.isFile()) files.push(p);
    }
  };
  walk(target);
  if (files.length === 0) {
    const hint = !options.recursive && subfolders > 0 ? ` (it has ${subfolders} subfolders: add --recursive)` : '';
    throw new FerError(`${target}: folder has no files to process${hint}`, { file: target });
  }
  return { root: target, files, single: false };
}

/** Where the annotated copy of `file` goes: outDir/<same relative folder>/<name>_fer.jpg. */
export function annotatedPath(file: string, root: string, outDir: string): string {
  const rel = path.relative(root, file);
  const parsed = path.parse(rel);
  return path.join(outDir, parsed.dir, `${parsed.name}_fer.jpg`);
}

export interface PredictFilesOptions {
  /** Root folder for output names (default: each file's folder). */
  root?: string;
  /** Write annotated copies here (none when undefined). */
  outDir?: string;
  /** Files processed at once (decode, detection and encoding overlap across sharp's and onnxruntime's threads). Default 2. */
  concurrency?: number;
  load?: LoadImageOptions;
  annotate?: AnnotateOptions;
  /** Called after each file, in completion order. */
  onResult?: (entry: BatchEntry, done: number, total: number) => void;
}

export interface BatchEntry extends ReportEntry {
  /** Full-precision results (for notebooks); `faces` holds the JSON form. */
  results: FaceResult[];
  /** Absolute path of the annotated copy, when written. */
  output?: string;
}

/** Run the pipeline on every file; failures become entries with `error`, never exceptions. Input order is kept. */
export async function predictFiles(files: readonly string[], pipeline: FacePipeline, options: PredictFilesOptions = {}): Promise<BatchEntry[]> {
  const inputs = new Set(files.map((f) => path.resolve(f)));
  const entries: BatchEntry[] = new Array(files.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const file = files[i];
      let entry: BatchEntry;
      try {
        const image = await loadImage(file, options.load);
        const results = await pipeline.analyze(image);
        entry = { file, faces: results.map(toFaceJson), results };
        if (options.outDir) {
          const out = annotatedPath(file, options.root ?? path.dirname(file), options.outDir);
          if (inputs.has(path.resolve(out))) throw new FerError(`${file}: the annotated copy would overwrite input ${out}; choose another --out`);
          const drawn = await drawAnnotations(image, results, { ...options.annotate, inPlace: true });
          writeFileAtomic(out, await encodeImage(drawn, 'jpeg'));
          entry.output = path.resolve(out);
          entry.annotated = path.relative(options.outDir, out).split(path.sep).join('/');
        }
      } catch (err) {
        entry = { file, faces: [], results: [], error: errorMessage(err) };
      }
      entries[i] = entry;
      options.onResult?.(entry, ++done, files.length);
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? 2, files.length));
  await Promise.all(Array.from({ length: n }, worker));
  return entries;
}
