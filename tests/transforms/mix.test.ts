import { mixBatch, sampleBeta, DEFAULT_MIX } from '../../lib/src/transforms/mix';
import { createRandom } from '../../lib/src/train/random';

const C = 7;
const P = 48 * 48;

function batch(n: number): { x: Float32Array; t: Float32Array; labels: number[] } {
  const x = new Float32Array(n * P);
  const t = new Float32Array(n * C);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    x.fill(i / n, i * P, (i + 1) * P); // image i is flat with value i/n
    labels.push(i % C);
    t[i * C + (i % C)] = 1;
  }
  return { x, t, labels };
}

describe('mix', () => {
  test('Beta samples have the right mean and stay in [0, 1]', () => {
    const r = createRandom(1);
    for (const a of [0.2, 1, 3]) {
      let sum = 0;
      for (let k = 0; k < 4000; k++) {
        const v = sampleBeta(a, a, r);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
        sum += v;
      }
      expect(Math.abs(sum / 4000 - 0.5)).toBeLessThan(0.03);
    }
    // Beta(2, 5) has mean 2/7
    let sum = 0;
    for (let k = 0; k < 4000; k++) sum += sampleBeta(2, 5, r);
    expect(Math.abs(sum / 4000 - 2 / 7)).toBeLessThan(0.02);
  });

  test('MixUp: targets sum to 1 and match the image mix', () => {
    const n = 9;
    const { x, t, labels } = batch(n);
    const res = mixBatch(x, t, C, { ...DEFAULT_MIX, mixupAlpha: 0.4 }, createRandom(3));
    expect(res.kind).toBe('mixup');
    const lam = res.lambda;
    for (let i = 0; i < n; i++) {
      const row = t.subarray(i * C, (i + 1) * C);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      const j = n - 1 - i;
      expect(x[i * P + 100]).toBeCloseTo(i === j ? i / n : lam * (i / n) + (1 - lam) * (j / n), 5);
      if (labels[i] !== labels[j]) expect(row[labels[i]]).toBeCloseTo(lam, 6);
    }
  });

  test('CutMix: a box from the partner, lambda = the kept area, targets sum to 1', () => {
    const n = 6;
    const { x, t, labels } = batch(n);
    const res = mixBatch(x, t, C, { ...DEFAULT_MIX, cutmixAlpha: 1 }, createRandom(4));
    expect(res.kind).toBe('cutmix');
    for (let i = 0; i < n; i++) {
      const j = n - 1 - i;
      let own = 0;
      for (let k = 0; k < P; k++) {
        const v = x[i * P + k];
        expect(Math.abs(v - i / n) < 1e-7 || Math.abs(v - j / n) < 1e-7).toBe(true);
        if (Math.abs(v - i / n) < 1e-7) own++;
      }
      expect(own / P).toBeCloseTo(res.lambda, 6);
      const row = t.subarray(i * C, (i + 1) * C);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(row[labels[i]]).toBeCloseTo(labels[i] === labels[j] ? 1 : res.lambda, 6);
    }
  });

  test('off or prob 0 leaves the batch alone', () => {
    const { x, t } = batch(4);
    const x0 = x.slice(), t0 = t.slice();
    expect(mixBatch(x, t, C, DEFAULT_MIX, createRandom(1)).kind).toBe('none');
    expect(mixBatch(x, t, C, { ...DEFAULT_MIX, mixupAlpha: 1, prob: 0 }, createRandom(1)).kind).toBe('none');
    expect(x).toEqual(x0);
    expect(t).toEqual(t0);
  });

  test('both on: switches between MixUp and CutMix', () => {
    const kinds = new Set<string>();
    for (let s = 0; s < 20; s++) {
      const { x, t } = batch(4);
      kinds.add(mixBatch(x, t, C, { ...DEFAULT_MIX, mixupAlpha: 1, cutmixAlpha: 1 }, createRandom(s)).kind);
    }
    expect(kinds).toEqual(new Set(['mixup', 'cutmix']));
  });
});
