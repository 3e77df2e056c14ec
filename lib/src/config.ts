/**
 * Training configuration: typed defaults (the seed project's recipe), merged from a JSON file and CLI flags, and
 * validated with errors that name the value, where it came from and what is allowed.
 *   defaults <- saved config of the run being resumed (optional) <- --config file.json <- flags
 */
import * as fs from 'fs';
import type { WeightInit } from './models/build';
import * as path from 'path';
import { FerError, errorMessage } from './errors';
import { BackendChoice } from './backend';
import { sampleDataPath } from './data/sample';
import {
  AugmentOptions, AugmentPreset, AUGMENT_PRESETS, DEFAULT_AUGMENT, presetOptions, validateAugmentOptions,
} from './transforms/augment';
import { DEFAULT_MIX, MixOptions, validateMixOptions } from './transforms/mix';
import { DEFAULT_SCHEDULE, ScheduleName, ScheduleOptions } from './train/schedules';
import type { OptimizerName } from './train/optimizers';


export type TrainEngine = 'auto' | 'onnxruntime' | 'tfjs';
export const TRAIN_ENGINES: readonly TrainEngine[] = ['auto', 'onnxruntime', 'tfjs'];
export type ClassWeightMode = 'none' | 'inverse' | 'sqrt';
/** Data-audit findings that can be left out of training (see data/audit.ts); test images are never dropped. */
export type DropKind = 'duplicates' | 'cross-split' | 'conflicting' | 'blank';
export const DROP_KINDS: readonly DropKind[] = ['duplicates', 'cross-split', 'conflicting', 'blank'];

export interface TrainConfig {
  /** Dataset path (folder, zip, fer2013.csv, FER+); default data/sample. */
  data: string;
  /** Model architecture (models registry name). */
  arch: string;
  /**
   * Weights a new run starts from (fresh optimizer and schedule), null = random init: a fer-lab model folder
   * (model.json, e.g. a run's best/, or a run folder: its best/), same architecture and classes; or, resnet18 only,
   * ImageNet ResNet-18 weights in an .onnx file.
   */
  init: string | null;
  /** Dropout rate passed to the model factory; null = the architecture's default. */
  dropout: number | null;
  /** Kernel initialisers of a new model: 'torch' (PyTorch's defaults) or 'keras' (He / Glorot); see models/build.ts. */
  weightInit: WeightInit;
  epochs: number;
  /**
   * Lay the learning-rate schedule out over this many epochs (0 = `epochs`). With fewer `epochs` the run stops
   * partway through it: a refit can repeat the first epochs of an earlier run's schedule exactly.
   */
  scheduleEpochs: number;
  batchSize: number;
  /** Batch size for validation (no gradients, so it can be larger). */
  evalBatchSize: number;
  optimizer: OptimizerName;
  lr: number;
  /** SGD momentum (Nesterov when `nesterov`). */
  momentum: number;
  nesterov: boolean;
  /** Adam: decoupled weight decay (AdamW); SGD: L2. Applied to kernels only. */
  weightDecay: number;
  labelSmoothing: number;
  /** Per-class loss weights from the training class counts. */
  classWeights: ClassWeightMode;
  /** Train on the dataset's soft labels (FER+ votes) when it has them. */
  softLabels: boolean;
  augment: AugmentOptions;
  mix: MixOptions;
  schedule: ScheduleOptions;
  /**
   * Decay of an exponential moving average of the weights (0 = none; e.g. 0.999 averages over about the last 1000
   * steps). With it, validation, best/ and the exported model use the averaged weights (train/ema.ts).
   */
  ema: number;
  /**
   * EMA warm-up power (timm's ModelEmaV3): 0 = the plain mean of the weights until 1/(1 - ema) steps, then
   * exponential; e.g. 0.75 = decay min(ema, 1 - (1 + step)^-0.75), better from scratch (see train/ema.ts).
   */
  emaWarmup: number;
  /**
   * Teacher models for offline distillation (train/distill.ts): each training target becomes
   * (1 - teacherWeight) * label + teacherWeight * the teachers' flip-averaged probabilities. [] = none.
   */
  teachers: string[];
  teacherWeight: number;
  /** Softens the teachers' probabilities (softmax(logits / T)); 1 = as they are. */
  teacherTemperature: number;
  /**
   * A FER+ folder or zip whose FER2013Train votes join the teachers (train/distill.ts): matched to the training images
   * by pixels, they replace ferplusVoteWeight of the teachers' probabilities (all of it without teachers). null = none.
   */
  ferplusVotes: string | null;
  ferplusVoteWeight: number;
  /** Stop after this many epochs without a better validation accuracy (0 = never). */
  earlyStopping: number;
  /**
   * Part of the training split held out for validation when the dataset has no val split. 0 = train on all of it
   * (a refit): no validation, no early stopping, and best/ holds the latest epoch.
   */
  valFraction: number;
  /** Seed of everything random in training: the split (unless splitSeed is set), init, order, augmentation, dropout. */
  seed: number;
  /**
   * Seed of the validation split alone (null = seed). A run that continues another with a new `seed` keeps its
   * validation images this way, and sees its training images in new orders and augmented views: with one seed, every
   * run of a chain repeats the same views epoch by epoch (results/experiments/replayed-views.md).
   */
  splitSeed: number | null;
  /** Audit findings left out of the train/val images (e.g. train copies of test images: 'cross-split'). */
  drop: DropKind[];
  /** Train on at most this many training images (a seeded stratified-by-order subset; 0 = all). */
  maxTrain: number;
  /** Output folder (default runs/<arch>). */
  out: string;
  /** Continue the run in `out` from out/last. */
  resume: boolean;
  /** Start over even if `out` holds a run. */
  overwrite: boolean;
  backend: BackendChoice;
  /**
   * What computes the training steps: 'onnxruntime' (onnxruntime-node's multi-threaded CPU kernels, the fastest
   * here), 'tfjs' (the TF.js backend, optionally over `workers`), or 'auto' (onnxruntime when the model's layers
   * are supported and no TF.js native backend is installed, else tfjs).
   */
  engine: TrainEngine;
  /** onnxruntime threads (0 = one per core). */
  threads: number;
  /**
   * Worker threads for data-parallel training, each running its own TF.js backend or onnxruntime session on a share
   * of every batch; 1 = none; 0 = auto (see trainWorkers: onnxruntime one per core while shares keep 32+ images,
   * tfjs none).
   */
  workers: number;
  /** Also save out/last every this many minutes inside long epochs (0 = only at epoch ends). */
  checkpointMinutes: number;
  /**
   * From this epoch on (1-based; 0 = never), also keep each epoch's weights (the moving average when `ema` is on) as a
   * model folder out/snapshots/epoch-NN: ingredients for a stochastic-weight-averaging soup (scripts/average-weights.js).
   */
  snapshotsFrom: number;
}

