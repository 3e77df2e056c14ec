/**
 * Encoded image -> 48x48 grayscale pixels.
 *
 * Why not sharp for everything: here sharp costs ~1.2 ms of CPU per tiny image (pipeline set-up dominates), which
 * would put the 32,298-image Kaggle zip at ~20 s even on two free cores. 48x48 grayscale JPEG/PNG (all of FER2013
 * and FER+) therefore go through the pure-JS decoders jpeg-js (~0.2 ms) and pngjs (~0.1 ms); anything else (other
 * formats, colour, alpha, another size, files those decoders reject) goes to sharp. jpeg-js and libjpeg may differ by
 * at most 1 grey level on some pixels (measured on 2,000 FER2013 images), which is below any effect on a model.
 *
 * Wrong size: by default resized to 48x48 (sharp, `fit: 'cover'`: centre crop to square, no distortion) and
 * reported as a warning naming the file; `wrongSize: 'skip'` skips it as a bad file instead.
 */
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../emotions';
import { errorMessage } from '../errors';

export type WrongSizePolicy = 'resize' | 'skip';

export type DecodeResult =
  | { ok: true; pixels: Uint8Array; resizedFrom?: { width: number; height: number } }
  | { ok: false; reason: string };

const isJpeg = (b: Uint8Array): boolean => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
const isPng = (b: Uint8Array): boolean => b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;

/** Take channel 0 of interleaved data when the image is grey (all colour channels equal, opaque); else undefined. */
function greyChannel(data: Uint8Array, channels: number, alpha: boolean): Uint8Array | undefined {
  const out = new Uint8Array(PIXELS_PER_IMAGE);
  for (let i = 0, j = 0; i < PIXELS_PER_IMAGE; i++, j += channels) {
    const v = data[j];
    if (data[j + 1] !== v || data[j + 2] !== v || (alpha && data[j + 3] !== 255)) return undefined;
    out[i] = v;
  }
  return out;
}

/** The fast path: a 48x48 grey JPEG or PNG decoded in JS; undefined when it does not apply. */
export function decodeFast(bytes: Uint8Array): Uint8Array | undefined {
  try {
    if (isJpeg(bytes)) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 1, maxMemoryUsageInMB: 64 });
      if (img.width !== IMAGE_SIZE || img.height !== IMAGE_SIZE) return undefined;
      return greyChannel(img.data, 3, false);
    }
    if (isPng(bytes)) {
      // Size from the IHDR chunk before pngjs allocates for it (a huge header would cost seconds and gigabytes).
      if (bytes.length < 24) return undefined;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (view.getUint32(16) !== IMAGE_SIZE || view.getUint32(20) !== IMAGE_SIZE) return undefined;
      const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      if (img.width !== IMAGE_SIZE || img.height !== IMAGE_SIZE) return undefined;
      return greyChannel(img.data, 4, true);
    }
  } catch {
    // Let sharp try (and name the problem if it also fails).
  }
  return undefined;
}

/** Images with more pixels than this (8192x8192) are refused before decoding (a decompression bomb is a tiny file). */
export const MAX_DECODE_PIXELS = 8192 * 8192;

/**
 * Decode anything sharp reads; flattens alpha on black, converts to grey, resizes when asked. The header is read
 * first, so a wrong-size image is decoded once (straight into the resize) and a huge one not at all.
 */
export async function decodeWithSharp(bytes: Uint8Array, wrongSize: WrongSizePolicy): Promise<DecodeResult> {
  try {
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const { width, height } = await sharp(input, { limitInputPixels: false }).metadata();
    if (width === undefined || height === undefined) return { ok: false, reason: 'not a readable image (no size in its header)' };
    if (width * height > MAX_DECODE_PIXELS) {
      return { ok: false, reason: `image is ${width}x${height}, more pixels than 8192x8192: refused unread (a FER image is 48x48); shrink it or remove it` };
    }
    const right = width === IMAGE_SIZE && height === IMAGE_SIZE;
    if (!right && wrongSize === 'skip') return { ok: false, reason: `image is ${width}x${height}, expected ${IMAGE_SIZE}x${IMAGE_SIZE}` };
    let pipeline = sharp(input, { limitInputPixels: MAX_DECODE_PIXELS, failOn: 'error' }).flatten({ background: '#000000' }).toColourspace('b-w');
    if (!right) pipeline = pipeline.resize(IMAGE_SIZE, IMAGE_SIZE, { fit: 'cover' });
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 1) return { ok: false, reason: `decoded to ${info.channels} channels, expected grayscale` };
    return right ? { ok: true, pixels: new Uint8Array(data) } : { ok: true, pixels: new Uint8Array(data), resizedFrom: { width, height } };
  } catch (err) {
    return { ok: false, reason: `not a readable image (${errorMessage(err).split('\n')[0]})` };
  }
}

/** Decode one image: fast path first, sharp otherwise. */
export async function decodeImage(bytes: Uint8Array, wrongSize: WrongSizePolicy = 'resize'): Promise<DecodeResult> {
  if (bytes.length === 0) return { ok: false, reason: 'empty file' };
  const fast = decodeFast(bytes);
  if (fast) return { ok: true, pixels: fast };
  return decodeWithSharp(bytes, wrongSize);
}
