import sharp from 'sharp';
import { PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import type { Dataset, SplitName } from '../../lib/src/data/dataset';
import { matchFerPlusVotes } from '../../lib/src/data/ferplus-votes';
import { pattern } from './fixtures';

const C = 7;

/** What a Kaggle JPEG holds after encoding the FER+ PNG's pixels (quality 75, like the archive's ~1.3 grey levels of noise). */
async function jpegRoundTrip(px: Uint8Array): Promise<Uint8Array> {
  const jpg = await sharp(Buffer.from(px), { raw: { width: 48, height: 48, channels: 1 } }).jpeg({ quality: 75 }).toBuffer();
  return new Uint8Array(await sharp(jpg).grayscale().raw().toBuffer());
}

function voteRow(top: number): Float32Array {
  const row = new Float32Array(C).fill(0.05);
  row[top] = 0.7;
  return row;
}

function ferplusDataset(faces: Array<{ pixels: Uint8Array; top: number; split: SplitName }>): Dataset {
  const n = faces.length;
  const pixels = new Uint8Array(n * PIXELS_PER_IMAGE);
  const soft = new Float32Array(n * C);
  faces.forEach((f, i) => {
    pixels.set(f.pixels, i * PIXELS_PER_IMAGE);
    soft.set(voteRow(f.top), i * C);
  });
  return {
    format: 'ferplus', source: '/data/ferplus', classes: ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise'],
    size: n, pixels, labels: Uint8Array.from(faces.map((f) => f.top)), soft, split: faces.map((f) => f.split),
    files: faces.map((_, i) => `FER2013Train/fer${i}.png`), bad: [],
  };
}

describe('matchFerPlusVotes', () => {
  test('finds each re-encoded face among FER+ training faces, never in FER2013Valid, and leaves strangers unmatched', async () => {
    const train = [0, 1, 2, 3, 4, 5].map((k) => ({ pixels: pattern(k * 3), top: k, split: 'train' as SplitName }));
    const valid = { pixels: pattern(40), top: 6, split: 'val' as SplitName }; // a PublicTest face: its votes are test labels
    const ferplus = ferplusDataset([...train, valid]);

    // query order differs from FER+'s; the last two are the PublicTest face and a face FER+ does not have
    const order = [4, 0, 5, 2];
    const query = [...(await Promise.all(order.map((k) => jpegRoundTrip(train[k].pixels)))), await jpegRoundTrip(valid.pixels), pattern(77)];
    const pixels = new Uint8Array(query.length * PIXELS_PER_IMAGE);
    query.forEach((q, i) => pixels.set(q, i * PIXELS_PER_IMAGE));
    // the round trip really changed the pixels (the match is not by exact bytes)
    expect(Buffer.compare(Buffer.from(query[0]), Buffer.from(train[4].pixels))).not.toBe(0);

    const votes = matchFerPlusVotes(pixels, ferplus);
    expect(votes.matched).toBe(4);
    expect(Array.from(votes.has)).toEqual([1, 1, 1, 1, 0, 0]);
    order.forEach((k, i) => expect(Array.from(votes.probs.subarray(i * C, (i + 1) * C))).toEqual(Array.from(voteRow(k))));
    expect(Array.from(votes.probs.subarray(4 * C))).toEqual(new Array(2 * C).fill(0));
  });

  test('a near miss above the threshold is not a match', () => {
    const face = pattern(5);
    const ferplus = ferplusDataset([{ pixels: face, top: 3, split: 'train' }]);
    const shifted = face.map((v) => Math.min(255, v + 6)); // the same face, 6 grey levels brighter
    expect(matchFerPlusVotes(shifted, ferplus).matched).toBe(0);
    expect(matchFerPlusVotes(shifted, ferplus, { maxMeanAbsDiff: 7 }).matched).toBe(1);
  });

  test('a dataset without votes, or without FER2013Train faces, is refused by name', () => {
    const ferplus = ferplusDataset([{ pixels: pattern(1), top: 0, split: 'val' }]);
    expect(() => matchFerPlusVotes(pattern(1), ferplus)).toThrow(/\/data\/ferplus has no FER2013Train faces/);
    const kaggle: Dataset = { ...ferplus, format: 'kaggle-zip', source: '/data/archive.zip', soft: undefined };
    expect(() => matchFerPlusVotes(pattern(1), kaggle)).toThrow(/\/data\/archive.zip is not a FER\+ dataset/);
  });
});
