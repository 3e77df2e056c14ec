/** A fake model for tests: deterministic probabilities from the pixels, with a call log. */
import { PIXELS_PER_IMAGE } from '../../lib/src/emotions';

export interface FakeModel {
  classes: readonly string[];
  calls: number[];
  predict(pixels: Uint8Array): Promise<Float32Array>;
  dispose(): Promise<void>;
  engine: 'onnx';
  source: string;
  disposed: boolean;
}

/**
 * Predicts class pixels[0] % classes.length with probability 0.7 (rest spread evenly): a dataset whose first pixel
 * encodes the predicted class gives a known confusion matrix.
 */
export function fakeModel(classes: readonly string[], outputClasses = classes.length): FakeModel {
  const m: FakeModel = {
    classes,
    calls: [],
    engine: 'onnx',
    source: 'fake.onnx',
    disposed: false,
    async predict(pixels: Uint8Array) {
      const n = pixels.length / PIXELS_PER_IMAGE;
      m.calls.push(n);
      const c = outputClasses;
      const out = new Float32Array(n * c);
      for (let i = 0; i < n; i++) {
        const k = pixels[i * PIXELS_PER_IMAGE] % c;
        for (let j = 0; j < c; j++) out[i * c + j] = j === k ? 0.7 : 0.3 / (c - 1);
      }
      return out;
    },
    async dispose() {
      m.disposed = true;
    },
  };
  return m;
}
