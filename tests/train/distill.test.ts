import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../lib/src/backend';
import { mixTargets, soften, teacherProbabilities } from '../../lib/src/train/distill';
import { train } from '../../lib/src/train/trainer';
import { prepareTrainingData } from '../../lib/src/train/data';
import { syntheticDataset, testConfig, tinyModel, tmpDir } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('distillation maths', () => {
  test('soften raises probabilities to 1/T and renormalises; T = 1 leaves them', () => {
    const p = Float32Array.from([0.8, 0.2, 0.5, 0.5]);
    expect(soften(p, 2, 1)).toBe(p);
    const s = soften(p, 2, 2);
    expect(s[0]).toBeCloseTo(2 / 3, 6); // sqrt(.8) : sqrt(.2) = 2 : 1
    expect(s[1]).toBeCloseTo(1 / 3, 6);
    expect(Array.from(s.subarray(2))).toEqual([0.5, 0.5]);
  });

  test('mixTargets: (1 - w) label + w teacher, rows still sum to 1', () => {
    const m = mixTargets(Float32Array.from([1, 0, 0]), Float32Array.from([0.2, 0.5, 0.3]), 0.5);
    expect(Array.from(m).map((v) => +v.toFixed(6))).toEqual([0.6, 0.25, 0.15]);
    expect(() => mixTargets(new Float32Array(3), new Float32Array(6), 0.5)).toThrow(/do not match/);
  });
});

describe('training with teachers', () => {
  const ds = syntheticDataset(3, 24, 6);
  const factory = () => tinyModel(3);

  test('targets mix in the teachers, are kept in the run folder and reused on resume', async () => {
    const teacherRun = await train(testConfig(tmpDir(), { epochs: 2, lr: 3e-3 }), { dataset: ds, createModel: factory });
    teacherRun.model.dispose();

    const out = tmpDir();
    const logs: string[] = [];
    const over = { epochs: 2, teachers: [teacherRun.out], teacherWeight: 0.4, teacherTemperature: 2 };
    const controller = new AbortController();
    const first = await train(testConfig(out, over), {
      dataset: ds, createModel: factory, onLog: (m) => logs.push(m), signal: controller.signal,
      onEpoch: () => controller.abort(),
    });
    first.model.dispose();
    expect(first.stoppedBy).toBe('interrupted');
    const json = JSON.parse(fs.readFileSync(path.join(out, 'teacher-targets.json'), 'utf8'));
    expect(json).toMatchObject({ teachers: [teacherRun.out], temperature: 2, images: 54, classes: ['angry', 'disgust', 'fear'] });
    // the saved probabilities are the teacher's flip-averaged, softened predictions on the training images
    const train54 = prepareTrainingData(ds, testConfig(out, over)).train;
    const expected = await teacherProbabilities([teacherRun.out], train54.pixels, ['angry', 'disgust', 'fear'], { temperature: 2 });
    const bin = fs.readFileSync(path.join(out, 'teacher-targets.bin'));
    const saved = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
    expect(saved).toHaveLength(54 * 3);
    saved.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    // not just the labels: the teacher is unsure about some images
    expect(saved.some((v) => v > 0.05 && v < 0.95)).toBe(true);
    expect(logs.some((m) => m.startsWith(`Teacher ${teacherRun.out}: predicted 54 training images`))).toBe(true);

    // resuming reads the saved probabilities instead of asking the teachers again
    fs.renameSync(teacherRun.out, `${teacherRun.out}-gone`);
    const resumeLogs: string[] = [];
    const resumed = await train(testConfig(out, { ...over, resume: true }), { dataset: ds, createModel: factory, onLog: (m) => resumeLogs.push(m) });
    expect(resumed.epochs).toBe(2);
    expect(resumeLogs.some((m) => m.startsWith("Distillation: the teachers' probabilities from"))).toBe(true);
    resumed.model.dispose();
  });

  test('a teacher with other classes is refused by name', async () => {
    const teacherRun = await train(testConfig(tmpDir(), { epochs: 1 }), { dataset: syntheticDataset(4, 12, 3), createModel: () => tinyModel(4) });
    teacherRun.model.dispose();
    await expect(train(testConfig(tmpDir(), { epochs: 1, teachers: [teacherRun.out] }), { dataset: ds, createModel: factory }))
      .rejects.toThrow(new RegExp(`Teacher ${teacherRun.out} predicts angry, disgust, fear, happy; the data has angry, disgust, fear`));
  });
});
