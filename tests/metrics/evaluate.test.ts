import type { Dataset } from '../../lib/src/data/dataset';
import { EMOTIONS, PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import { classMapping, evaluate } from '../../lib/src/metrics/evaluate';
import { fakeModel } from './fakes';

/** n images; image i has label labels[i] and first pixel preds[i] (what the fake model predicts). */
function dataset(labels: number[], preds: number[], classes: readonly string[] = EMOTIONS): Dataset {
  const n = labels.length;
  const pixels = new Uint8Array(n * PIXELS_PER_IMAGE);
  preds.forEach((p, i) => pixels.fill(p, i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE));
  return {
    format: 'kaggle-folder', source: '/tmp/fake-data', classes, size: n, pixels, labels: Uint8Array.from(labels),
    split: labels.map(() => 'test'), files: labels.map((_, i) => `f${i}.png`), bad: [],
  };
}

describe('evaluate', () => {
  const labels = [0, 1, 2, 3, 4, 5, 6, 3, 3, 0];
  const preds = [0, 1, 2, 3, 4, 5, 6, 3, 4, 6];

  it('predicts in batches and computes the metrics', async () => {
    const model = fakeModel(EMOTIONS);
    const progress: number[] = [];
    const r = await evaluate(model, dataset(labels, preds), { batchSize: 4, onProgress: (d) => progress.push(d) });
    expect(model.calls).toEqual([4, 4, 2]);
    expect(progress).toEqual([4, 8, 10]);
    expect(r.metrics.accuracy).toBeCloseTo(0.8, 10);
    expect(r.metrics.confusion[3]).toEqual([0, 0, 0, 2, 1, 0, 0]);
    expect(r.probs.length).toBe(10 * 7);
    expect(r.tta).toBeUndefined();
    expect(r.calibration.bins).toHaveLength(15);
  });

  it('adds TTA metrics beside the plain ones', async () => {
    const model = fakeModel(EMOTIONS);
    const r = await evaluate(model, dataset(labels, preds), { tta: true, batchSize: 8 });
    expect(r.tta?.mode).toBe('flip');
    expect(r.tta?.views).toBe(2);
    // plain pass: 8 + 2 images; TTA: 2 views per batch
    expect(model.calls).toEqual([8, 2, 8, 8, 2, 2]);
    // uniform images are flip-invariant: same predictions
    expect(r.tta?.metrics.accuracy).toBeCloseTo(r.metrics.accuracy, 10);
    const ten = await evaluate(fakeModel(EMOTIONS), dataset(labels, preds), { tta: 'ten-crop' });
    expect(ten.tta?.views).toBe(10);
  });

  it('reads a model with the same classes in another order by name', async () => {
    const reversed = [...EMOTIONS].reverse();
    // the fake predicts column pixels[0]; column j of the reversed model is class 6 - j
    const model = fakeModel(reversed);
    const r = await evaluate(model, dataset([6, 0], [0, 6]));
    expect(r.metrics.accuracy).toBe(1);
    expect(classMapping(reversed, EMOTIONS)).toEqual([6, 5, 4, 3, 2, 1, 0]);
  });

  it('refuses a model whose classes do not fit the data, with a clear message', async () => {
    const eight = [...EMOTIONS, 'contempt'];
    await expect(evaluate(fakeModel(eight), dataset([0], [0]))).rejects.toThrow(/predicts 8 classes.*data has 7/);
    await expect(evaluate(fakeModel(['a', 'b', 'c', 'd', 'e', 'f', 'g']), dataset([0], [0]))).rejects.toThrow(FerError);
  });

  it('refuses a model whose output length does not fit its class list', async () => {
    await expect(evaluate(fakeModel(EMOTIONS, 5), dataset([0, 1], [0, 1]))).rejects.toThrow(/returned 10 values for 2 images/);
  });

  it('refuses an empty dataset', async () => {
    await expect(evaluate(fakeModel(EMOTIONS), dataset([], []))).rejects.toThrow(/no images to evaluate/);
  });
});
