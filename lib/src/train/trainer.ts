/**
 * The training loop: a custom loop (tf.variableGrads + our optimizer, each step inside tf.tidy) rather than
 * model.fit, so batches, augmentation, mixing, class weights and soft labels are ours to control, and a run can
 * stop and resume at any batch with bit-identical results: every random stream is derived from
 * (seed, purpose, epoch, batch), and checkpoints hold weights and optimizer state bit-exactly.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FerError } from '../errors';
import { BackendInfo, initBackend } from '../backend';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../emotions';
import { initIsOnnx, TrainConfig, validateTrainConfig } from '../config';
import { Dataset, loadDataset } from '../data';
import { createModel, listModels } from '../models';
import { applyResNet18Weights, readResNet18Onnx } from '../models/pretrained';
import { createAugmenter } from '../transforms/augment';
import { mixBatch } from '../transforms/mix';
import { normalizePixels, PREPROCESS } from '../transforms/preprocess';
import { defaultMeta, ModelMeta } from '../util/model-io';
import { writeJsonAtomic } from '../util/fs';
import { resolveModelSource } from '../inference/predictor';
import { TrainCallbacks, writeHistory } from './callbacks';
import { completeSavedConfig, EpochRecord, loadCheckpoint, PartialEpoch, readCheckpoint, readTrainState, saveCheckpoint, TrainState } from './checkpoint';
import { batchesPerEpoch, gatherBatch, prepareTrainingData, SplitData, TrainingData } from './data';
import { correctCount, crossEntropy, outputsProbabilities } from './loss';
import { localStepRunner, StepResult, StepRunner } from './step';
import { parallelStepRunner } from './parallel';
import { chooseTrainEngine, evaluateSplitOnnx, OrtStepRunner } from './ort';
import { createOptimizer, TrainOptimizer } from './optimizers';
import { deriveSeed, permutation, streamFor, withSeededMathRandom } from './random';
import { createSchedule, LrSchedule } from './schedules';
import { EmaState, WeightEma } from './ema';
import { distillTargets, ferplusVotesFor } from './distill';

export interface TrainOptions extends TrainCallbacks {
  /** Train on this dataset instead of loading `config.data`. */
  dataset?: Dataset;
  /** Build the (untrained) model; default: the models registry, createModel(config.arch, ...). */
  createModel?: (config: TrainConfig, classes: readonly string[]) => tf.LayersModel;
}

export type StopReason = 'completed' | 'early-stopping' | 'interrupted';

export interface TrainResult {
  out: string;
  /** <out>/best and <out>/last. */
  bestDir: string;
  lastDir: string;
  history: EpochRecord[];
  best: TrainState['best'];
  stoppedBy: StopReason;
  /** Epochs completed in total (including earlier runs when resumed). */
  epochs: number;
  /** Training images per second over this run (training steps only). */
  imagesPerSecond: number;
  /** Training wall time over all runs, seconds. */
  elapsedSeconds: number;
  backend: BackendInfo;
  /** What computed the steps of this run: 'onnxruntime' or 'tfjs-<backend>' (as in history). */
  engine: string;
  /**
   * The trained model: the last step's weights, or their moving average when `ema` is on (the best ones are in
   * bestDir). The caller disposes it.
   */
  model: tf.LayersModel;
}

/** Settings a resumed run may change; everything else must match the saved run for results to be identical. */
const RESUME_MAY_CHANGE: ReadonlyArray<keyof TrainConfig> = [
  'epochs', 'backend', 'data', 'out', 'resume', 'overwrite', 'checkpointMinutes', 'earlyStopping', 'evalBatchSize',
  // how steps are computed (same maths, float rounding aside; with batch norm, workers normalise per share)
  'engine', 'threads', 'workers',
];
/** Keys a resume keeps from the saved run unless given a non-default value (a resume without the flag must not turn them off). */
const RESUME_MAY_SET: ReadonlyArray<'snapshotsFrom'> = ['snapshotsFrom'];

