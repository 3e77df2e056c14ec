import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../lib/src/backend';
import { distillTargets, labelAgreement, mixTargets, soften, teacherProbabilities, withVotes } from '../../lib/src/train/distill';
import { png, writeFiles } from '../data/fixtures';
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

  test('labelAgreement: the share of rows whose most probable class is the label', () => {
    const labels = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0]);
    const teacher = Float32Array.from([0.5, 0.3, 0.2, 0.6, 0.3, 0.1, 0.1, 0.1, 0.8, 0.2, 0.7, 0.1]);
    expect(labelAgreement(labels, teacher, 3)).toBeCloseTo(0.75, 6); // row 2 (label 1) has class 0 first
    expect(labelAgreement(labels, labels, 3)).toBe(1);
    expect(() => labelAgreement(labels, new Float32Array(3), 3)).toThrow(/do not match/);
  });

  test('withVotes: votes replace their share of the models where a row has votes; without models they are the teacher', () => {
    const labels = Float32Array.from([1, 0, 0, 1]);
    const models = Float32Array.from([0.6, 0.4, 0.8, 0.2]);
    const votes = { probs: Float32Array.from([0, 1, 0, 0]), has: Uint8Array.from([1, 0]), weight: 0.25 };
    const round = (a: Float32Array): number[] => Array.from(a).map((v) => +v.toFixed(6));
    expect(round(withVotes(models, labels, votes))).toEqual([0.45, 0.55, 0.8, 0.2]); // row 2 has no votes
    expect(round(withVotes(undefined, labels, votes))).toEqual([0, 1, 0, 1]); // no models: votes, else the label
    expect(() => withVotes(new Float32Array(6), labels, votes)).toThrow(/do not match/);
  });

  test('distillTargets with votes and no teachers: (1 - w) label + w votes, labels where unmatched', async () => {
    const split = { pixels: new Uint8Array(2 * 48 * 48), targets: Float32Array.from([1, 0, 0, 1]), size: 2 };
    const votes = { probs: Float32Array.from([0.2, 0.8, 0, 0]), has: Uint8Array.from([1, 0]), weight: 0.3 };
    const out = tmpDir();
    const logs: string[] = [];
    const t = await distillTargets(split, ['angry', 'disgust'], { teachers: [], weight: 0.5, temperature: 1, votes }, out, { onLog: (m) => logs.push(m) });
    expect(Array.from(t).map((v) => +v.toFixed(6))).toEqual([0.6, 0.4, 0, 1]);
    // row 1's votes put disgust first against its label angry; row 2 keeps its label
    expect(logs).toContain('Distillation: the votes (the label where a face has none) put the label first on 50.0% of the training images.');
    expect(fs.existsSync(path.join(out, 'teacher-targets.bin'))).toBe(false); // nothing to cache without models
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
    expect(logs).toContainEqual(expect.stringMatching(/^Distillation: the teachers put the label first on \d+\.\d% of the training images\.$/));

    // resuming reads the saved probabilities instead of asking the teachers again
    fs.renameSync(teacherRun.out, `${teacherRun.out}-gone`);
    const resumeLogs: string[] = [];
    const resumed = await train(testConfig(out, { ...over, resume: true }), { dataset: ds, createModel: factory, onLog: (m) => resumeLogs.push(m) });
    expect(resumed.epochs).toBe(2);
    expect(resumeLogs.some((m) => m.startsWith("Distillation: the teachers' probabilities from"))).toBe(true);
    resumed.model.dispose();
  });

  test('a cache made for other images of the same count is not reused (another seed draws another split)', async () => {
    const teacherRun = await train(testConfig(tmpDir(), { epochs: 1, lr: 3e-3 }), { dataset: ds, createModel: factory });
    teacherRun.model.dispose();
    const out = tmpDir();
    const noOwnVal = syntheticDataset(3, 24, 0); // the seed draws its validation split
    const logsOf = async (seed: number): Promise<string[]> => {
      const logs: string[] = [];
      const split = prepareTrainingData(noOwnVal, testConfig(out, { valFraction: 0.25, seed })).train;
      expect(split.size).toBe(54);
      await distillTargets(split, ['angry', 'disgust', 'fear'], { teachers: [teacherRun.out], weight: 0.5, temperature: 1 }, out, { onLog: (m) => logs.push(m) });
      return logs;
    };
    const fromCache = (logs: string[]) => logs.some((m) => m.startsWith("Distillation: the teachers' probabilities from"));
    expect(fromCache(await logsOf(42))).toBe(false);
    expect(fromCache(await logsOf(42))).toBe(true); // same images: reused
    const reseeded = await logsOf(7); // as many training images, another split
    expect(fromCache(reseeded)).toBe(false);
    expect(reseeded.some((m) => m.startsWith(`Teacher ${teacherRun.out}: predicted`))).toBe(true);
  });

  test('FER+ votes: matched to the training faces by pixels from a FER+ folder, FER2013Valid never used', async () => {
    const ds7 = syntheticDataset(7, 4, 1);
    const cfg = testConfig(tmpDir(), { epochs: 1, teachers: [], teacherWeight: 0.5 });
    const train21 = prepareTrainingData(ds7, cfg).train;
    // FER+ has votes for 5 of the 21 training faces; its FER2013Valid copy of a sixth must not count
    const files: Record<string, Uint8Array | string> = {};
    const face = (i: number): Uint8Array => train21.pixels.subarray(i * 48 * 48, (i + 1) * 48 * 48);
    const rows: string[] = [];
    for (let k = 0; k < 5; k++) {
      files[`FER2013Train/fer000000${k}.png`] = await png(face(k * 4));
      rows.push(`fer000000${k}.png,"(0, 0, 48, 48)",0,9,0,0,0,0,0,0,1,0`);
    }
    files['FER2013Train/label.csv'] = rows.join('\n') + '\n';
    files['FER2013Valid/fer0000100.png'] = await png(face(1));
    files['FER2013Valid/label.csv'] = 'fer0000100.png,"(0, 0, 48, 48)",0,9,0,0,0,0,0,0,1,0\n';
    const ferplus = writeFiles(tmpDir(), files);

    const logs: string[] = [];
    const run = await train(testConfig(cfg.out, { epochs: 1, teachers: [], teacherWeight: 0.5, ferplusVotes: ferplus }), {
      dataset: ds7, createModel: () => tinyModel(7), onLog: (m) => logs.push(m),
    });
    run.model.dispose();
    expect(logs).toContainEqual(expect.stringMatching(new RegExp(`^FER\\+ votes: matched 5 of 21 training images to FER2013Train faces in ${ferplus}`)));
    expect(logs).toContain('Distillation: training targets are 0.5 x label + 0.5 x FER+ votes (the label where unmatched).');

    // a Kaggle-layout folder in its place is refused by name
    const kaggle = writeFiles(tmpDir(), { 'train/happy/a.png': await png(face(0)), 'test/happy/b.png': await png(face(1)) });
    await expect(train(testConfig(tmpDir(), { epochs: 1, ferplusVotes: kaggle }), { dataset: ds7, createModel: () => tinyModel(7) }))
      .rejects.toThrow(new RegExp(`${kaggle} is a kaggle-folder dataset, not FER\\+`));
  });

  test('a teacher with other classes is refused by name', async () => {
    const teacherRun = await train(testConfig(tmpDir(), { epochs: 1 }), { dataset: syntheticDataset(4, 12, 3), createModel: () => tinyModel(4) });
    teacherRun.model.dispose();
    await expect(train(testConfig(tmpDir(), { epochs: 1, teachers: [teacherRun.out] }), { dataset: ds, createModel: factory }))
      .rejects.toThrow(new RegExp(`Teacher ${teacherRun.out} predicts angry, disgust, fear, happy; the data has angry, disgust, fear`));
  });
});
