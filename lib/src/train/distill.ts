/**
 * Knowledge distillation from trained models, offline: before training, the teachers (any fer-lab models, e.g.
 * earlier runs' best/) predict every training image (averaged over the image and its mirror, then over the
 * teachers), and each training target becomes (1 - weight) * label + weight * teachers' probabilities. The student
 * then learns which classes a face could also be (a sad face that looks a bit fearful) instead of a bare label,
 * from teachers that saw only the training split. Validation keeps the true labels.
 *
 * The teachers' probabilities are computed once per run and kept in <out>/teacher-targets.bin, so a resumed run
 * trains on exactly the same targets.
 *
 * Human votes can join the teachers: FER+'s ten annotators' vote distribution for a training face (data/ferplus-votes.ts)
 * replaces `votes.weight` of the models' probabilities (or all of it, with no model teachers). Faces FER+ has no votes
 * for keep the models' probabilities (or, with no model teachers, their label).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { PIXELS_PER_IMAGE } from '../emotions';
import { FerError } from '../errors';
import { FerPlusVotes, loadDataset, matchFerPlusVotes } from '../data';
import { loadPredictor } from '../inference/predictor';
import { argmaxRow } from '../metrics/classification';
import { predictWithTta } from '../transforms/tta';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs';

export interface DistillOptions {
  /** Teacher models (model folders, run folders or .onnx files); none = votes only. */
  teachers: readonly string[];
  /** Weight of the teachers' probabilities in each target, in (0, 1]. */
  weight: number;
  /** Softens the teachers' probabilities: p^(1/T) renormalised, i.e. softmax(logits / T); 1 = as they are. */
  temperature: number;
  /** Human vote distributions per training image (FER+), and their share of the teacher, in (0, 1]. */
  votes?: { probs: Float32Array; has: Uint8Array; weight: number };
}

/** What <out>/teacher-targets.json records, so a cache made for other teachers or data is not reused. */
interface TeacherCache {
  teachers: string[];
  temperature: number;
  images: number;
  /**
   * SHA-1 of the training images' pixels, in order: another split of as many images (another seed or splitSeed) must
   * not reuse the cache. Caches written before it was recorded are computed again.
   */
  pixels: string;
  classes: string[];
  bytes: number;
}

function readCache(file: string): TeacherCache | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as TeacherCache;
    return Array.isArray(c.teachers) && Array.isArray(c.classes) ? c : undefined;
  } catch {
    return undefined; // damaged: computed again
  }
}

/** p^(1/T) per row, renormalised. */
export function soften(probs: Float32Array, classes: number, temperature: number): Float32Array {
  if (temperature === 1) return probs;
  const out = new Float32Array(probs.length);
  for (let r = 0; r < probs.length / classes; r++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = Math.pow(Math.max(probs[r * classes + c], 1e-12), 1 / temperature);
      out[r * classes + c] = v;
      sum += v;
    }
    for (let c = 0; c < classes; c++) out[r * classes + c] /= sum;
  }
  return out;
}

/** Each teacher's flip-averaged probabilities on `pixels` (n 48x48 crops), softened, averaged over the teachers. */
export async function teacherProbabilities(
  teachers: readonly string[],
  pixels: Uint8Array,
  classes: readonly string[],
  options: { temperature: number; threads?: number; onLog?: (m: string) => void },
): Promise<Float32Array> {
  const n = pixels.length / PIXELS_PER_IMAGE;
  const sum = new Float32Array(n * classes.length);
  for (const teacher of teachers) {
    const predictor = await loadPredictor(teacher, { threads: options.threads });
    try {
      if (predictor.classes.join(',') !== classes.join(',')) {
        throw new FerError(`Teacher ${teacher} predicts ${predictor.classes.join(', ')}; the data has ${classes.join(', ')}: use teachers trained on the same classes.`, { file: teacher });
      }
      const start = Date.now();
      const probs = soften(await predictWithTta(predictor, pixels, { mode: 'flip' }), classes.length, options.temperature);
      for (let i = 0; i < sum.length; i++) sum[i] += probs[i] / teachers.length;
      options.onLog?.(`Teacher ${teacher}: predicted ${n} training images (and their mirrors) in ${((Date.now() - start) / 1000).toFixed(0)} s.`);
    } finally {
      await predictor.dispose();
    }
  }
  return sum;
}

/** (1 - weight) * targets + weight * teacher, row by row (rows still sum to 1). */
export function mixTargets(targets: Float32Array, teacher: Float32Array, weight: number): Float32Array {
  if (teacher.length !== targets.length) throw new RangeError(`teacher rows (${teacher.length}) do not match the targets (${targets.length})`);
  const out = new Float32Array(targets.length);
  for (let i = 0; i < out.length; i++) out[i] = (1 - weight) * targets[i] + weight * teacher[i];
  return out;
}

/**
 * The share of rows whose most probable class is the same in `teacher` as in `targets` (the labels): how often the
 * teachers would keep the label. Where they do not, a larger teacher weight moves the target away from the label.
 */
export function labelAgreement(targets: Float32Array, teacher: Float32Array, classes: number): number {
  if (teacher.length !== targets.length) throw new RangeError(`teacher rows (${teacher.length}) do not match the targets (${targets.length})`);
  const rows = targets.length / classes;
  let same = 0;
  for (let r = 0; r < rows; r++) if (argmaxRow(teacher, r, classes) === argmaxRow(targets, r, classes)) same++;
  return rows > 0 ? same / rows : 0;
}