/** Where `snapshotsFrom` keeps the weights of an epoch (1-based): <out>/snapshots/epoch-07. */
export function snapshotDir(out: string, epoch: number): string {
  return path.join(out, 'snapshots', `epoch-${String(epoch).padStart(2, '0')}`);
}

function resumedConfig(savedConfig: TrainConfig, given: TrainConfig, lastDir: string): TrainConfig {
  const saved = completeSavedConfig(savedConfig);
  const differs: string[] = [];
  for (const key of Object.keys(saved) as Array<keyof TrainConfig>) {
    if (RESUME_MAY_CHANGE.includes(key) || (RESUME_MAY_SET as ReadonlyArray<string>).includes(key)) continue;
    if (JSON.stringify(saved[key]) !== JSON.stringify(given[key])) {
      differs.push(`${key} (saved ${JSON.stringify(saved[key])}, given ${JSON.stringify(given[key])})`);
    }
  }
  if (differs.length > 0) {
    throw new FerError(
      `Cannot resume the run in ${lastDir} with different settings: ${differs.join('; ')}. ` +
        `Resume with the saved settings (fer train --resume --out <dir> reads them), or start a new run in another --out.`,
      { file: lastDir },
    );
  }
  const merged = { ...saved };
  for (const key of RESUME_MAY_CHANGE) (merged as unknown as Record<string, unknown>)[key] = given[key];
  for (const key of RESUME_MAY_SET) if (given[key] !== 0) merged[key] = given[key];
  return merged;
}

/** Evaluate on a split in batches (inference mode): mean cross-entropy (no smoothing, no weights) and accuracy. */
export function evaluateSplit(
  model: tf.LayersModel,
  split: SplitData,
  classes: number,
  batchSize: number,
  fromLogits: boolean,
): { loss: number; acc: number } {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.size; start += batchSize) {
    const end = Math.min(split.size, start + batchSize);
    const n = end - start;
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(
        normalizePixels(split.pixels.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE)),
        [n, IMAGE_SIZE, IMAGE_SIZE, PREPROCESS.channels],
      );
      const y = tf.tensor2d(split.targets.subarray(start * classes, end * classes), [n, classes]);
      const out = model.apply(x, { training: false }) as tf.Tensor2D;
      const loss = tf.mul(crossEntropy(out, y, { fromLogits }), n);
      return [loss.dataSync()[0], correctCount(out, y).dataSync()[0]];
    });
    lossSum += l;
    correct += c;
  }
  return { loss: lossSum / split.size, acc: correct / split.size };
}

/** Minimum images per worker share when `workers` is auto: smaller shares make GEMMs and batch statistics worse. */
const MIN_AUTO_SHARE = 32;

/**
 * How many data-parallel workers compute the steps. Auto (0): on onnxruntime one per core as long as every share
 * keeps MIN_AUTO_SHARE images (two single-threaded sessions on two cores run vgg-compact 1.15x faster than one
 * session on both: many of its layout and elementwise ops use one thread; resnet18, mostly big GEMMs on small maps,
 * is 7% slower that way: `--workers 1`); on TF.js none.
 */
export function trainWorkers(cfg: Pick<TrainConfig, 'workers' | 'batchSize' | 'threads'>, engine: 'onnxruntime' | 'tfjs', cores = availableCores()): number {
  if (cfg.workers > 0) return cfg.workers;
  if (engine === 'tfjs') return 1;
  // each worker needs a thread of its own: --threads caps them
  return Math.max(1, Math.min(cfg.threads || cores, Math.floor(cfg.batchSize / MIN_AUTO_SHARE)));
}

