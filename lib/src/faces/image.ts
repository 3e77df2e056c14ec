/** Image loading (sharp): EXIF orientation applied, decompression bombs refused, huge images downscaled. */
import * as fs from 'fs';
import sharp from 'sharp';
import { FerError, errorMessage } from '../errors';
import type { RgbImage } from './types';

export interface LoadImageOptions {
  /** Refuse images with more pixels than this before decoding (decompression-bomb guard). Default 100 MP. */
  maxPixels?: number;
  /** Downscale (keeping aspect) so that neither side exceeds this. Default 4096. */
  maxSide?: number;
  /** Name used in error messages when the input is a buffer. */
  name?: string;
}

export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_MAX_SIDE = 4096;

export interface LoadedImage extends RgbImage {
  /** Size after EXIF rotation, before any downscaling. */
  originalWidth: number;
  originalHeight: number;
}

/** Turn sharp's messages into ones a user can act on. */
function loadError(name: string, err: unknown, maxPixels: number): FerError {
  const msg = errorMessage(err);
  if (/pixel limit/i.test(msg)) {
    return new FerError(
      `${name}: image is larger than the ${+(maxPixels / 1e6).toPrecision(3)} megapixel limit (refused, to guard against ` +
        `decompression bombs); downscale it first or raise the limit (maxPixels / --max-pixels)`,
      { file: name, cause: err },
    );
  }
  if (/unsupported image format|Input buffer contains unsupported/i.test(msg)) {
    return new FerError(`${name}: not an image sharp can read (JPEG, PNG, WebP, GIF, TIFF, AVIF, SVG)`, { file: name, cause: err });
  }
  return new FerError(`${name}: unreadable or corrupt image (${msg.split('\n')[0]})`, { file: name, cause: err });
}

/** Load a file or encoded bytes as RGB (grayscale and alpha inputs are converted), upright per EXIF. */
export async function loadImage(input: string | Uint8Array, options: LoadImageOptions = {}): Promise<LoadedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const maxSide = options.maxSide ?? DEFAULT_MAX_SIDE;
  const name = typeof input === 'string' ? input : options.name ?? 'image';
  if (typeof input === 'string') {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(input);
    } catch {
      throw new FerError(`${input}: no such file`, { file: input });
    }
    if (!stat.isFile()) throw new FerError(`${input}: not a file`, { file: input });
    if (stat.size === 0) throw new FerError(`${input}: empty file, not an image`, { file: input });
  } else if (input.length === 0) {
    throw new FerError(`${name}: empty input, not an image`, { file: name });
  }
  try {
    const source = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const upright = sharp(source, { limitInputPixels: maxPixels, failOn: 'error' }).rotate();
    const meta = await sharp(source, { limitInputPixels: maxPixels }).metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    const originalWidth = (swap ? meta.height : meta.width) ?? 0;
    const originalHeight = (swap ? meta.width : meta.height) ?? 0;
    const { data, info } = await upright
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#000000' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgb = info.channels === 3 ? data : toRgb(data, info.channels);
    return {
      data: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength),
      width: info.width,
      height: info.height,
      originalWidth,
      originalHeight,
    };
  } catch (err) {
    if (err instanceof FerError) throw err;
    throw loadError(name, err, maxPixels);
  }
}

/** 1, 2 or 4 channel raw pixels -> RGB. */
export function toRgb(data: Uint8Array, channels: number): Uint8Array {
  const n = data.length / channels;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    if (channels < 3) {
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[s];
    } else {
      out[3 * i] = data[s];
      out[3 * i + 1] = data[s + 1];
      out[3 * i + 2] = data[s + 2];
    }
  }
  return out;
}

/** Encode an RGB image (JPEG by default, PNG when format is 'png'). */
export async function encodeImage(image: RgbImage, format: 'jpeg' | 'png' = 'jpeg', quality = 90): Promise<Buffer> {
  const s = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality }).toBuffer();
}

