/**
 * Binary dataset cache so a second load is near-instant. One file per (absolute source path, its size + mtime, or
 * for a folder every file's path + size + mtime, and the load options). Written atomically; a file that fails any
 * check (magic, version, key, lengths, SHA-1 of the body) is ignored and rebuilt by the caller.
 *
 * Layout: "FERDS\0" + u16 version | u32 header length | header JSON | pixels | labels | split codes | soft (f32 LE).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { PIXELS_PER_IMAGE } from '../emotions';
import { projectPath, writeFileAtomic } from '../util/fs';
import type { BadItem, Dataset, DatasetFormat } from './dataset';
import { SPLIT_NAMES } from './dataset';
import { walkFiles } from './pool';

const MAGIC = Buffer.from('FERDS\0', 'latin1');
export const CACHE_VERSION = 1;

interface CacheHeader {
  key: string;
  format: DatasetFormat;
  source: string;
  classes: string[];
  size: number;
  files: string[];
  bad: BadItem[];
  warnings?: BadItem[];
  dropped?: Record<string, number>;
  hasSoft: boolean;
  sha1: string;
}

/** `FER_CACHE_DIR`, else <projectRoot>/.cache/datasets (git-ignored). */
export function datasetCacheDir(): string {
  return process.env.FER_CACHE_DIR || projectPath('.cache', 'datasets');
}

/** What identifies a source's content without reading it: size + mtime (a folder: every file's). */
export function sourceSignature(absPath: string): string {
  const st = fs.statSync(absPath);
  if (!st.isDirectory()) return `file:${st.size}:${st.mtimeMs}`;
  const h = crypto.createHash('sha1');
  for (const rel of walkFiles(absPath)) {
    const s = fs.statSync(path.join(absPath, rel));
    h.update(`${rel}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return `dir:${h.digest('hex')}`;
}

/** The cache key for a source + the options that change what is loaded. */
export function datasetCacheKey(absPath: string, options: Record<string, unknown>): string {
  const payload = JSON.stringify({ v: CACHE_VERSION, path: absPath, sig: sourceSignature(absPath), options });
  return crypto.createHash('sha256').update(payload).digest('hex');
}

export function datasetCacheFile(dir: string, key: string): string {
  return path.join(dir, `${key.slice(0, 40)}.ferds`);
}

function body(ds: Dataset): Buffer[] {
  const splitCodes = new Uint8Array(ds.size);
  for (let i = 0; i < ds.size; i++) splitCodes[i] = SPLIT_NAMES.indexOf(ds.split[i]);
  const parts = [Buffer.from(ds.pixels.buffer, ds.pixels.byteOffset, ds.size * PIXELS_PER_IMAGE), Buffer.from(ds.labels.buffer, ds.labels.byteOffset, ds.size), Buffer.from(splitCodes.buffer)];
  if (ds.soft) {
    const soft = Buffer.alloc(ds.soft.length * 4);
    for (let i = 0; i < ds.soft.length; i++) soft.writeFloatLE(ds.soft[i], i * 4);
    parts.push(soft);
  }
  return parts;
}

/** Write the dataset to the cache (atomically). */
export function writeDatasetCache(file: string, key: string, ds: Dataset): void {
  const parts = body(ds);
  const sha1 = crypto.createHash('sha1');
  for (const p of parts) sha1.update(p);
  const header: CacheHeader = {
    key, format: ds.format, source: ds.source, classes: [...ds.classes], size: ds.size, files: ds.files, bad: ds.bad,
    warnings: ds.warnings, dropped: ds.dropped, hasSoft: ds.soft !== undefined, sha1: sha1.digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(MAGIC.length + 2 + 4);
  MAGIC.copy(pre, 0);
  pre.writeUInt16LE(CACHE_VERSION, MAGIC.length);
  pre.writeUInt32LE(json.length, MAGIC.length + 2);
  writeFileAtomic(file, Buffer.concat([pre, json, ...parts]));
}

/** Read a cached dataset; undefined when missing, stale or damaged in any way. */
export function readDatasetCache(file: string, key: string): Dataset | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    const pre = MAGIC.length + 6;
    if (buf.length < pre || !buf.subarray(0, MAGIC.length).equals(MAGIC) || buf.readUInt16LE(MAGIC.length) !== CACHE_VERSION) return undefined;
    const jsonLen = buf.readUInt32LE(MAGIC.length + 2);
    if (pre + jsonLen > buf.length) return undefined;
    const h = JSON.parse(buf.toString('utf8', pre, pre + jsonLen)) as CacheHeader;
    if (h.key !== key || !Number.isInteger(h.size) || h.files.length !== h.size) return undefined;
    const n = h.size;
    const c = h.classes.length;
    let off = pre + jsonLen;
    const expected = off + n * PIXELS_PER_IMAGE + 2 * n + (h.hasSoft ? n * c * 4 : 0);
    if (buf.length !== expected) return undefined;
    if (crypto.createHash('sha1').update(buf.subarray(off)).digest('hex') !== h.sha1) return undefined;
    const pixels = new Uint8Array(buf.subarray(off, off + n * PIXELS_PER_IMAGE));
    off += n * PIXELS_PER_IMAGE;
    const labels = new Uint8Array(buf.subarray(off, off + n));
    off += n;
    const split = Array.from(buf.subarray(off, off + n), (code) => SPLIT_NAMES[code]);
    off += n;
    if (split.some((s) => s === undefined)) return undefined;
    let soft: Float32Array | undefined;
    if (h.hasSoft) {
      soft = new Float32Array(n * c);
      for (let i = 0; i < soft.length; i++) soft[i] = buf.readFloatLE(off + i * 4);
    }
    return {
      format: h.format, source: h.source, classes: h.classes, size: n, pixels, labels, soft, split, files: h.files, bad: h.bad,
      ...(h.warnings ? { warnings: h.warnings } : {}), ...(h.dropped ? { dropped: h.dropped } : {}),
    };
  } catch {
    return undefined;
  }
}
