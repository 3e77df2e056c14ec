import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { snapshotDir, train } from '../../lib/src/train/trainer';
import { loadModelDir } from '../../lib/src/util/model-io';
import { validateTrainConfig } from '../../lib/src/config';
import { syntheticDataset, testConfig, tinyModel, tmpDir } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

const allWeights = (m: tf.LayersModel) => m.weights.map((w) => Array.from(w.read().dataSync()));

describe('snapshotsFrom', () => {
  const ds = syntheticDataset(3, 24, 6);
  const factory = () => tinyModel(3);

  test('keeps each epoch from the given one as a model folder holding the averaged weights', async () => {
    const seen = new Map<number, number[][]>();
    const result = await train(testConfig(tmpDir(), { epochs: 3, ema: 0.9, lr: 3e-3, snapshotsFrom: 2 }), {
      dataset: ds, createModel: factory, onEpoch: ({ record, model }) => { seen.set(record.epoch, allWeights(model)); },
    });
    expect(fs.readdirSync(path.join(result.out, 'snapshots')).sort()).toEqual(['epoch-02', 'epoch-03']);
    for (const epoch of [2, 3]) {
      const { model, meta } = await loadModelDir(snapshotDir(result.out, epoch));
      expect(meta.training?.epoch).toBe(epoch);
      // what validation saw at that epoch: the moving average, not the step's own weights
      expect(allWeights(model)).toEqual(seen.get(epoch));
      model.dispose();
    }
    // the last snapshot is the returned model (the average after the last epoch)
    const last = await loadModelDir(snapshotDir(result.out, 3));
    expect(allWeights(last.model)).toEqual(allWeights(result.model));
    last.model.dispose();
    result.model.dispose();
  });

  test('can be switched on when resuming, and a later resume without it keeps it on', async () => {
    const out = tmpDir();
    const first = await train(testConfig(out, { epochs: 1, lr: 3e-3 }), { dataset: ds, createModel: factory });
    first.model.dispose();
    expect(fs.existsSync(path.join(out, 'snapshots'))).toBe(false);
    const second = await train(testConfig(out, { epochs: 2, lr: 3e-3, resume: true, snapshotsFrom: 2 }), { dataset: ds, createModel: factory });
    second.model.dispose();
    const third = await train(testConfig(out, { epochs: 3, lr: 3e-3, resume: true }), { dataset: ds, createModel: factory });
    third.model.dispose();
    expect(fs.readdirSync(path.join(out, 'snapshots')).sort()).toEqual(['epoch-02', 'epoch-03']);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'last', 'state.json'), 'utf8')) as { config: { snapshotsFrom: number } };
    expect(saved.config.snapshotsFrom).toBe(2);
  });

  test('must be a whole number of epochs', () => {
    expect(() => validateTrainConfig(testConfig(tmpDir(), { snapshotsFrom: -1 }))).toThrow(/snapshotsFrom/);
    expect(() => validateTrainConfig(testConfig(tmpDir(), { snapshotsFrom: 2.5 }))).toThrow(/snapshotsFrom/);
  });
});
