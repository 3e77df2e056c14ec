/**
 * Seeded randomness for training. Every random stream is derived from (seed, purpose, epoch, batch), never carried
 * over from the previous step, so a run resumed at any batch draws exactly the numbers an unbroken run would.
 */

import type { Random } from '../transforms/augment';
import { mulberry32 } from '../data/random';

/** Mix 32-bit integers into one well-spread 32-bit seed (murmur3 finaliser over a running hash). */
export function deriveSeed(...parts: Array<number | string>): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    const values = typeof part === 'string' ? Array.from(part, (ch) => ch.charCodeAt(0)) : [part >>> 0, Math.floor(part / 2 ** 32)];
    for (const v of values) {
      h = Math.imul(h ^ (v >>> 0), 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/** A seeded uniform stream (the data module's mulberry32). */
export function createRandom(seed: number): Random {
  return mulberry32(seed);
}

/** A stream for one purpose at one point of a run: `streamFor(seed, 'augment', epoch, batch)`. */
export function streamFor(seed: number, purpose: string, ...position: number[]): Random {
  return createRandom(deriveSeed(seed, purpose, ...position));
}

/** A seeded Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, random: Random): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/**
 * Run `fn` with Math.random replaced by a seeded stream, then restore it. TF.js draws the seeds of its own random
 * ops (dropout masks, weight initialisers) from Math.random when a layer has no seed; this makes them reproducible.
 * `fn` must be synchronous so no other code runs while the replacement is in place.
 */
export function withSeededMathRandom<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  Math.random = createRandom(seed);
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