/** What a config file or flags may hold: any subset; augment may be a preset name. */
export type TrainConfigInput = Partial<Omit<TrainConfig, 'augment' | 'mix' | 'schedule'>> & {
  augment?: Partial<AugmentOptions> | AugmentPreset;
  mix?: Partial<MixOptions>;
  schedule?: Partial<ScheduleOptions> | ScheduleName;
};

export function defaultTrainConfig(): TrainConfig {
  return {
    data: sampleDataPath(),
    arch: 'vgg-compact',
    init: null,
    dropout: null,
    weightInit: 'torch',
    epochs: 30,
    scheduleEpochs: 0,
    batchSize: 64,
    evalBatchSize: 256,
    optimizer: 'adam',
    lr: 1e-3,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 0,
    labelSmoothing: 0.1,
    classWeights: 'none',
    softLabels: true,
    augment: { ...DEFAULT_AUGMENT },
    mix: { ...DEFAULT_MIX },
    schedule: { ...DEFAULT_SCHEDULE },
    ema: 0,
    emaWarmup: 0,
    teachers: [],
    teacherWeight: 0.5,
    teacherTemperature: 1,
    ferplusVotes: null,
    ferplusVoteWeight: 0.3,
    earlyStopping: 10,
    valFraction: 0.15,
    seed: 42,
    splitSeed: null,
    maxTrain: 0,
    drop: [],
    out: '',
    resume: false,
    overwrite: false,
    backend: 'auto',
    engine: 'auto',
    threads: 0,
    workers: 0,
    checkpointMinutes: 10,
    snapshotsFrom: 0,
  };
}

const TOP_KEYS = Object.keys(defaultTrainConfig()) as Array<keyof TrainConfig>;

