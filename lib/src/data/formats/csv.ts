/**
 * The original `fer2013.csv` (Kaggle ICML 2013 challenge): `emotion,pixels,Usage`, one 48x48 image per row as 2304
 * space-separated values; Usage Training/PublicTest/PrivateTest -> splits train/test/private (no Usage column: all
 * train). Parsed straight from bytes (the file is ~290 MB; a generic CSV parser is needlessly slow here).
 * A bad row is skipped and counted with its line number (`fer2013.csv:<line>`, header = line 1).
 */
import * as fs from 'fs';
import * as path from 'path';
import { EMOTIONS, PIXELS_PER_IMAGE } from '../../emotions';
import { FerError } from '../../errors';
import type { BadItem, SplitName } from '../dataset';
import type { RawImage, ReadResult } from './types';

/** FER2013's emotion codes 0..6 = Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral -> fer-lab (EMOTIONS) index. */
export const FER2013_CODE_TO_LABEL: readonly number[] = [0, 1, 2, 3, 5, 6, 4];
/** Inverse of FER2013_CODE_TO_LABEL: fer-lab index -> FER2013 code (for writing a fer2013.csv). */
export const LABEL_TO_FER2013_CODE: readonly number[] = EMOTIONS.map((_, i) => FER2013_CODE_TO_LABEL.indexOf(i));

const USAGE: Record<string, SplitName> = { training: 'train', publictest: 'test', privatetest: 'private' };

interface Header {
  emotion: number;
  pixels: number;
  usage: number;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

/** Parse the header line; undefined when it is not a fer2013.csv header. */
export function parseFer2013Header(line: string): Header | undefined {
  const cols = line.replace(/^\uFEFF/, '').split(',').map((c) => unquote(c).toLowerCase());
  const emotion = cols.indexOf('emotion');
  const pixels = cols.indexOf('pixels');
  if (emotion < 0 || pixels < 0) return undefined;
  return { emotion, pixels, usage: cols.indexOf('usage') };
}

/** True when the file's first line is a fer2013.csv header. */
export function isFer2013Csv(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return parseFer2013Header(buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0]) !== undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Parse space-separated 0..255 integers into out; returns the count, or -1 on a bad value. */
function parsePixels(buf: Buffer, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  let v = -1;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      v = v < 0 ? c - 48 : v * 10 + (c - 48);
      if (v > 255) return -1;
    } else if (c === 32 || c === 9 || c === 34) {
      // space, tab, quote
      if (v >= 0) {
        if (n >= PIXELS_PER_IMAGE) return -1;
        out[n++] = v;
        v = -1;
      }
    } else return -1;
  }
  if (v >= 0) {
    if (n >= PIXELS_PER_IMAGE) return -1;
    out[n++] = v;
  }
  return n;
}

export function readFer2013Csv(file: string): ReadResult {
  const name = path.basename(file);
  const buf = fs.readFileSync(file);
  // Line starts (tolerates \r\n).
  let lineStart = 0;
  let lineNo = 0;
  let header: Header | undefined;
  const bad: BadItem[] = [];
  const images: RawImage[] = [];
  // Upper bound on rows: one image per ~4.6 KB minimum row -> allocate lazily in blocks instead.
  let block = new Uint8Array(0);
  let blockUsed = 0;
  const scratch = new Uint8Array(PIXELS_PER_IMAGE);
  while (lineStart < buf.length) {
    let lineEnd = buf.indexOf(10, lineStart);
    if (lineEnd < 0) lineEnd = buf.length;
    const next = lineEnd + 1;
    if (lineEnd > lineStart && buf[lineEnd - 1] === 13) lineEnd--;
    lineNo++;
    if (lineEnd === lineStart) {
      lineStart = next;
      continue;
    }
    if (!header) {
      header = parseFer2013Header(buf.toString('utf8', lineStart, lineEnd));
      if (!header) {
        throw new FerError(`${file}: the first line is not a fer2013.csv header; expected columns "emotion,pixels,Usage" (Usage optional).`, { file });
      }
      lineStart = next;
      continue;
    }
    const where = `${name}:${lineNo}`;
    // Field boundaries.
    const bounds: number[] = [lineStart];
    for (let i = lineStart; i < lineEnd; i++) if (buf[i] === 44) bounds.push(i + 1);
    bounds.push(lineEnd + 1);
    const fieldCount = bounds.length - 1;
    const field = (k: number): [number, number] => [bounds[k], bounds[k + 1] - 1];
    const need = Math.max(header.emotion, header.pixels, header.usage) + 1;
    if (fieldCount < need) {
      bad.push({ file: where, reason: `expected ${need} comma-separated fields, found ${fieldCount}` });
      lineStart = next;
      continue;
    }
    const emoText = unquote(buf.toString('latin1', ...field(header.emotion)));
    const code = /^\d+$/.test(emoText) ? Number(emoText) : -1;
    if (code < 0 || code >= FER2013_CODE_TO_LABEL.length) {
      bad.push({ file: where, reason: `emotion "${emoText}" is not a code 0-6` });
      lineStart = next;
      continue;
    }
    let split: SplitName = 'train';
    if (header.usage >= 0) {
      const usage = unquote(buf.toString('latin1', ...field(header.usage)));
      const s = USAGE[usage.toLowerCase()];
      if (!s) {
        bad.push({ file: where, reason: `Usage "${usage}" is not Training, PublicTest or PrivateTest` });
        lineStart = next;
        continue;
      }
      split = s;
    }
    const [ps, pe] = field(header.pixels);
    const count = parsePixels(buf, ps, pe, scratch);
    if (count !== PIXELS_PER_IMAGE) {
      const what = count < 0 ? 'a value that is not an integer 0-255' : `${count} values`;
      bad.push({ file: where, reason: `pixels has ${what}; expected ${PIXELS_PER_IMAGE} (48x48) integers 0-255` });
      lineStart = next;
      continue;
    }
    if (blockUsed + PIXELS_PER_IMAGE > block.length) {
      block = new Uint8Array(PIXELS_PER_IMAGE * 1024);
      blockUsed = 0;
    }
    const pixels = block.subarray(blockUsed, blockUsed + PIXELS_PER_IMAGE);
    pixels.set(scratch);
    blockUsed += PIXELS_PER_IMAGE;
    images.push({ file: where, split, label: FER2013_CODE_TO_LABEL[code], pixels });
    lineStart = next;
  }
  if (!header) throw new FerError(`${file} is empty; expected a fer2013.csv with header "emotion,pixels,Usage".`, { file });
  return { format: 'fer2013-csv', classes: EMOTIONS, images, bad, dropped: {} };
}

/** Write images (fer-lab labels) as a fer2013.csv body+header; used by tests and to convert the sample. */
export function formatFer2013Csv(rows: ReadonlyArray<{ label: number; pixels: ArrayLike<number>; split: SplitName }>): string {
  const usage: Record<SplitName, string> = { train: 'Training', val: 'Training', test: 'PublicTest', private: 'PrivateTest' };
  const lines = ['emotion,pixels,Usage'];
  for (const r of rows) lines.push(`${LABEL_TO_FER2013_CODE[r.label]},${Array.from(r.pixels).join(' ')},${usage[r.split]}`);
  return lines.join('\n') + '\n';
}
