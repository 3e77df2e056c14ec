/**
 * loadDataset: path -> Dataset. Detects the format (or takes options.format), reads, decodes, checks, caches.
 * Bad files or rows are skipped and listed in ds.bad; a source with no usable image at all is a FerError.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { PIXELS_PER_IMAGE } from '../emotions';
import { FerError, errorMessage } from '../errors';
import { datasetCacheFile, datasetCacheKey, datasetCacheDir, readDatasetCache, writeDatasetCache } from './cache';
import type { BadItem, Dataset, SplitName } from './dataset';
import { decodeFast, decodeWithSharp, WrongSizePolicy } from './decode';
import { ACCEPTED_LAYOUTS, detectLayout, FormatChoice } from './detect';
import { readFer2013Csv } from './formats/csv';
import { readFerPlusFolder, readFerPlusZip } from './formats/ferplus';
import { readKaggleFolder, readKaggleZip } from './formats/kaggle';
import type { FerPlusLabelMode, RawImage, ReadOptions, ReadResult } from './formats/types';
import { mapPool } from './pool';
import type { DecodeReply, DecodeRequest } from './decode-worker';

export type LoadPhase = 'read' | 'decode';

export interface LoadOptions {
  /** Skip detection: 'kaggle' (folder or zip), 'fer2013-csv' or 'ferplus'. */
  format?: FormatChoice;
  /** FER+: 'majority' (default) hard labels or 'soft' vote distributions (ds.soft). */
  ferplusLabels?: FerPlusLabelMode;
  /** FER+: 7 (default, contempt dropped) or 8 classes. */
  ferplusClasses?: 7 | 8;
  /** An image that is not 48x48: 'resize' (default; listed in ds.warnings) or 'skip' (listed in ds.bad). */
  wrongSize?: WrongSizePolicy;
  /** Use the binary cache (default true). */
  cache?: boolean;
  /** Cache folder; default FER_CACHE_DIR or <projectRoot>/.cache/datasets. */
  cacheDir?: string;
  /** Parallel sharp decodes / file reads (default 8). */
  concurrency?: number;
  /** Worker threads for decoding large datasets (default: number of cores; 0 or 1 = decode in this thread). */
  workers?: number;
  /** Progress callback (e.g. a cli-progress bar). */
  onProgress?: (phase: LoadPhase, done: number, total: number) => void;
}

export const DEFAULT_LOAD_OPTIONS = {
  ferplusLabels: 'majority' as FerPlusLabelMode,
  ferplusClasses: 7 as 7 | 8,
  wrongSize: 'resize' as WrongSizePolicy,
  cache: true,
  concurrency: 8,
  workers: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
};

