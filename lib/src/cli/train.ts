/** `fer train`: parse flags into a TrainConfig, show progress, and call train(). */
import * as path from 'path';
import type { WeightInit } from '../models/build';
import { Command, InvalidArgumentError } from 'commander';
import { describeBackend, initBackend } from '../backend';
import { ClassWeightMode, DROP_KINDS, DropKind, readTrainConfigFile, resolveTrainConfig, TrainConfigInput, TrainEngine } from '../config';
import { listModels } from '../models';
import { abortOnSigint, progressBar } from '../train/callbacks';
import { readSavedConfig } from '../train/checkpoint';
import { train } from '../train/trainer';
import type { ScheduleName } from '../train/schedules';
import type { OptimizerName } from '../train/optimizers';
import type { BackendChoice } from '../backend';
import type { AugmentPreset } from '../transforms/augment';

interface TrainFlags {
  data?: string;
  arch?: string;
  init?: string;
  epochs?: number;
  scheduleEpochs?: number;
  batchSize?: number;
  lr?: number;
  out?: string;
  resume?: boolean;
  overwrite?: boolean;
  config?: string;
  optimizer?: string;
  schedule?: string;
  mixup?: number;
  cutmix?: number;
  classWeights?: string;
  seed?: number;
  splitSeed?: number;
  backend?: string;
  maxTrain?: number;
  drop?: string;
  augment?: string;
  labelSmoothing?: number;
  weightDecay?: number;
  dropout?: number;
  weightInit?: string;
  valFraction?: number;
  earlyStopping?: number;
  workers?: number;
  ema?: number;
  emaWarmup?: number;
  teachers?: string;
  teacherWeight?: number;
  teacherTemperature?: number;
  ferplusVotes?: string;
  ferplusVoteWeight?: number;
  engine?: string;
  threads?: number;
  snapshotsFrom?: number;
}

function number(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError(`"${value}" is not a number.`);
  return v;
}

function integer(value: string): number {
  const v = number(value);
  if (!Number.isInteger(v)) throw new InvalidArgumentError(`"${value}" is not a whole number.`);
  return v;
}

/** Flags -> a partial config (only what was given). */
export function flagsToConfig(f: TrainFlags): TrainConfigInput {
  const input: TrainConfigInput = {
    data: f.data,
    arch: f.arch,
    init: f.init,
    epochs: f.epochs,
    scheduleEpochs: f.scheduleEpochs,
    batchSize: f.batchSize,
    lr: f.lr,
    out: f.out,
    resume: f.resume,
    overwrite: f.overwrite,
    optimizer: f.optimizer as OptimizerName | undefined,
    classWeights: f.classWeights as ClassWeightMode | undefined,
    seed: f.seed,
    splitSeed: f.splitSeed,
    backend: f.backend as BackendChoice | undefined,
    maxTrain: f.maxTrain,
    drop: f.drop === undefined ? undefined : (f.drop.split(',').map((k) => k.trim()).filter(Boolean) as DropKind[]),
    labelSmoothing: f.labelSmoothing,
    weightDecay: f.weightDecay,
    dropout: f.dropout,
    weightInit: f.weightInit as WeightInit | undefined,
    valFraction: f.valFraction,
    earlyStopping: f.earlyStopping,
    workers: f.workers,
    ema: f.ema,
    emaWarmup: f.emaWarmup,
    teachers: f.teachers === undefined ? undefined : f.teachers.split(',').map((t) => t.trim()).filter(Boolean),
    teacherWeight: f.teacherWeight,
    teacherTemperature: f.teacherTemperature,
    ferplusVotes: f.ferplusVotes,
    ferplusVoteWeight: f.ferplusVoteWeight,
    engine: f.engine as TrainEngine | undefined,
    threads: f.threads,
    snapshotsFrom: f.snapshotsFrom,
  };
  if (f.schedule !== undefined) input.schedule = f.schedule as ScheduleName;
  if (f.augment !== undefined) input.augment = f.augment as AugmentPreset;
  if (f.mixup !== undefined || f.cutmix !== undefined) {
    input.mix = {
      ...(f.mixup !== undefined ? { mixupAlpha: f.mixup } : {}),
      ...(f.cutmix !== undefined ? { cutmixAlpha: f.cutmix } : {}),
    };
  }
  for (const key of Object.keys(input) as Array<keyof TrainConfigInput>) if (input[key] === undefined) delete input[key];
  return input;
}