/** Letterbox geometry: the image scaled by (sx, sy) and placed at (padX, padY) inside a size x size square. */
export interface Letterbox {
  size: number;
  padX: number;
  padY: number;
  sx: number;
  sy: number;
}

/** A rectangle of an image in pixels (integers). */
export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Resize the image (or a region of it) into a black-padded square, aspect kept; returns RGB bytes of
 * size*size*3 and the geometry relative to the region's top-left corner. Plain JS (box filter when shrinking,
 * bilinear when enlarging): for detector-sized outputs this costs a fraction of a sharp round trip.
 */
export function letterbox(image: RgbImage, size: number, region?: Region): { data: Uint8Array; box: Letterbox } {
  const r = region ?? { left: 0, top: 0, width: image.width, height: image.height };
  const scale = size / Math.max(r.width, r.height);
  const rw = Math.max(1, Math.round(r.width * scale));
  const rh = Math.max(1, Math.round(r.height * scale));
  const padX = Math.floor((size - rw) / 2);
  const padY = Math.floor((size - rh) / 2);
  const sx = rw / r.width;
  const sy = rh / r.height;
  const out = new Uint8Array(size * size * 3);
  const src = image.data;
  const W = image.width;
  // Source span of each output column / row: [start, end) in pixels when shrinking; sample position when enlarging.
  const spans = (n: number, s: number, offset: number, limit: number): Int32Array => {
    const a = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const lo = Math.min(limit - 1, Math.floor(i / s));
      a[2 * i] = offset + lo;
      a[2 * i + 1] = offset + Math.min(limit, Math.max(lo + 1, Math.floor((i + 1) / s)));
    }
    return a;
  };
  if (scale <= 1) {
    const xs = spans(rw, sx, r.left, r.width);
    const ys = spans(rh, sy, r.top, r.height);
    for (let oy = 0; oy < rh; oy++) {
      const y0 = ys[2 * oy];
      const y1 = ys[2 * oy + 1];
      for (let ox = 0; ox < rw; ox++) {
        const x0 = xs[2 * ox];
        const x1 = xs[2 * ox + 1];
        let cr = 0;
        let cg = 0;
        let cb = 0;
        for (let y = y0; y < y1; y++) {
          let p = (y * W + x0) * 3;
          for (let x = x0; x < x1; x++, p += 3) {
            cr += src[p];
            cg += src[p + 1];
            cb += src[p + 2];
          }
        }
        const n = (y1 - y0) * (x1 - x0);
        const q = ((oy + padY) * size + ox + padX) * 3;
        out[q] = (cr / n + 0.5) | 0;
        out[q + 1] = (cg / n + 0.5) | 0;
        out[q + 2] = (cb / n + 0.5) | 0;
      }
    }
  } else {
    for (let oy = 0; oy < rh; oy++) {
      const fy = Math.min(r.height - 1, Math.max(0, (oy + 0.5) / sy - 0.5));
      const y0 = Math.floor(fy);
      const y1 = Math.min(r.height - 1, y0 + 1);
      const wy = fy - y0;
      for (let ox = 0; ox < rw; ox++) {
        const fx = Math.min(r.width - 1, Math.max(0, (ox + 0.5) / sx - 0.5));
        const x0 = Math.floor(fx);
        const x1 = Math.min(r.width - 1, x0 + 1);
        const wx = fx - x0;
        const q = ((oy + padY) * size + ox + padX) * 3;
        const p00 = ((r.top + y0) * W + r.left + x0) * 3;
        const p01 = ((r.top + y0) * W + r.left + x1) * 3;
        const p10 = ((r.top + y1) * W + r.left + x0) * 3;
        const p11 = ((r.top + y1) * W + r.left + x1) * 3;
        for (let c = 0; c < 3; c++) {
          const top = src[p00 + c] * (1 - wx) + src[p01 + c] * wx;
          const bottom = src[p10 + c] * (1 - wx) + src[p11 + c] * wx;
          out[q + c] = (top * (1 - wy) + bottom * wy + 0.5) | 0;
        }
      }
    }
  }
  return { data: out, box: { size, padX, padY, sx, sy } };
}