/** FER+'s vote distributions for a split's images, read from a FER+ folder or zip and matched by pixels. */
export async function ferplusVotesFor(
  source: string,
  split: { pixels: Uint8Array; size: number },
  classes: readonly string[],
  onLog?: (m: string) => void,
  what = 'training images',
): Promise<FerPlusVotes> {
  const start = Date.now();
  const ferplus = await loadDataset(source, { ferplusLabels: 'soft', ferplusClasses: 7 });
  if (ferplus.format !== 'ferplus') {
    throw new FerError(`${source} is a ${ferplus.format} dataset, not FER+: --ferplus-votes takes the FER+ folder or zip (FER2013Train/ with label.csv).`, { file: source });
  }
  if (ferplus.classes.join(',') !== classes.join(',')) {
    throw new FerError(`FER+ votes cover ${ferplus.classes.join(', ')}; the data has ${classes.join(', ')}.`, { file: source });
  }
  const votes = matchFerPlusVotes(split.pixels, ferplus);
  onLog?.(`FER+ votes: matched ${votes.matched} of ${split.size} ${what} to FER2013Train faces in ${source} (${((Date.now() - start) / 1000).toFixed(0)} s).`);
  return votes;
}

/**
 * The teacher rows with votes mixed in: (1 - weight) * models + weight * votes where a row has votes; rows without
 * votes keep the models' probabilities, or `targets` (the labels) when there are no model teachers.
 */
export function withVotes(
  models: Float32Array | undefined,
  targets: Float32Array,
  votes: { probs: Float32Array; has: Uint8Array; weight: number },
): Float32Array {
  const C = targets.length / votes.has.length;
  if (votes.probs.length !== targets.length || (models && models.length !== targets.length)) {
    throw new RangeError(`vote rows (${votes.probs.length}) do not match the targets (${targets.length})`);
  }
  const w = models ? votes.weight : 1;
  const base = models ?? targets;
  const out = new Float32Array(targets.length);
  for (let r = 0; r < votes.has.length; r++) {
    for (let c = r * C; c < (r + 1) * C; c++) out[c] = votes.has[r] ? (1 - w) * base[c] + w * votes.probs[c] : base[c];
  }
  return out;
}

/**
 * The training targets with the teachers mixed in: the teachers' probabilities come from `<dir>/teacher-targets.bin`
 * when it was made for the same teachers, temperature and images, else they are computed and saved there.
 */
export async function distillTargets(
  split: { pixels: Uint8Array; targets: Float32Array; size: number },
  classes: readonly string[],
  options: DistillOptions,
  dir: string,
  run: { threads?: number; onLog?: (m: string) => void } = {},
): Promise<Float32Array> {
  const jsonFile = path.join(dir, 'teacher-targets.json');
  const binFile = path.join(dir, 'teacher-targets.bin');
  const want: Omit<TeacherCache, 'bytes'> = {
    teachers: [...options.teachers], temperature: options.temperature, images: split.size,
    pixels: crypto.createHash('sha1').update(split.pixels).digest('hex'), classes: [...classes],
  };
  const bytes = split.size * classes.length * 4;
  let teacher: Float32Array | undefined;
  if (options.teachers.length === 0) {
    if (!options.votes) throw new RangeError('distillTargets needs teachers or votes');
    return mixWithLog(split.targets, withVotes(undefined, split.targets, options.votes), classes.length, options.weight, 'the votes (the label where a face has none)', run.onLog);
  }
  if (fs.existsSync(jsonFile) && fs.existsSync(binFile)) {
    const cached = readCache(jsonFile);
    const bin = fs.readFileSync(binFile);
    const same = cached !== undefined && cached.bytes === bytes && bin.length === bytes && cached.images === want.images &&
      cached.pixels === want.pixels && cached.temperature === want.temperature && cached.teachers.join('\n') === want.teachers.join('\n') &&
      cached.classes.join(',') === want.classes.join(',');
    if (same) {
      teacher = new Float32Array(split.size * classes.length);
      new Uint8Array(teacher.buffer).set(bin);
      run.onLog?.(`Distillation: the teachers' probabilities from ${binFile}.`);
    }
  }
  if (!teacher) {
    teacher = await teacherProbabilities(options.teachers, split.pixels, classes, { temperature: options.temperature, threads: run.threads, onLog: run.onLog });
    writeFileAtomic(binFile, Buffer.from(teacher.buffer, teacher.byteOffset, teacher.byteLength));
    writeJsonAtomic(jsonFile, { ...want, bytes } satisfies TeacherCache);
  }
  const rows = options.votes ? withVotes(teacher, split.targets, options.votes) : teacher;
  return mixWithLog(split.targets, rows, classes.length, options.weight, options.votes ? 'the teachers with the votes' : 'the teachers', run.onLog);
}

/** mixTargets, after logging how often `who` (the teacher rows) put the label first. */
function mixWithLog(
  targets: Float32Array, teacher: Float32Array, classes: number, weight: number, who: string, onLog?: (m: string) => void,
): Float32Array {
  onLog?.(`Distillation: ${who} put the label first on ${(100 * labelAgreement(targets, teacher, classes)).toFixed(1)}% of the training images.`);
  return mixTargets(targets, teacher, weight);
}
