import * as fs from 'fs';
import * as path from 'path';
import { defaultTrainConfig, resolveTrainConfig, validateTrainConfig, TrainConfig } from '../../lib/src/config';
import { FerError } from '../../lib/src/errors';
import { flagsToConfig } from '../../lib/src/cli/train';
import { tmpDir } from './helpers';

const ARCHS = ['vgg-compact', 'resnet18'];

function bad(change: Partial<TrainConfig> | ((c: TrainConfig) => void), pattern: RegExp): void {
  const c = defaultTrainConfig();
  if (typeof change === 'function') change(c);
  else Object.assign(c, change);
  let err: unknown;
  try {
    validateTrainConfig(c, { archs: ARCHS });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FerError);
  expect((err as Error).message).toMatch(pattern);
}

describe('config', () => {
  test('defaults are the documented recipe and valid', () => {
    const c = resolveTrainConfig({ archs: ARCHS });
    expect(c).toMatchObject({
      arch: 'vgg-compact', batchSize: 64, optimizer: 'adam', lr: 1e-3, labelSmoothing: 0.1, earlyStopping: 10,
      valFraction: 0.15, seed: 42, classWeights: 'none', out: path.join('runs', 'vgg-compact'),
    });
    expect(c.data).toMatch(/data[\\/]sample$/);
    expect(c.schedule.name).toBe('plateau');
  });

  test('bad values get clear errors', () => {
    bad({ lr: -0.001 }, /lr=-0\.001.*\(0, 10\]/);
    bad({ lr: 0 }, /lr=0/);
    bad({ batchSize: 0 }, /batchSize=0: expected a whole number in \[1, 4096\]/);
    bad({ epochs: 2.5 }, /epochs=2\.5/);
    bad({ arch: 'resnet99' }, /arch="resnet99": use one of vgg-compact, resnet18/);
    bad({ optimizer: 'rmsprop' as never }, /optimizer="rmsprop": use one of adam, sgd/);
    bad({ classWeights: 'balanced' as never }, /classWeights/);
    bad({ valFraction: 1 }, /valFraction/);
    bad({ epochs: 8, scheduleEpochs: 4 }, /scheduleEpochs/);
    bad((c) => (c.schedule.name = 'step' as never), /schedule\.name/);
    bad((c) => (c.mix.mixupAlpha = -1), /mix\.mixupAlpha/);
    bad((c) => (c.augment.rotate = 400), /augment\.rotate/);
    bad({ backend: 'gpu' as never }, /backend/);
  });

  test('file then flags override the defaults; unknown keys are errors naming the file', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'run.json');
    fs.writeFileSync(file, JSON.stringify({ epochs: 7, lr: 0.01, augment: 'light', mix: { cutmixAlpha: 1 }, schedule: { name: 'cosine', warmupEpochs: 2 } }));
    const c = resolveTrainConfig({ file, flags: flagsToConfig({ lr: 0.02, mixup: 0.2, batchSize: 32 }), archs: ARCHS });
    expect(c.epochs).toBe(7);
    expect(c.lr).toBe(0.02);
    expect(c.batchSize).toBe(32);
    expect(c.augment.rotate).toBe(0);
    expect(c.augment.flip).toBe(true);
    expect(c.mix).toMatchObject({ cutmixAlpha: 1, mixupAlpha: 0.2 });
    expect(c.schedule).toMatchObject({ name: 'cosine', warmupEpochs: 2 });
    fs.writeFileSync(file, JSON.stringify({ learningRate: 0.1 }));
    expect(() => resolveTrainConfig({ file })).toThrow(/Unknown setting "learningRate" in .*run\.json/);
    fs.writeFileSync(file, '{ epochs: 3 ');
    expect(() => resolveTrainConfig({ file })).toThrow(/not valid JSON/);
    expect(() => resolveTrainConfig({ file: path.join(dir, 'missing.json') })).toThrow(/does not exist/);
    expect(() => resolveTrainConfig({ flags: { augment: 'wild' as never } })).toThrow(/augmentation preset/);
    expect(resolveTrainConfig({ flags: flagsToConfig({ ema: 0.999, emaWarmup: 0.75 }) })).toMatchObject({ ema: 0.999, emaWarmup: 0.75 });
    expect(() => resolveTrainConfig({ flags: { emaWarmup: 2 } })).toThrow(/emaWarmup=2/);
    expect(resolveTrainConfig({ flags: flagsToConfig({ teachers: 'runs/a/best, runs/b.onnx', teacherWeight: 0.3 }) }))
      .toMatchObject({ teachers: ['runs/a/best', 'runs/b.onnx'], teacherWeight: 0.3, teacherTemperature: 1 });
    expect(() => resolveTrainConfig({ flags: { teacherWeight: 0 } })).toThrow(/teacherWeight=0: expected a number in \(0, 1\]/);
    expect(() => resolveTrainConfig({ flags: { teachers: 'runs/a' as never } })).toThrow(/teachers=.*expected a list of model folders/);
    expect(resolveTrainConfig({ flags: flagsToConfig({ ferplusVotes: 'data/ferplus.zip' }) })).toMatchObject({ ferplusVotes: 'data/ferplus.zip', ferplusVoteWeight: 0.3 });
    expect(resolveTrainConfig({})).toMatchObject({ ferplusVotes: null });
    expect(() => resolveTrainConfig({ flags: { ferplusVotes: '' } })).toThrow(/ferplusVotes=.*expected a FER\+ folder or .zip, or null/);
    expect(() => resolveTrainConfig({ flags: { ferplusVoteWeight: 1.5 } })).toThrow(/ferplusVoteWeight=1.5/);
    for (const ema of [1, -0.1, '0.9']) {
      expect(() => resolveTrainConfig({ flags: { ema: ema as number } })).toThrow(/ema=.*expected 0 \(off\) or a decay in \(0, 1\)/);
    }
  });

  test('a base config (resume) is kept where flags say nothing', () => {
    const base = { ...defaultTrainConfig(), arch: 'resnet18', lr: 0.005, out: 'runs/x' };
    const c = resolveTrainConfig({ base, flags: flagsToConfig({ epochs: 50, resume: true }), archs: ARCHS });
    expect(c).toMatchObject({ arch: 'resnet18', lr: 0.005, epochs: 50, resume: true, out: 'runs/x' });
  });
});
