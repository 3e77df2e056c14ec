/** Small fixtures for the training tests: a learnable synthetic 48x48 dataset and tiny models. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Dataset, SplitName } from '../../lib/src/data/dataset';
import { defaultTrainConfig, mergeTrainConfig, TrainConfig, TrainConfigInput } from '../../lib/src/config';
import { createRandom } from '../../lib/src/train/random';

const S = 48;
const P = S * S;

/**
 * `perClass` images per class: class k has a bright 10x10 square at a class-specific place on noise, so a tiny CNN
 * learns it within a few epochs. The last `valPerClass` of each class are the val split.
 */
export function syntheticDataset(classes = 3, perClass = 24, valPerClass = 6, seed = 1, soft = false): Dataset {
  const n = classes * perClass;
  const random = createRandom(seed);
  const pixels = new Uint8Array(n * P);
  const labels = new Uint8Array(n);
  const split: SplitName[] = [];
  const files: string[] = [];
  let i = 0;
  for (let k = 0; k < classes; k++) {
    for (let j = 0; j < perClass; j++, i++) {
      labels[i] = k;
      split.push(j >= perClass - valPerClass ? 'val' : 'train');
      files.push(`synthetic/${k}/${j}.png`);
      const x0 = 6 + ((k * 13) % 28), y0 = 6 + ((k * 7) % 28);
      for (let p = 0; p < P; p++) pixels[i * P + p] = Math.floor(random() * 60);
      for (let y = y0; y < y0 + 10; y++) for (let x = x0; x < x0 + 10; x++) pixels[i * P + y * S + x] = 200 + Math.floor(random() * 55);
    }
  }
  const names = ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise'].slice(0, classes);
  let softRows: Float32Array | undefined;
  if (soft) {
    softRows = new Float32Array(n * classes);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < classes; c++) softRows[r * classes + c] = c === labels[r] ? 0.7 : 0.3 / (classes - 1);
    }
  }
  return {
    format: 'kaggle-folder', source: 'synthetic', classes: names, size: n, pixels, labels, soft: softRows,
    split, files, bad: [],
  };
}

/**
 * conv(4, 3x3, stride 2) + BN + ReLU -> max-pool -> dropout -> dense softmax: ~4.7k parameters. With `seed`, the
 * initial weights are always the same (a test that must not depend on a lucky draw); without, they are random.
 */
export function tinyModel(classes: number, withDropout = true, seed?: number): tf.LayersModel {
  const init = (offset: number) => (seed === undefined ? {} : { kernelInitializer: tf.initializers.glorotUniform({ seed: seed + offset }) });
  const input = tf.input({ shape: [S, S, 1] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false, ...init(0) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 4 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  if (withDropout) x = tf.layers.dropout({ rate: 0.2 }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation: 'softmax', ...init(1) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

export function tmpDir(prefix = 'fer-train-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A small, fast config for tests (cpu backend, augmentation on so its streams are exercised). */
export function testConfig(out: string, over: TrainConfigInput = {}): TrainConfig {
  return mergeTrainConfig(
    defaultTrainConfig(),
    {
      arch: 'tiny', out, epochs: 3, batchSize: 16, evalBatchSize: 32, backend: 'wasm', engine: 'tfjs', augment: 'standard',
      checkpointMinutes: 0, earlyStopping: 0, ...over,
    },
    'test',
  );
}

/** All weights of a model as Float32Arrays (by position). */
export function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}
