import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { createOptimizer } from '../../lib/src/train/optimizers';

beforeAll(async () => {
  await initBackend('cpu');
});

/** Run `steps` updates of w (a 2x2 kernel) with gradient g_t = w_t - target (loss 0.5|w - target|^2). */
function runOptimizer(name: 'adam' | 'sgd', steps: number, lr: number, weightDecay = 0): Float32Array {
  const opt = createOptimizer({ name, weightDecay });
  const w = tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]));
  const target = tf.tensor2d([[0, 0], [1, 1]]);
  for (let t = 0; t < steps; t++) {
    const g = tf.sub(w, target);
    opt.apply([w], [g], lr);
    g.dispose();
  }
  const out = w.dataSync() as Float32Array;
  w.dispose();
  target.dispose();
  opt.dispose();
  return out;
}

/** The same updates in float64 by hand (PyTorch formulas). */
function byHand(name: 'adam' | 'sgd', steps: number, lr: number, wd = 0): number[] {
  const w = [1, -2, 0.5, 3];
  const target = [0, 0, 1, 1];
  const m = [0, 0, 0, 0], v = [0, 0, 0, 0], buf = [0, 0, 0, 0];
  for (let t = 1; t <= steps; t++) {
    for (let i = 0; i < 4; i++) {
      let g = w[i] - target[i];
      if (name === 'adam') {
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        const mh = m[i] / (1 - 0.9 ** t), vh = v[i] / (1 - 0.999 ** t);
        w[i] -= lr * (mh / (Math.sqrt(vh) + 1e-8) + wd * w[i]);
      } else {
        g += wd * w[i];
        buf[i] = t === 1 ? g : 0.9 * buf[i] + g;
        w[i] -= lr * (g + 0.9 * buf[i]);
      }
    }
  }
  return w;
}

describe('optimizers', () => {
  test.each([
    ['adam', 0],
    ['adam', 0.1],
    ['sgd', 0],
    ['sgd', 0.1],
  ] as const)('%s (weight decay %s) matches the PyTorch update rule', (name, wd) => {
    const got = runOptimizer(name, 5, 0.05, wd);
    byHand(name, 5, 0.05, wd).forEach((want, i) => expect(got[i]).toBeCloseTo(want, 5));
  });

  test('Adam matches tf.train.adam without weight decay', () => {
    const ours = runOptimizer('adam', 4, 0.01);
    const ref = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
    const w = tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]));
    const target = tf.tensor2d([[0, 0], [1, 1]]);
    for (let t = 0; t < 4; t++) {
      const g = tf.sub(w, target);
      ref.applyGradients([{ name: w.name, tensor: g }]);
      g.dispose();
    }
    Array.from(w.dataSync()).forEach((want, i) => expect(ours[i]).toBeCloseTo(want, 5));
    w.dispose();
    target.dispose();
    ref.dispose();
  });

  test('state round trip continues bit-exactly', async () => {
    const a = createOptimizer({ name: 'adam' });
    const wa = tf.variable(tf.tensor1d([1, 2, 3]));
    const step = (opt: typeof a, w: tf.Variable) => tf.tidy(() => opt.apply([w], [tf.mul(w, 0.3)], 0.01));
    step(a, wa);
    step(a, wa);
    const state = await a.getState();
    const b = createOptimizer({ name: 'adam' });
    b.setState(state);
    const wb = tf.variable(wa.clone());
    step(a, wa);
    step(b, wb);
    expect(b.step).toBe(3);
    expect(Array.from(wb.dataSync())).toEqual(Array.from(wa.dataSync()));
    expect(() => createOptimizer({ name: 'sgd' }).setState(state)).toThrow(/adam/);
    [a, b].forEach((o) => o.dispose());
    [wa, wb].forEach((w) => w.dispose());
  });
});