function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** A trained fer-lab model to start a new run from: the same architecture and classes as the run's, or a clear error. */
async function startingModel(dir: string, arch: string, classes: readonly string[]): Promise<{ model: tf.LayersModel; quantized: string[] }> {
  if (!fs.existsSync(dir)) throw new FerError(`--init ${dir}: no such model folder (give a fer-lab model folder, e.g. <run>/best).`, { file: dir });
  // a run (<run>/best), a model folder, or a shipped folder (its TF.js copy in tfjs/)
  const source = resolveModelSource(dir, 'tfjs');
  if (source.kind !== 'folder') throw new FerError(`--init ${dir}: give the TF.js model folder, not an ONNX file.`, { file: dir });
  const { model, meta, quantized = [] } = await loadCheckpoint(source.dir);
  const problem = meta.arch !== arch
    ? `it holds a ${meta.arch} model and this run trains ${arch} (set --arch ${meta.arch})`
    : meta.classes.join(',') !== classes.join(',')
      ? `its classes (${meta.classes.join(', ')}) differ from the data's (${classes.join(', ')})`
      : undefined;
  if (problem) {
    model.dispose();
    throw new FerError(`--init ${dir}: ${problem}.`, { file: dir });
  }
  return { model, quantized };
}

/**
 * Train a model as `config` says; writes <out>/config.json, history.json, history.csv, best/ and last/.
 * Returns when the epochs are done, early stopping triggers, or `signal` aborts (last/ saved first).
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const log = (m: string) => options.onLog?.(m);
  validateTrainConfig(config, { archs: options.createModel ? undefined : listModels().map((m) => m.name) });
  const backend = await initBackend(config.backend);
  const out = path.resolve(config.out || path.join('runs', config.arch));
  const lastDir = path.join(out, 'last');
  const bestDir = path.join(out, 'best');

  // Where the run stands: fresh, or resumed from out/last.
  const previous = readTrainState(lastDir);
  const saved = previous && config.resume ? previous : undefined;
  // A finished run whose last/ was not kept (runs in the repository keep only best/) must not be trained over.
  const keptWithoutLast = !previous && (fs.existsSync(path.join(bestDir, 'model.json')) || fs.existsSync(path.join(out, 'history.json')));
  let cfg = config;
  if (saved) {
    cfg = resumedConfig(saved.config, config, lastDir);
  } else if (previous && !config.overwrite) {
    throw new FerError(
      `${out} already holds a training run (${path.join(lastDir, 'state.json')}): continue it with --resume, ` +
        'start over with --overwrite, or pick another --out.',
      { file: out },
    );
  } else if (keptWithoutLast && !config.overwrite) {
    throw new FerError(
      `${out} holds a training run without its last/ folder (the resumable state is not kept in the repository), ` +
        `so it ${config.resume ? 'cannot be resumed' : 'is not trained over'}: start a new run in another --out ` +
        `(--init ${out} starts from its best weights), or start over here with --overwrite.`,
      { file: out },
    );
  } else if (config.resume) {
    log(`Nothing to resume in ${out} (no last/state.json): starting a new run.`);
  }

  // Starting weights for a new run (a resumed run restores its own): ImageNet weights are read and checked before
  // the data loads; a fer-lab model folder is loaded below
  const init = !saved && cfg.init && initIsOnnx(cfg.init) ? readResNet18Onnx(cfg.init) : undefined;
  const startFrom = !saved && cfg.init && !initIsOnnx(cfg.init) ? cfg.init : undefined;

  const dataset = options.dataset ?? (await loadDataset(cfg.data));
  const data: TrainingData = prepareTrainingData(dataset, cfg);
  // valFraction 0 (a refit on every training image): nothing to validate, select or stop early on
  const validated = data.val.size > 0;
  if (!validated && cfg.schedule.name === 'plateau') {
    throw new FerError(`--schedule plateau (the default) lowers the learning rate on the validation loss, and valFraction 0 leaves no validation images: use --schedule cosine, exponential or none.`);
  }
  if (data.dropped > 0) log(`Left out ${data.dropped} train/val images found by the data audit (${cfg.drop.join(', ')}).`);
  const votes = cfg.ferplusVotes ? await ferplusVotesFor(cfg.ferplusVotes, data.train, data.classes, log) : undefined;
  const C = data.classes.length;
  if (saved && (saved.data.train !== data.train.size || saved.data.val !== data.val.size)) {
    throw new FerError(
      `The data differs from the run being resumed: ${data.train.size}/${data.val.size} train/val images now, ` +
        `${saved.data.train}/${saved.data.val} when the run started (${saved.data.source}).`,
      { file: cfg.data },
    );
  }

  // Model and optimizer: from the checkpoint, or new (initialisers seeded).
  let model: tf.LayersModel;
  let savedEma: EmaState | undefined;
  const optimizer: TrainOptimizer = createOptimizer({
    name: cfg.optimizer, momentum: cfg.momentum, nesterov: cfg.nesterov, weightDecay: cfg.weightDecay,
  });
  if (saved) {
    const ckpt = await readCheckpoint(lastDir);
    model = ckpt.model;
    const problem = !ckpt.optimizer
      ? 'has no optimizer state (optimizer.json)'
      : cfg.ema > 0 && !ckpt.ema ? `has no weight average (ema.json) although the run uses ema ${cfg.ema}` : undefined;
    if (problem || !ckpt.optimizer) {
      model.dispose();
      optimizer.dispose();
      throw new FerError(`${lastDir} ${problem}: cannot resume exactly.`, { file: lastDir });
    }
    optimizer.setState(ckpt.optimizer);
    savedEma = ckpt.ema;
  } else if (startFrom) {
    const start = await startingModel(startFrom, cfg.arch, data.classes);
    model = start.model;
    log(`Starting from the weights in ${startFrom} (a new run: fresh optimizer state and schedule).`);
    if (start.quantized.length > 0) {
      log(`Note: ${startFrom} stores its weights as ${start.quantized.join('/')} (rounded, as shipped); training starts from them as decoded.`);
    }
    if (cfg.dropout !== null) log(`Note: --dropout ${cfg.dropout} is ignored: the model from ${startFrom} keeps its own dropout rate.`);
  } else {
    const build =
      options.createModel ??
      ((c: TrainConfig, classes: readonly string[]) =>
        createModel(c.arch, { numClasses: classes.length, seed: c.seed, weightInit: c.weightInit, ...(c.dropout === null ? {} : { dropout: c.dropout }) }));
    model = withSeededMathRandom(deriveSeed(cfg.seed, 'init'), () => build(cfg, data.classes));
    if (init) {
      try {
        applyResNet18Weights(model, init).notes.forEach(log);
      } catch (err) {
        model.dispose();
        throw err;
      }
    }
  }
  const outShape = model.outputs[0].shape;
  if (outShape[outShape.length - 1] !== C) {
    throw new FerError(`The model has ${outShape[outShape.length - 1]} outputs but the data has ${C} classes.`);
  }
  const fromLogits = !outputsProbabilities(model);
  const ema = cfg.ema > 0 ? (savedEma ? WeightEma.restore(model, savedEma) : WeightEma.start(model, cfg.ema, cfg.emaWarmup)) : undefined;

  const batches = batchesPerEpoch(data.train.size, cfg.batchSize);
  const schedule: LrSchedule = createSchedule(cfg.schedule, cfg.lr, cfg.scheduleEpochs || cfg.epochs);
  const augmenter = createAugmenter(cfg.augment);
  const state: TrainState = saved
    ? { ...saved, config: cfg }
    : {
        version: 1,
        epoch: 0,
        batch: 0,
        step: 0,
        partial: null,
        history: [],
        config: cfg,
        rng: { seed: cfg.seed, epoch: 0, batch: 0, scheme: 'streams derived from (seed, purpose, epoch, batch)' },
        schedule: schedule.state(),
        best: null,
        earlyStoppingWait: 0,
        elapsedSeconds: 0,
        data: { source: data.source, classes: [...data.classes], train: data.train.size, val: data.val.size, classWeights: data.classWeights },
        backend: backend.name,
        savedAt: '',
      };
  if (saved) schedule.restore(saved.schedule);

  fs.mkdirSync(out, { recursive: true });
  writeJsonAtomic(path.join(out, 'config.json'), cfg);
  if (cfg.teachers.length > 0 || votes) {
    try {
      data.train.targets = await distillTargets(data.train, data.classes,
        { teachers: cfg.teachers, weight: cfg.teacherWeight, temperature: cfg.teacherTemperature, votes: votes && { ...votes, weight: cfg.ferplusVoteWeight } },
        out, { threads: cfg.threads || undefined, onLog: log });
    } catch (err) {
      model.dispose();
      optimizer.dispose();
      throw err;
    }
    const teacher = votes
      ? cfg.teachers.length > 0 ? `(${1 - cfg.ferplusVoteWeight} x the mean of ${cfg.teachers.length} teacher(s) + ${cfg.ferplusVoteWeight} x FER+ votes where matched)` : 'FER+ votes (the label where unmatched)'
      : `the mean of ${cfg.teachers.length} teacher(s)`;
    log(`Distillation: training targets are ${1 - cfg.teacherWeight} x label + ${cfg.teacherWeight} x ${teacher}.`);
  }
  if (saved) log(`Resuming ${out} at epoch ${state.epoch + 1}, batch ${state.batch} (step ${state.step}).`);
  if (cfg.snapshotsFrom > 0) {
    const missed = cfg.snapshotsFrom <= state.epoch && !fs.existsSync(snapshotDir(out, cfg.snapshotsFrom));
    log(`Keeping each epoch's weights from epoch ${cfg.snapshotsFrom} in ${path.join(out, 'snapshots')}` +
      (missed ? ` (epochs ${cfg.snapshotsFrom}-${state.epoch} are already done and were not kept).` : '.'));
  }
  if (!validated) log(`No validation split (valFraction 0): training on all ${data.train.size} training images; no early stopping, and ${bestDir} holds the latest epoch's weights.`);
  if (cfg.epochs < (cfg.scheduleEpochs || cfg.epochs)) log(`The learning-rate schedule spans ${cfg.scheduleEpochs} epochs; this run stops after epoch ${cfg.epochs}.`);

  const meta = (): ModelMeta => ({
    ...defaultMeta(cfg.arch, model),
    classes: [...data.classes],
    output: fromLogits ? 'logits' : 'probabilities',
    training: {
      epoch: state.epoch,
      best: state.best,
      data: data.source,
      trainImages: data.train.size,
      valImages: data.val.size,
      seed: cfg.seed,
      ...(cfg.splitSeed !== null ? { splitSeed: cfg.splitSeed } : {}),
    },
  });
  const saveLast = async () => {
    state.rng = { ...state.rng, epoch: state.epoch, batch: state.batch };
    state.schedule = schedule.state();
    state.savedAt = new Date().toISOString();
    state.backend = backend.name;
    await saveCheckpoint(lastDir, { model, meta: meta(), optimizer: await optimizer.getState(), state, ema: ema?.state() });
  };
  // with `ema`, validation and best/ see the averaged weights
  const withModelToKeep = <T>(fn: () => Promise<T>): Promise<T> => (ema ? ema.withAveragedWeights(model, fn) : fn());

  const lossOptions = { labelSmoothing: cfg.labelSmoothing, classWeights: data.classWeights ?? undefined, fromLogits };
  const engine = chooseTrainEngine(cfg.engine, model, backend.name);
  log(engine.why);
  let runner: StepRunner;
  const workers = trainWorkers(cfg, engine.engine);
  if (engine.engine === 'onnxruntime') {
    runner = await OrtStepRunner.create(model, optimizer, lossOptions, { threads: cfg.threads || undefined, workers });
    if (workers > 1) log(`Data-parallel training over ${workers} onnxruntime sessions in worker threads (shares of ${Math.floor(cfg.batchSize / workers)}+ images; batch norm per share).`);
  } else {
    runner = workers > 1
      ? await parallelStepRunner(model, optimizer, lossOptions, { workers, backend: backend.name })
      : localStepRunner(model, optimizer, lossOptions);
    if (workers > 1) log(`Data-parallel training over ${workers} worker threads (${backend.name}).`);
  }
  const engineLabel = `${engine.engine === 'onnxruntime' ? 'onnxruntime' : `tfjs-${backend.name}`}${workers > 1 ? ` x${workers} workers` : ''}`;
  const earlierEngine = saved?.history[saved.history.length - 1]?.engine;
  if (earlierEngine && earlierEngine !== engineLabel) {
    log(`Note: the epochs so far ran on ${earlierEngine}, these run on ${engineLabel}` +
      (engineLabel.includes('workers') || earlierEngine.includes('workers') ? ' (with workers, batch norm normalises each share of a batch on its own).' : '.'));
  }
  const evaluate = (split: SplitData) => engine.engine === 'onnxruntime'
    ? evaluateSplitOnnx(model, split, C, cfg.evalBatchSize, cfg.threads || undefined)
    : Promise.resolve(evaluateSplit(model, split, C, cfg.evalBatchSize, fromLogits));

  const batchPixels = new Uint8Array(cfg.batchSize * PIXELS_PER_IMAGE);
  const augPixels = new Uint8Array(cfg.batchSize * PIXELS_PER_IMAGE);
  const batchTargets = new Float32Array(cfg.batchSize * C);
  let runImages = 0;
  let runSeconds = 0;
  let stoppedBy: StopReason = 'completed';
  let lastSave = Date.now();

  try {
    outer: while (state.epoch < cfg.epochs) {
      if (cfg.earlyStopping > 0 && state.earlyStoppingWait >= cfg.earlyStopping) {
        stoppedBy = 'early-stopping';
        break;
      }
      const epoch = state.epoch;
      const epochStart = Date.now();
      const order = permutation(data.train.size, streamFor(cfg.seed, 'shuffle', epoch));
      const partial: PartialEpoch = state.partial ?? { lossSum: 0, correct: 0, seen: 0, trainSeconds: 0 };
      options.onEpochStart?.(epoch, cfg.epochs, batches, state.batch);
      for (let b = state.batch; b < batches; b++) {
        if (options.signal?.aborted) {
          state.batch = b;
          state.partial = partial;
          await saveLast();
          stoppedBy = 'interrupted';
          log(`Stopped: saved ${lastDir} at epoch ${epoch + 1}, batch ${b}; continue with --resume.`);
          break outer;
        }
        const t0 = performance.now();
        const start = b * cfg.batchSize;
        const end = b === batches - 1 ? data.train.size : Math.min(data.train.size, start + cfg.batchSize);
        const n = end - start;
        const pix = batchPixels.subarray(0, n * PIXELS_PER_IMAGE);
        const tgt = batchTargets.subarray(0, n * C);
        // the last batch also takes a remainder smaller than half a batch: fresh buffers then
        const big = n > cfg.batchSize;
        const pixBuf = big ? new Uint8Array(n * PIXELS_PER_IMAGE) : pix;
        const tgtBuf = big ? new Float32Array(n * C) : tgt;
        gatherBatch(data.train, C, order, start, end, pixBuf, tgtBuf);
        const aug = augmenter.apply(
          pixBuf,
          streamFor(cfg.seed, 'augment', epoch, b),
          big ? undefined : augPixels.subarray(0, n * PIXELS_PER_IMAGE),
        );
        const x = normalizePixels(aug);
        mixBatch(x, tgtBuf, C, cfg.mix, streamFor(cfg.seed, 'mix', epoch, b));
        const lr = schedule.lrAt(epoch, b / batches);
        const stepSeed = deriveSeed(cfg.seed, 'step', epoch, b);
        const step: StepResult = await runner.run(x, tgtBuf, n, lr, stepSeed);
        if (!Number.isFinite(step.loss)) {
          throw new FerError(
            `Training diverged: the loss became ${step.loss} at epoch ${epoch + 1}, batch ${b + 1} (lr ${lr.toExponential(2)}). ` +
              `Lower the learning rate (--lr, now ${cfg.lr}) or use --schedule cosine with warm-up; ` +
              `${fs.existsSync(lastDir) ? `the last good checkpoint is ${lastDir} (weights from before the divergence).` : 'no checkpoint was written.'}`,
          );
        }
        state.step = optimizer.step;
        ema?.update(model, runner.weightArrays?.());
        const seconds = (performance.now() - t0) / 1000;
        partial.lossSum += step.loss * n;
        partial.correct += step.correct;
        partial.seen += n;
        partial.trainSeconds += seconds;
        runImages += n;
        runSeconds += seconds;
        state.elapsedSeconds += seconds;
        options.onBatch?.({
          epoch, epochs: cfg.epochs, batch: b + 1, batches,
          loss: partial.lossSum / partial.seen, acc: partial.correct / partial.seen,
          imagesPerSecond: partial.seen / Math.max(partial.trainSeconds, 1e-9), lr,
        });
        if (cfg.checkpointMinutes > 0 && Date.now() - lastSave > cfg.checkpointMinutes * 60_000 && b + 1 < batches) {
          state.batch = b + 1;
          state.partial = partial;
          await saveLast();
          lastSave = Date.now();
        }
        // let signal handlers (Ctrl-C) and progress output run
        await new Promise((resolve) => setImmediate(resolve));
      }

      const evalStart = performance.now();
      const raw = ema && validated ? await evaluate(data.val) : undefined;
      const val = validated ? await withModelToKeep(() => evaluate(data.val)) : undefined;
      state.elapsedSeconds += (performance.now() - evalStart) / 1000;
      const lr = schedule.lrAt(epoch, 1 - 1e-9);
      schedule.epochEnd(epoch, val?.loss ?? Number.NaN);
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: partial.lossSum / partial.seen,
        trainAcc: partial.correct / partial.seen,
        ...(val ? { valLoss: val.loss, valAcc: val.acc } : {}),
        lr,
        seconds: (Date.now() - epochStart) / 1000,
        imagesPerSecond: partial.seen / Math.max(partial.trainSeconds, 1e-9),
        engine: engineLabel,
        ...(raw ? { rawValLoss: raw.loss, rawValAcc: raw.acc } : {}),
      };
      state.history.push(record);
      state.epoch = epoch + 1;
      state.batch = 0;
      state.partial = null;
      const isBest = val !== undefined && (state.best === null || val.acc > state.best.valAcc);
      if (val && isBest) {
        state.best = { epoch: epoch + 1, valAcc: val.acc, valLoss: val.loss };
        state.earlyStoppingWait = 0;
      } else if (val) {
        state.earlyStoppingWait += 1;
      }
      if (isBest || !validated) {
        state.schedule = schedule.state();
        const optimizerState = await optimizer.getState();
        await withModelToKeep(() => saveCheckpoint(bestDir, { model, meta: meta(), optimizer: optimizerState, state }));
      }
      // before last/ moves on, so a run stopped in between redoes the epoch and its snapshot
      if (cfg.snapshotsFrom > 0 && epoch + 1 >= cfg.snapshotsFrom) {
        await withModelToKeep(() => saveCheckpoint(snapshotDir(out, epoch + 1), { model, meta: meta() }));
      }
      await saveLast();
      lastSave = Date.now();
      writeHistory(out, state.history);
      await withModelToKeep(async () => options.onEpoch?.({ record, epochs: cfg.epochs, isBest, model }));
      // without validation the wait never grows: no early stopping
      if (cfg.earlyStopping > 0 && state.earlyStoppingWait >= cfg.earlyStopping && state.epoch < cfg.epochs) {
        log(`Early stopping: no better validation accuracy for ${cfg.earlyStopping} epochs (best ${state.best?.valAcc.toFixed(4)} at epoch ${state.best?.epoch}).`);
        stoppedBy = 'early-stopping';
        break;
      }
      if (options.signal?.aborted && state.epoch < cfg.epochs) {
        stoppedBy = 'interrupted';
        log(`Stopped after epoch ${state.epoch}: ${lastDir} is saved; continue with --resume.`);
        break;
      }
    }
  } catch (err) {
    await runner.close();
    optimizer.dispose();
    model.dispose();
    throw err;
  }
  await runner.close();
  optimizer.dispose();
  ema?.assignTo(model);
  return {
    out,
    bestDir,
    lastDir,
    history: state.history,
    best: state.best,
    stoppedBy,
    epochs: state.epoch,
    imagesPerSecond: runSeconds > 0 ? runImages / runSeconds : 0,
    elapsedSeconds: state.elapsedSeconds,
    backend,
    engine: engineLabel,
    model,
  };
}