async function run(f: TrainFlags): Promise<void> {
  const flags = flagsToConfig(f);
  const archs = listModels().map((m) => m.name);
  // --resume starts from the saved settings of the run, so the other flags need not be repeated
  let base;
  if (f.resume) {
    const fromFile = f.config ? readTrainConfigFile(f.config) : {};
    const arch = flags.arch ?? fromFile.arch ?? 'vgg-compact';
    const out = flags.out ?? fromFile.out ?? path.join('runs', arch);
    base = readSavedConfig(out);
  }
  const config = resolveTrainConfig({ base, file: f.config, flags, archs });
  const backend = await initBackend(config.backend);
  console.log(describeBackend(backend));
  console.log(`Training ${config.arch} on ${config.data} -> ${path.resolve(config.out)}`);
  const controller = new AbortController();
  const removeSigint = abortOnSigint(controller, () =>
    process.stderr.write('\nStopping: saving the last checkpoint (Ctrl-C again to quit at once)...\n'),
  );
  const progress = progressBar();
  try {
    const result = await train(config, { ...progress, signal: controller.signal });
    result.model.dispose();
    const best = result.best;
    console.log(
      `${result.stoppedBy === 'completed' ? 'Done' : result.stoppedBy === 'interrupted' ? 'Interrupted' : 'Stopped early'}: ` +
        `${result.epochs} epoch(s), ${result.imagesPerSecond.toFixed(1)} images/s on ${result.engine}, ` +
        `training time ${(result.elapsedSeconds / 60).toFixed(1)} min.`,
    );
    if (best) console.log(`Best validation accuracy ${(best.valAcc * 100).toFixed(2)}% at epoch ${best.epoch}: ${result.bestDir}`);
    else if (result.history.length > 0 && result.history[result.history.length - 1].valAcc === undefined) {
      console.log(`No validation (valFraction 0): ${result.bestDir} holds the weights of epoch ${result.history.length}.`);
    }
    console.log(`Last checkpoint: ${result.lastDir}; history: ${path.join(result.out, 'history.csv')}`);
  } finally {
    progress.stop(); // after an error mid-epoch the bar's timer would keep the process alive
    removeSigint();
  }
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a model (defaults: data/sample, vgg-compact, Adam 1e-3, batch 64, label smoothing 0.1)')
    .option('--data <path>', 'dataset: Kaggle folder/zip, fer2013.csv or FER+ (default data/sample)')
    .option('--arch <name>', `architecture: ${listModels().map((m) => m.name).join(', ')}`)
    .option('--init <path>', 'start a new run from these weights: a fer-lab model folder (e.g. runs/x/best; same arch and classes), or for resnet18 ImageNet weights in an .onnx file (e.g. resnet18-v1-7.onnx from the ONNX model zoo); nothing is downloaded')
    .option('--epochs <n>', 'epochs', integer)
    .option('--schedule-epochs <n>', 'lay the learning-rate schedule out over n epochs and stop after --epochs of them (0 = --epochs)', integer)
    .option('--batch-size <n>', 'batch size', integer)
    .option('--lr <x>', 'learning rate', number)
    .option('--out <dir>', 'output folder (default runs/<arch>)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--overwrite', 'start over even if --out holds a run')
    .option('--config <file.json>', 'settings file (any TrainConfig fields); flags override it')
    .option('--optimizer <name>', 'adam or sgd (Nesterov momentum 0.9)')
    .option('--schedule <name>', 'plateau, cosine (with warm-up), exponential or none')
    .option('--augment <preset>', 'augmentation preset: none, light, standard, strong')
    .option('--mixup <alpha>', 'MixUp Beta(alpha, alpha); 0 = off', number)
    .option('--cutmix <alpha>', 'CutMix Beta(alpha, alpha); 0 = off', number)
    .option('--class-weights <mode>', 'none, inverse or sqrt')
    .option('--label-smoothing <x>', 'label smoothing', number)
    .option('--weight-decay <x>', 'weight decay (AdamW / SGD L2)', number)
    .option('--dropout <x>', 'dropout rate of the model head', number)
    .option('--weight-init <scheme>', "new model's kernel initialisers: torch (PyTorch's defaults) or keras (He/Glorot)")
    .option('--val-fraction <x>', 'validation part of the training split (0 = train on all of it: no validation, best/ = the latest epoch; needs a --schedule other than plateau)', number)
    .option('--early-stopping <n>', 'patience in epochs (0 = off)', integer)
    .option('--ema <decay>', 'validate, keep and export a moving average of the weights with this decay per step (e.g. 0.999; 0 = off)', number)
    .option('--ema-warmup <power>', "EMA warm-up as timm's: decay min(ema, 1 - (1 + step)^-power), e.g. 0.75 from scratch (0 = the plain mean until 1/(1 - ema) steps)", number)
    .option('--teachers <models>', 'distil from these trained models (comma-separated model folders or .onnx files): targets mix in their flip-averaged probabilities')
    .option('--teacher-weight <w>', "weight of the teachers' probabilities in each target (default 0.5)", number)
    .option('--teacher-temperature <t>', "soften the teachers' probabilities: softmax(logits / t) (default 1)", number)
    .option('--ferplus-votes <source>', "FER+ folder or zip: its annotators' votes on the training faces join the teachers")
    .option('--ferplus-vote-weight <w>', "share of the votes in the teachers' probabilities (default 0.3; 1 without --teachers)", number)
    .option('--seed <n>', 'random seed', integer)
    .option('--split-seed <n>', 'seed of the validation split alone (default: --seed): a new --seed with the old split sees new orders and augmented views of the same training images', integer)
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu')
    .option('--max-train <n>', 'train on at most n images (quick runs)', integer)
    .option('--drop <kinds>', `leave audit findings out of training, comma-separated: ${DROP_KINDS.join(', ')} (e.g. cross-split = train copies of test images)`)
    .option('--engine <name>', 'what computes the steps: auto (onnxruntime when it supports the model), onnxruntime or tfjs')
    .option('--threads <n>', 'onnxruntime threads (0 = one per core)', integer)
    .option('--snapshots-from <epoch>', 'keep the weights of every epoch from this one on as out/snapshots/epoch-NN (for a weight-averaging soup; 0 = off); may be added when resuming, and a resume without it (or with 0) keeps the saved value', integer)
    .option('--workers <n>', 'data-parallel training over n worker threads, each on a share of every batch (0 = auto: onnxruntime one per core, 32+ images a share; tfjs none)', integer)
    .action(async (f: TrainFlags) => run(f));
}
