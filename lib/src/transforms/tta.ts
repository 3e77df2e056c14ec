/**
 * Test-time augmentation: several views of each 48x48 uint8 face crop, probabilities averaged over the views.
 * Views are uint8 batches of the same shape as the input, so every engine's preprocessing stays the one in
 * preprocess.ts.
 */
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../emotions';
import { FerError } from '../errors';
import { mulberry32 } from '../data/random';
import { AUGMENT_PRESETS, createAugmenter } from './augment';

export type TtaMode = 'flip' | 'ten-crop' | 'random';
export const TTA_MODES: readonly TtaMode[] = ['flip', 'ten-crop', 'random'];

export interface TtaOptions {
  /** Which views (default 'flip'). */
  mode?: TtaMode;
  /** 'random': number of random views added to the original (default 5, as in the original project). */
  n?: number;
  /** 'random': seed of the view generator (default 42); the same seed gives the same views. */
  seed?: number;
  /** 'ten-crop' and 'random': largest shift in pixels (default 4, the usual 48x48 pad-and-crop). */
  shift?: number;
  /** 'random': largest rotation in degrees (default 10). */
  maxRotation?: number;
}

/** Anything that maps n back-to-back 48x48 uint8 crops to n rows of class probabilities (e.g. a Predictor). */
export interface ProbabilityModel {
  readonly classes: readonly string[];
  predict(pixels: Uint8Array): Promise<Float32Array>;
}

const S = IMAGE_SIZE;

function imageCount(pixels: Uint8Array): number {
  if (pixels.length % PIXELS_PER_IMAGE !== 0) {
    throw new FerError(`a batch of 48x48 images needs a multiple of ${PIXELS_PER_IMAGE} bytes, got ${pixels.length}`);
  }
  return pixels.length / PIXELS_PER_IMAGE;
}

/** Mirror every image left-right. */
export function flipBatch(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  const n = imageCount(pixels);
  for (let i = 0; i < n; i++) {
    const base = i * PIXELS_PER_IMAGE;
    for (let y = 0; y < S; y++) {
      const row = base + y * S;
      for (let x = 0; x < S; x++) out[row + x] = pixels[row + S - 1 - x];
    }
  }
  return out;
}

/**
 * Shift every image by (dx, dy) pixels, optionally mirrored; pixels that come from outside repeat the edge.
 * This is a crop of the edge-padded image: dx = -shift..shift.
 */
export function shiftBatch(pixels: Uint8Array, dx: number, dy: number, flip = false): Uint8Array {
  const out = new Uint8Array(pixels.length);
  const n = imageCount(pixels);
  const clamp = (v: number) => (v < 0 ? 0 : v >= S ? S - 1 : v);
  for (let i = 0; i < n; i++) {
    const base = i * PIXELS_PER_IMAGE;
    for (let y = 0; y < S; y++) {
      const sy = clamp(y - dy);
      for (let x = 0; x < S; x++) {
        const sx = clamp(x - dx);
        out[base + y * S + x] = pixels[base + sy * S + (flip ? S - 1 - sx : sx)];
      }
    }
  }
  return out;
}

/**
 * One random view per image: flip with probability 1/2, shift up to `shift` px (pad-and-crop, edge pixels repeated),
 * rotation up to `maxRotation` degrees. The same augmenter the trainer uses, so the warp code lives in one place.
 */
export function randomViewBatch(pixels: Uint8Array, next: () => number, shift = 4, maxRotation = 10): Uint8Array {
  imageCount(pixels);
  const augmenter = createAugmenter({
    ...AUGMENT_PRESETS.none, crop: shift, flip: true, rotate: maxRotation, fill: 'edge',
  });
  return augmenter.apply(pixels, next);
}

/** Number of views a mode produces per image. */
export function ttaViewCount(options: TtaOptions = {}): number {
  const mode = options.mode ?? 'flip';
  return mode === 'flip' ? 2 : mode === 'ten-crop' ? 10 : 1 + (options.n ?? 5);
}

/**
 * The views of a batch, each a batch of the same shape:
 * - flip: original, mirror;
 * - ten-crop: the 48x48 crops of the image edge-padded by `shift` at the 4 corners and the centre (the centre is
 *   the original), each also mirrored;
 * - random: the original plus n random views (seeded).
 */
export function ttaViews(pixels: Uint8Array, options: TtaOptions = {}): Uint8Array[] {
  const mode = options.mode ?? 'flip';
  const shift = options.shift ?? 4;
  imageCount(pixels);
  if (mode === 'flip') return [pixels, flipBatch(pixels)];
  if (mode === 'ten-crop') {
    const offsets: Array<[number, number]> = [[0, 0], [shift, shift], [shift, -shift], [-shift, shift], [-shift, -shift]];
    const views: Uint8Array[] = [];
    for (const [dx, dy] of offsets) {
      const v = dx === 0 && dy === 0 ? pixels : shiftBatch(pixels, dx, dy);
      views.push(v, flipBatch(v));
    }
    return views;
  }
  if (mode === 'random') {
    const n = options.n ?? 5;
    if (!Number.isInteger(n) || n < 1) throw new FerError(`TTA 'random' needs n >= 1 views, got ${n}`);
    const next = mulberry32(options.seed ?? 42);
    const views = [pixels];
    for (let k = 0; k < n; k++) views.push(randomViewBatch(pixels, next, shift, options.maxRotation ?? 10));
    return views;
  }
  throw new FerError(`unknown TTA mode '${String(mode)}': use one of ${TTA_MODES.join(', ')}`);
}

/** Probabilities averaged over the TTA views of a batch (one predict call per view). */
export async function predictWithTta(
  model: ProbabilityModel,
  pixels: Uint8Array,
  options: TtaOptions = {},
): Promise<Float32Array> {
  const views = ttaViews(pixels, options);
  const expected = imageCount(pixels) * model.classes.length;
  const sum = new Float32Array(expected);
  for (const view of views) {
    const p = await model.predict(view);
    if (p.length !== expected) {
      throw new FerError(`the model returned ${p.length} probabilities for ${expected / model.classes.length} images ` +
        `x ${model.classes.length} classes (${expected} expected)`);
    }
    for (let i = 0; i < expected; i++) sum[i] += p[i];
  }
  for (let i = 0; i < expected; i++) sum[i] /= views.length;
  return sum;
}
