/**
 * MixUp and CutMix on a whole batch (timm style): image i is mixed with image n-1-i, with one lambda per batch
 * drawn from Beta(alpha, alpha); targets become the same mix of the two (soft) target rows, so each row still sums
 * to 1. Works in place on normalised float inputs (after preprocess) and float targets.
 */
import { FerError } from '../errors';
import type { Random } from './augment';

export interface MixOptions {
  /** MixUp Beta(alpha, alpha) parameter; 0 = off. */
  mixupAlpha: number;
  /** CutMix Beta(alpha, alpha) parameter; 0 = off. */
  cutmixAlpha: number;
  /** Probability of mixing a given batch. */
  prob: number;
  /** When both are on: probability of CutMix instead of MixUp. */
  switchProb: number;
}

export const DEFAULT_MIX: MixOptions = { mixupAlpha: 0, cutmixAlpha: 0, prob: 1, switchProb: 0.5 };

export interface MixResult {
  kind: 'none' | 'mixup' | 'cutmix';
  /** Weight of the image's own target (1 when nothing was mixed). */
  lambda: number;
}

export function validateMixOptions(o: MixOptions, where = 'mix'): void {
  for (const [key, hi] of [['mixupAlpha', 100], ['cutmixAlpha', 100], ['prob', 1], ['switchProb', 1]] as const) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > hi) {
      throw new FerError(`${where}.${key} must be a number in [0, ${hi}], got ${JSON.stringify(v)}.`);
    }
  }
}

function standardNormal(random: Random): number {
  // Box-Muller; 1 - u keeps log away from 0
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1) by Marsaglia-Tsang (shape < 1 via the boost Gamma(a+1) * U^(1/a)). */
export function sampleGamma(shape: number, random: Random): number {
  if (shape < 1) return sampleGamma(shape + 1, random) * Math.pow(1 - random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(a: number, b: number, random: Random): number {
  const x = sampleGamma(a, random);
  const y = sampleGamma(b, random);
  return x + y === 0 ? 0.5 : x / (x + y);
}

/** Mix the partner rows of targets: t_i = lambda*t_i + (1-lambda)*t_{n-1-i}, in place. */
function mixTargets(targets: Float32Array, n: number, classes: number, lambda: number): void {
  for (let i = 0; i < n >> 1; i++) {
    const j = n - 1 - i;
    for (let c = 0; c < classes; c++) {
      const a = targets[i * classes + c];
      const b = targets[j * classes + c];
      targets[i * classes + c] = lambda * a + (1 - lambda) * b;
      targets[j * classes + c] = lambda * b + (1 - lambda) * a;
    }
  }
}

/**
 * Mix a batch in place. `inputs`: n images of side*side*channels floats (NHWC); `targets`: n rows of `classes`
 * probabilities. With an odd n the middle image is its own partner (left as is).
 */
export function mixBatch(
  inputs: Float32Array,
  targets: Float32Array,
  classes: number,
  options: MixOptions,
  random: Random,
  channels = 1,
): MixResult {
  const n = targets.length / classes;
  if (!Number.isInteger(n) || inputs.length % Math.max(n, 1) !== 0) {
    throw new FerError(`mix: ${inputs.length} inputs do not match ${targets.length / classes} target rows.`);
  }
  const useMixup = options.mixupAlpha > 0;
  const useCutmix = options.cutmixAlpha > 0;
  if (n < 2 || (!useMixup && !useCutmix) || random() >= options.prob) return { kind: 'none', lambda: 1 };
  const cutmix = useCutmix && (!useMixup || random() < options.switchProb);
  const per = inputs.length / n;
  if (!cutmix) {
    const lambda = sampleBeta(options.mixupAlpha, options.mixupAlpha, random);
    for (let i = 0; i < n >> 1; i++) {
      const a = i * per;
      const b = (n - 1 - i) * per;
      for (let k = 0; k < per; k++) {
        const x = inputs[a + k];
        const y = inputs[b + k];
        inputs[a + k] = lambda * x + (1 - lambda) * y;
        inputs[b + k] = lambda * y + (1 - lambda) * x;
      }
    }
    mixTargets(targets, n, classes, lambda);
    return { kind: 'mixup', lambda };
  }
  // CutMix: a box covering about (1 - lambda) of the area, clipped at the border; lambda is then recomputed
  // from the box actually pasted.
  const side = Math.round(Math.sqrt(per / channels));
  if (side * side * channels !== per) throw new FerError(`mix: images of ${per} values are not square.`);
  const drawn = sampleBeta(options.cutmixAlpha, options.cutmixAlpha, random);
  const cut = Math.sqrt(1 - drawn);
  const h = Math.round(side * cut);
  const w = Math.round(side * cut);
  const cy = Math.floor(random() * side);
  const cx = Math.floor(random() * side);
  const y0 = Math.max(0, cy - (h >> 1)), y1 = Math.min(side, cy + h - (h >> 1));
  const x0 = Math.max(0, cx - (w >> 1)), x1 = Math.min(side, cx + w - (w >> 1));
  const lambda = 1 - ((y1 - y0) * (x1 - x0)) / (side * side);
  for (let i = 0; i < n >> 1; i++) {
    const a = i * per;
    const b = (n - 1 - i) * per;
    for (let y = y0; y < y1; y++) {
      for (let k = (y * side + x0) * channels; k < (y * side + x1) * channels; k++) {
        const t = inputs[a + k];
        inputs[a + k] = inputs[b + k];
        inputs[b + k] = t;
      }
    }
  }
  mixTargets(targets, n, classes, lambda);
  return { kind: 'cutmix', lambda };
}