/** Read a source with the reader for its layout (no decoding). */
export async function readSource(absPath: string, format: FormatChoice | undefined, options: ReadOptions): Promise<ReadResult> {
  const layout = detectLayout(absPath, format);
  switch (layout.format) {
    case 'kaggle-folder':
      return readKaggleFolder(layout.file, options);
    case 'kaggle-zip':
      return readKaggleZip(layout.file, options, layout.zip);
    case 'fer2013-csv':
      return readFer2013Csv(layout.file);
    case 'ferplus':
      return layout.zip ? readFerPlusZip(layout.file, options, layout.zip) : readFerPlusFolder(layout.file, options);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Below this many images, worker start-up costs more than it saves. */
const WORKER_MIN_IMAGES = 2000;
const WORKER_BATCH = 1024;

/** The compiled worker script (present in lib/dist; absent when running the .ts sources, e.g. under ts-jest). */
function workerScript(): string | undefined {
  const file = path.join(__dirname, 'decode-worker.js');
  return __filename.endsWith('.js') && fs.existsSync(file) ? file : undefined;
}

/**
 * Fast-path decode of the given images on worker threads (one per core); returns per image the pixels or undefined
 * (undefined: give it to sharp). Runs in-thread, in chunks that yield for progress output, when workers do not apply.
 */
async function decodeFastAll(
  images: RawImage[],
  todo: number[],
  workers: number,
  onDone: (n: number) => void,
): Promise<Map<number, Uint8Array | undefined>> {
  const out = new Map<number, Uint8Array | undefined>();
  const script = workerScript();
  if (!script || workers < 2 || todo.length < WORKER_MIN_IMAGES) {
    for (let start = 0; start < todo.length; start += 512) {
      const chunk = todo.slice(start, start + 512);
      for (const i of chunk) out.set(i, decodeFast(images[i].bytes as Uint8Array));
      onDone(chunk.length);
      await yieldToEventLoop();
    }
    return out;
  }
  const batches: number[][] = [];
  for (let start = 0; start < todo.length; start += WORKER_BATCH) batches.push(todo.slice(start, start + WORKER_BATCH));
  const pool = Array.from({ length: Math.min(workers, batches.length) }, () => new Worker(script));
  try {
    let next = 0;
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = (): void => {
              if (next >= batches.length) return resolve();
              const id = next++;
              const req: DecodeRequest = { id, images: batches[id].map((i) => images[i].bytes as Uint8Array) };
              worker.postMessage(req);
            };
            worker.on('message', (reply: DecodeReply) => {
              batches[reply.id].forEach((i, k) => {
                out.set(i, reply.ok[k] ? reply.pixels.subarray(k * PIXELS_PER_IMAGE, (k + 1) * PIXELS_PER_IMAGE) : undefined);
              });
              onDone(batches[reply.id].length);
              send();
            });
            worker.on('error', reject);
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return out;
}

/** Decode every image to 48x48 grey: the JS fast path (worker threads), then sharp concurrently for the rest. */
async function decodeAll(
  images: RawImage[],
  wrongSize: WrongSizePolicy,
  concurrency: number,
  workers: number,
  onProgress?: (done: number, total: number) => void,
): Promise<{ pixels: Array<Uint8Array | undefined>; bad: BadItem[]; warnings: BadItem[] }> {
  const pixels: Array<Uint8Array | undefined> = new Array(images.length);
  const bad: BadItem[] = [];
  const warnings: BadItem[] = [];
  const encoded: number[] = [];
  let done = 0;
  images.forEach((img, i) => {
    if (img.pixels) pixels[i] = img.pixels;
    else if (!img.bytes || img.bytes.length === 0) bad.push({ file: img.file, reason: 'empty file' });
    else return void encoded.push(i);
    done++;
  });
  const fast = await decodeFastAll(images, encoded, workers, (n) => onProgress?.((done += n), images.length));
  const slow: number[] = [];
  for (const i of encoded) {
    const p = fast.get(i);
    if (p) pixels[i] = p;
    else {
      slow.push(i);
      done--;
    }
  }
  await mapPool(slow, concurrency, async (i) => {
    const r = await decodeWithSharp(images[i].bytes as Uint8Array, wrongSize);
    if (r.ok) {
      pixels[i] = r.pixels;
      if (r.resizedFrom) warnings.push({ file: images[i].file, reason: `was ${r.resizedFrom.width}x${r.resizedFrom.height}, resized to 48x48 (centre crop)` });
    } else bad.push({ file: images[i].file, reason: r.reason });
    onProgress?.(++done, images.length);
  });
  return { pixels, bad, warnings };
}

function describeBad(bad: BadItem[]): string {
  const shown = bad.slice(0, 3).map((b) => `${b.file}: ${b.reason}`).join('; ');
  return bad.length > 3 ? `${shown}; and ${bad.length - 3} more` : shown;
}

/** Decode a ReadResult into a Dataset (throws FerError when nothing usable is left). */
export async function buildDataset(
  source: string,
  read: ReadResult,
  options: { wrongSize: WrongSizePolicy; concurrency: number; workers?: number; onProgress?: (done: number, total: number) => void },
): Promise<Dataset> {
  const decoded = await decodeAll(read.images, options.wrongSize, options.concurrency, options.workers ?? 1, options.onProgress);
  const keep: number[] = [];
  for (let i = 0; i < read.images.length; i++) if (decoded.pixels[i]) keep.push(i);
  const bad = [...read.bad, ...decoded.bad];
  if (keep.length === 0) {
    const why = bad.length > 0 ? `all ${bad.length} files were unreadable or invalid (${describeBad(bad)})` : 'it holds no images';
    throw new FerError(`${source}: no usable images: ${why}. Check the files or pass another dataset.`, { file: source });
  }
  const n = keep.length;
  const c = read.classes.length;
  const pixels = new Uint8Array(n * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(n);
  const hasSoft = read.images.some((im) => im.soft);
  const soft = hasSoft ? new Float32Array(n * c) : undefined;
  const split: SplitName[] = new Array(n);
  const files: string[] = new Array(n);
  keep.forEach((i, k) => {
    const im = read.images[i];
    pixels.set(decoded.pixels[i] as Uint8Array, k * PIXELS_PER_IMAGE);
    labels[k] = im.label;
    if (soft && im.soft) soft.set(im.soft, k * c);
    split[k] = im.split;
    files[k] = im.file;
  });
  const ds: Dataset = { format: read.format, source, classes: read.classes, size: n, pixels, labels, soft, split, files, bad };
  if (decoded.warnings.length) ds.warnings = decoded.warnings;
  if (Object.keys(read.dropped).length) ds.dropped = read.dropped;
  return ds;
}

/**
 * Load a FER dataset from a Kaggle folder or .zip, a fer2013.csv, or FER+ folders or .zip (detected from the path).
 * A second load of an unchanged source with the same options comes from the cache.
 */
export async function loadDataset(source: string, options: LoadOptions = {}): Promise<Dataset> {
  const o = { ...DEFAULT_LOAD_OPTIONS, ...options };
  const abs = path.resolve(source);
  if (!fs.existsSync(abs)) throw new FerError(`${abs} does not exist; pass a FER2013 .zip, folder or fer2013.csv (${ACCEPTED_LAYOUTS}).`, { file: abs });
  const keyOptions = { format: o.format ?? null, ferplusLabels: o.ferplusLabels, ferplusClasses: o.ferplusClasses, wrongSize: o.wrongSize };
  let file: string | undefined;
  let key = '';
  if (o.cache) {
    key = datasetCacheKey(abs, keyOptions);
    file = datasetCacheFile(o.cacheDir ?? datasetCacheDir(), key);
    const cached = readDatasetCache(file, key);
    if (cached) {
      o.onProgress?.('decode', cached.size, cached.size);
      return cached;
    }
  }
  const readOptions: ReadOptions = {
    ferplusLabels: o.ferplusLabels, ferplusClasses: o.ferplusClasses, concurrency: Math.max(8, o.concurrency * 4),
    onProgress: (d, t) => o.onProgress?.('read', d, t),
  };
  const read = await readSource(abs, o.format, readOptions);
  const ds = await buildDataset(abs, read, { wrongSize: o.wrongSize, concurrency: o.concurrency, workers: o.workers, onProgress: (d, t) => o.onProgress?.('decode', d, t) });
  if (file) {
    try {
      writeDatasetCache(file, key, ds);
    } catch (err) {
      // A read-only project folder must not stop loading; the next load just reads the source again.
      process.emitWarning(`fer-lab: could not write the dataset cache ${file}: ${errorMessage(err)}`);
    }
  }
  return ds;
}
