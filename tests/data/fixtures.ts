/** Small datasets made on the fly in os.tmpdir() (tests never need /work/shared or the network). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import sharp from 'sharp';
import { zipSync } from 'fflate';
import { EMOTIONS, PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import type { Dataset, SplitName } from '../../lib/src/data/dataset';

export function tmpDir(prefix = 'fer-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A distinct, smooth 48x48 image for `seed` (smooth so JPEG keeps it close). */
export function pattern(seed: number): Uint8Array {
  const px = new Uint8Array(PIXELS_PER_IMAGE);
  for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) px[y * 48 + x] = (seed * 29 + x * 2 + y * 3) % 200 + 20;
  return px;
}

export function flat(value: number): Uint8Array {
  return new Uint8Array(PIXELS_PER_IMAGE).fill(value);
}

export async function png(pixels: Uint8Array, size = 48): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: 1 } }).png().toBuffer();
}

export async function jpg(pixels: Uint8Array, size = 48): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: 1 } }).jpeg({ quality: 95 }).toBuffer();
}

export interface KaggleFixture {
  /** relative path -> { pixels, label, split } */
  images: Map<string, { pixels: Uint8Array; label: number; split: SplitName }>;
  files: Record<string, Uint8Array>;
}

/**
 * Kaggle-layout files: `perClass` images per class in each split; plus `train/happy/dup.png` and `train/sad/dup.png`
 * (same name in two class folders, different images). PNG keeps pixels exact.
 */
export async function kaggleFiles(splits: SplitName[] = ['train', 'test'], perClass = 2): Promise<KaggleFixture> {
  const images = new Map<string, { pixels: Uint8Array; label: number; split: SplitName }>();
  const files: Record<string, Uint8Array> = {};
  let seed = 1;
  for (const split of splits) {
    for (let label = 0; label < EMOTIONS.length; label++) {
      for (let k = 0; k < perClass; k++) {
        const pixels = pattern(seed++);
        const rel = `${split}/${EMOTIONS[label]}/img_${k}.png`;
        images.set(rel, { pixels, label, split });
        files[rel] = await png(pixels);
      }
    }
  }
  if (splits.includes('train')) {
    for (const [cls, label] of [['happy', 3], ['sad', 5]] as const) {
      const pixels = pattern(seed++);
      const rel = `train/${cls}/dup.png`;
      images.set(rel, { pixels, label, split: 'train' });
      files[rel] = await png(pixels);
    }
  }
  return { images, files };
}

export function writeFiles(root: string, files: Record<string, Uint8Array | string>): string {
  for (const [rel, data] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  }
  return root;
}

export function writeZip(file: string, files: Record<string, Uint8Array | string>): string {
  const entries: Record<string, Uint8Array> = {};
  for (const [rel, data] of Object.entries(files)) entries[rel] = typeof data === 'string' ? Buffer.from(data) : data;
  fs.writeFileSync(file, zipSync(entries, { level: 0 }));
  return file;
}

/** A Dataset built in memory (for split, weights and audit tests). */
export function memoryDataset(items: Array<{ pixels: Uint8Array; label: number; split: SplitName }>): Dataset {
  const n = items.length;
  const pixels = new Uint8Array(n * PIXELS_PER_IMAGE);
  items.forEach((it, i) => pixels.set(it.pixels, i * PIXELS_PER_IMAGE));
  return {
    format: 'kaggle-folder', source: 'memory', classes: EMOTIONS, size: n, pixels,
    labels: Uint8Array.from(items.map((i) => i.label)), split: items.map((i) => i.split),
    files: items.map((_, i) => `img${i}`), bad: [],
  };
}

/** Index of a file in a loaded dataset. */
export function indexOf(ds: Dataset, file: string): number {
  const i = ds.files.indexOf(file);
  if (i < 0) throw new Error(`${file} not in dataset`);
  return i;
}

/** PNG chunk checksum (zlib.crc32 needs Node >= 20.15). */
function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A tiny valid PNG whose header claims width x height: a decompression bomb as far as the header goes. */
export function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale
  const idat = zlib.deflateSync(Buffer.alloc(height > 100 ? 1000 : height * (width + 1)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