function checkKeys(obj: object, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new FerError(`Unknown setting "${key}" in ${where}: allowed are ${allowed.join(', ')}.`);
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Overlay `input` (from `source`, e.g. "config.json" or "flags") on `base`; unknown keys are errors. */
export function mergeTrainConfig(base: TrainConfig, input: TrainConfigInput, source: string): TrainConfig {
  if (!isPlainObject(input)) throw new FerError(`${source} must hold a JSON object of training settings.`);
  checkKeys(input, TOP_KEYS, source);
  const out: TrainConfig = { ...base, augment: { ...base.augment }, mix: { ...base.mix }, schedule: { ...base.schedule } };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (key === 'augment') {
      if (typeof value === 'string') out.augment = presetOptions(value);
      else if (isPlainObject(value)) {
        checkKeys(value, Object.keys(AUGMENT_PRESETS.none), `${source} (augment)`);
        out.augment = { ...out.augment, ...(value as Partial<AugmentOptions>) };
      } else throw new FerError(`augment in ${source} must be a preset name or an object, got ${JSON.stringify(value)}.`);
    } else if (key === 'mix') {
      if (!isPlainObject(value)) throw new FerError(`mix in ${source} must be an object, got ${JSON.stringify(value)}.`);
      checkKeys(value, Object.keys(DEFAULT_MIX), `${source} (mix)`);
      out.mix = { ...out.mix, ...(value as Partial<MixOptions>) };
    } else if (key === 'schedule') {
      if (typeof value === 'string') out.schedule = { ...out.schedule, name: value as ScheduleName };
      else if (isPlainObject(value)) {
        checkKeys(value, Object.keys(DEFAULT_SCHEDULE), `${source} (schedule)`);
        out.schedule = { ...out.schedule, ...(value as Partial<ScheduleOptions>) };
      } else throw new FerError(`schedule in ${source} must be a name or an object, got ${JSON.stringify(value)}.`);
    } else {
      (out as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return out;
}

/** Read a JSON config file (any subset of TrainConfig). */
export function readTrainConfigFile(file: string): TrainConfigInput {
  if (!fs.existsSync(file)) throw new FerError(`Config file ${file} does not exist.`, { file });
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TrainConfigInput;
  } catch (err) {
    throw new FerError(`Config file ${file} is not valid JSON (${errorMessage(err)}).`, { file });
  }
}

export interface ValidateOptions {
  /** Architecture names the registry knows; unchecked when absent. */
  archs?: readonly string[];
}

/** Throw a FerError for the first bad value. */
export function validateTrainConfig(c: TrainConfig, options: ValidateOptions = {}): void {
  const bad = (key: string, want: string, value: unknown): never => {
    throw new FerError(`Bad training setting ${key}=${JSON.stringify(value)}: ${want}.`);
  };
  const int = (key: keyof TrainConfig, lo: number, hi = Number.MAX_SAFE_INTEGER) => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      bad(key, `expected a whole number ${hi === Number.MAX_SAFE_INTEGER ? `>= ${lo}` : `in [${lo}, ${hi}]`}`, v);
    }
  };
  const real = (key: string, v: unknown, lo: number, hi: number, openLo = false) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (openLo && v === lo)) {
      bad(key, `expected a number in ${openLo ? '(' : '['}${lo}, ${hi}]`, v);
    }
  };
  const oneOf = (key: string, v: unknown, allowed: readonly string[]) => {
    if (typeof v !== 'string' || !allowed.includes(v)) bad(key, `use one of ${allowed.join(', ')}`, v);
  };
  const bool = (key: keyof TrainConfig) => {
    if (typeof c[key] !== 'boolean') bad(key, 'expected true or false', c[key]);
  };
  if (typeof c.data !== 'string' || !c.data) bad('data', 'expected a dataset path', c.data);
  if (typeof c.arch !== 'string' || !c.arch) bad('arch', 'expected an architecture name', c.arch);
  if (options.archs && !options.archs.includes(c.arch)) bad('arch', `use one of ${options.archs.join(', ')}`, c.arch);
  if (c.init !== null && (typeof c.init !== 'string' || !c.init)) bad('init', 'expected a model folder, an .onnx file or null', c.init);
  if (c.init !== null && initIsOnnx(c.init) && c.arch !== 'resnet18') {
    bad('init', `ImageNet ResNet-18 weights fit only arch resnet18, not ${c.arch}`, c.init);
  }
  if (c.dropout !== null) real('dropout', c.dropout, 0, 0.95);
  oneOf('weightInit', c.weightInit, ['torch', 'keras']);
  int('epochs', 1);
  int('scheduleEpochs', 0);
  if (c.scheduleEpochs > 0 && c.scheduleEpochs < c.epochs) bad('scheduleEpochs', `expected 0 or at least epochs (${c.epochs})`, c.scheduleEpochs);
  int('batchSize', 1, 4096);
  int('evalBatchSize', 1, 65536);
  oneOf('optimizer', c.optimizer, ['adam', 'sgd']);
  real('lr', c.lr, 0, 10, true);
  real('momentum', c.momentum, 0, 0.999);
  bool('nesterov');
  real('weightDecay', c.weightDecay, 0, 1);
  real('labelSmoothing', c.labelSmoothing, 0, 0.99);
  oneOf('classWeights', c.classWeights, ['none', 'inverse', 'sqrt']);
  bool('softLabels');
  validateAugmentOptions(c.augment, 'augment');
  validateMixOptions(c.mix, 'mix');
  oneOf('schedule.name', c.schedule.name, ['plateau', 'cosine', 'exponential', 'none']);
  real('schedule.factor', c.schedule.factor, 0, 1, true);
  if (!Number.isInteger(c.schedule.patience) || c.schedule.patience < 0) {
    bad('schedule.patience', 'expected a whole number >= 0', c.schedule.patience);
  }
  real('schedule.minLr', c.schedule.minLr, 0, 10);
  real('schedule.warmupEpochs', c.schedule.warmupEpochs, 0, 1e6);
  real('schedule.gamma', c.schedule.gamma, 0, 1, true);
  if (typeof c.ema !== 'number' || !(c.ema === 0 || (c.ema > 0 && c.ema < 1))) bad('ema', 'expected 0 (off) or a decay in (0, 1), e.g. 0.999', c.ema);
  real('emaWarmup', c.emaWarmup, 0, 1);
  if (!Array.isArray(c.teachers) || c.teachers.some((t) => typeof t !== 'string' || !t)) bad('teachers', 'expected a list of model folders or .onnx files', c.teachers);
  real('teacherWeight', c.teacherWeight, 0, 1, true);
  real('teacherTemperature', c.teacherTemperature, 0, 100, true);
  if (c.ferplusVotes !== null && (typeof c.ferplusVotes !== 'string' || !c.ferplusVotes)) bad('ferplusVotes', 'expected a FER+ folder or .zip, or null', c.ferplusVotes);
  real('ferplusVoteWeight', c.ferplusVoteWeight, 0, 1, true);
  int('earlyStopping', 0);
  real('valFraction', c.valFraction, 0, 0.9);
  int('seed', 0, 2 ** 32 - 1);
  if (c.splitSeed !== null) int('splitSeed', 0, 2 ** 32 - 1);
  int('maxTrain', 0);
  if (!Array.isArray(c.drop) || c.drop.some((k) => !DROP_KINDS.includes(k))) {
    bad('drop', `expected a list of ${DROP_KINDS.join(', ')}`, c.drop);
  }
  if (typeof c.out !== 'string') bad('out', 'expected a folder path', c.out);
  bool('resume');
  bool('overwrite');
  oneOf('backend', c.backend, ['auto', 'tensorflow', 'wasm', 'cpu']);
  oneOf('engine', c.engine, TRAIN_ENGINES);
  int('threads', 0, 256);
  int('workers', 0, 16);
  real('checkpointMinutes', c.checkpointMinutes, 0, 1e6);
  int('snapshotsFrom', 0);
}

export interface ResolveOptions {
  /** A JSON config file. */
  file?: string;
  /** Values from command-line flags (undefined entries are ignored). */
  flags?: TrainConfigInput;
  /** Start from this instead of the defaults (e.g. the saved config of a run being resumed). */
  base?: TrainConfig;
  archs?: readonly string[];
}

/** defaults (or base) <- file <- flags, validated; `out` defaults to runs/<arch>. */
export function resolveTrainConfig(options: ResolveOptions = {}): TrainConfig {
  let cfg = options.base ? mergeTrainConfig(defaultTrainConfig(), options.base, 'the saved config') : defaultTrainConfig();
  if (options.file) cfg = mergeTrainConfig(cfg, readTrainConfigFile(options.file), options.file);
  if (options.flags) cfg = mergeTrainConfig(cfg, options.flags, 'the command-line flags');
  if (!cfg.out) cfg = { ...cfg, out: path.join('runs', cfg.arch) };
  validateTrainConfig(cfg, { archs: options.archs });
  return cfg;
}

/** Whether `init` names ImageNet ResNet-18 weights in an .onnx file (else a fer-lab model folder). */
export function initIsOnnx(init: string): boolean {
  return init.toLowerCase().endsWith('.onnx');
}
