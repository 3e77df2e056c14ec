/**
 * FER+ votes for FER2013 training images. FER+ (Barsoum et al. 2016) had ten annotators relabel every FER2013 face;
 * its FER2013Train folder holds the training faces as PNGs named by fer2013.csv row, while the Kaggle archive holds
 * the same faces re-encoded as JPEGs under other names. So faces are matched by their pixels: a 4x4 grid of block
 * means picks the three nearest FER+ faces, and the one with the smallest mean absolute pixel difference is kept when
 * that difference is small (JPEG noise is about 1.3 grey levels; different faces are tens apart).
 *
 * Only FER+'s training faces (split 'train', from FER2013Train) are ever matched: FER2013Valid and FER2013Test are
 * PublicTest and PrivateTest, whose votes are test labels.
 */
import { PIXELS_PER_IMAGE } from '../emotions';
import { FerError } from '../errors';
import type { Dataset } from './dataset';

export interface VoteMatchOptions {
  /** Largest mean absolute pixel difference (0-255) that still counts as the same face. Default 4. */
  maxMeanAbsDiff: number;
}

export const DEFAULT_VOTE_MATCH: VoteMatchOptions = { maxMeanAbsDiff: 4 };

export interface FerPlusVotes {
  /** n * classes vote distributions (rows sum to 1); zero rows where `has` is 0. */
  probs: Float32Array;
  /** 1 where a FER+ face matched. */
  has: Uint8Array;
  /** Number of matched images. */
  matched: number;
}

const GRID = 4;
const CELL = 48 / GRID;
const SIG = GRID * GRID;

/** Block means (GRID x GRID cells) of the given images (all of them when `rows` is omitted), SIG values each. */
function signatures(pixels: Uint8Array, rows?: readonly number[]): Float32Array {
  const count = rows ? rows.length : pixels.length / PIXELS_PER_IMAGE;
  const out = new Float32Array(count * SIG);
  for (let k = 0; k < count; k++) {
    const base = (rows ? rows[k] : k) * PIXELS_PER_IMAGE;
    for (let by = 0; by < GRID; by++) {
      for (let bx = 0; bx < GRID; bx++) {
        let s = 0;
        for (let y = 0; y < CELL; y++) {
          const r = base + (by * CELL + y) * 48 + bx * CELL;
          for (let x = 0; x < CELL; x++) s += pixels[r + x];
        }
        out[k * SIG + by * GRID + bx] = s / (CELL * CELL);
      }
    }
  }
  return out;
}

function meanAbsDiff(a: Uint8Array, i: number, b: Uint8Array, j: number): number {
  let s = 0;
  const x = i * PIXELS_PER_IMAGE;
  const y = j * PIXELS_PER_IMAGE;
  for (let p = 0; p < PIXELS_PER_IMAGE; p++) s += Math.abs(a[x + p] - b[y + p]);
  return s / PIXELS_PER_IMAGE;
}

/**
 * The FER+ vote distribution of each of `pixels`' images (n 48x48 faces, e.g. a training split), found by matching
 * faces in `ferplus` (a FER+ dataset loaded with soft labels, same classes). About 28,700 x 28,200 faces take ~15 s.
 */
export function matchFerPlusVotes(pixels: Uint8Array, ferplus: Dataset, options: Partial<VoteMatchOptions> = {}): FerPlusVotes {
  const o = { ...DEFAULT_VOTE_MATCH, ...options };
  if (ferplus.format !== 'ferplus' || !ferplus.soft) {
    throw new FerError(`${ferplus.source} is not a FER+ dataset with vote distributions: pass the FER+ folder or zip (FER2013Train/ with label.csv).`, { file: ferplus.source });
  }
  const C = ferplus.classes.length;
  const candidates = ferplus.split.flatMap((s, i) => (s === 'train' ? [i] : []));
  if (candidates.length === 0) {
    throw new FerError(`${ferplus.source} has no FER2013Train faces: the votes come from FER+'s training folder.`, { file: ferplus.source });
  }
  const n = pixels.length / PIXELS_PER_IMAGE;
  const query = signatures(pixels);
  const keys = signatures(ferplus.pixels, candidates);
  const probs = new Float32Array(n * C);
  const has = new Uint8Array(n);
  let matched = 0;
  const bestD = new Float64Array(3);
  const bestJ = new Int32Array(3);
  for (let i = 0; i < n; i++) {
    bestD.fill(Infinity);
    bestJ.fill(-1);
    for (let j = 0; j < candidates.length; j++) {
      let d = 0;
      for (let q = 0; q < SIG && d < bestD[2]; q++) {
        const e = query[i * SIG + q] - keys[j * SIG + q];
        d += e * e;
      }
      if (d >= bestD[2]) continue;
      // insert into the sorted top three
      let at = 2;
      while (at > 0 && d < bestD[at - 1]) {
        bestD[at] = bestD[at - 1];
        bestJ[at] = bestJ[at - 1];
        at--;
      }
      bestD[at] = d;
      bestJ[at] = j;
    }
    let best = -1;
    let bestDiff = Infinity;
    for (const j of bestJ) {
      if (j < 0) continue;
      const diff = meanAbsDiff(pixels, i, ferplus.pixels, candidates[j]);
      if (diff < bestDiff) {
        bestDiff = diff;
        best = candidates[j];
      }
    }
    if (best >= 0 && bestDiff <= o.maxMeanAbsDiff) {
      probs.set(ferplus.soft.subarray(best * C, (best + 1) * C), i * C);
      has[i] = 1;
      matched++;
    }
  }
  return { probs, has, matched };
}
