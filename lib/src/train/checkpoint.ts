/**
 * Checkpoints. <out>/last and <out>/best are model folders (util/model-io: model.json, weights.bin, meta.json) that
 * also hold the optimizer state (optimizer.json + optimizer.bin, raw float32, bit-exact) and state.json (where
 * the run stands: epoch, batch, history, config, seeds, schedule, best metric). Each folder is written to a temp
 * folder and renamed, so a kill never leaves a half-written checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FerError, errorMessage } from '../errors';
import { replaceDirAtomic, writeFileAtomic, writeJsonAtomic } from '../util/fs';
import { loadModelDir, ModelMeta, writeModelFiles } from '../util/model-io';
import { defaultTrainConfig } from '../config';
import type { TrainConfig } from '../config';
import type { OptimizerState, OptimizerName } from './optimizers';
import type { ScheduleState } from './schedules';
import type { EmaState } from './ema';
import { sizeOf } from '../util/arrays';

/** One row of history.json / history.csv. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  /** Absent in runs without validation (valFraction 0). */
  valLoss?: number;
  valAcc?: number;
  /** Learning rate at the end of the epoch. */
  lr: number;
  /** Wall time of the epoch (training + validation), seconds. */
  seconds: number;
  /** Training images per second during the epoch. */
  imagesPerSecond: number;
  /** What computed the steps: 'onnxruntime' or 'tfjs-<backend>', + ' x<n> workers' when data-parallel. Absent in runs saved before it was recorded (they ran on tfjs). */
  engine?: string;
  /** Runs with `ema`: valLoss/valAcc are the averaged weights'; these are the training weights' own. */
  rawValLoss?: number;
  rawValAcc?: number;
}

/** Sums of the epoch in progress (so a mid-epoch resume reports the same epoch numbers). */
export interface PartialEpoch {
  lossSum: number;
  correct: number;
  seen: number;
  trainSeconds: number;
}

export interface TrainState {
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Batches completed inside epoch `epoch` (0-based epoch index), 0 at an epoch boundary. */
  batch: number;
  /** Optimizer steps taken. */
  step: number;
  partial: PartialEpoch | null;
  history: EpochRecord[];
  config: TrainConfig;
  /**
   * Randomness: every stream (shuffle, augmentation, mixing, dropout) is derived from (seed, purpose, epoch, batch),
   * so (seed, epoch, batch) is the complete RNG state.
   */
  rng: { seed: number; epoch: number; batch: number; scheme: string };
  schedule: ScheduleState;
  best: { epoch: number; valAcc: number; valLoss: number } | null;
  /** Epochs since the validation accuracy last improved. */
  earlyStoppingWait: number;
  /** Total training wall time over all runs (seconds). */
  elapsedSeconds: number;
  data: { source: string; classes: string[]; train: number; val: number; classWeights: number[] | null };
  backend: string;
  savedAt: string;
}

export interface CheckpointContent {
  model: tf.LayersModel;
  meta: ModelMeta;
  optimizer?: OptimizerState;
  state?: TrainState;
  /** The moving average of the weights (runs with `ema`): ema.json + ema.bin in last/. */
  ema?: EmaState;
  /** When read: the quantized formats the folder stores its weights in (e.g. a shipped uint8 copy); empty otherwise. */
  quantized?: string[];
}

interface OptimizerFile {
  name: OptimizerName;
  step: number;
  shapes: number[][];
  slots: string[];
  /** float32 values per slot, variables in order, in optimizer.bin. */
  bytes: number;
}

/** Float32 arrays back to back, as bytes (optimizer.bin, ema.bin). */
function concatFloats(arrays: Float32Array[]): Buffer {
  return Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
}

/** Split `bin` into float32 arrays of the given sizes, starting at byte `offset`. */
function splitFloats(bin: Buffer, sizes: number[], offset = 0): Float32Array[] {
  return sizes.map((n) => {
    // copy into an aligned buffer (the Buffer's offset need not be a multiple of 4)
    const arr = new Float32Array(n);
    new Uint8Array(arr.buffer).set(bin.subarray(offset, offset + n * 4));
    offset += n * 4;
    return arr;
  });
}

/** Read <dir>/<name>.bin, which <dir>/<name>.json says has `bytes` bytes. */
function readBin(dir: string, name: string, bytes: number): Buffer {
  const binFile = path.join(dir, `${name}.bin`);
  const bin = fs.existsSync(binFile) ? fs.readFileSync(binFile) : Buffer.alloc(0);
  if (bin.length !== bytes) {
    throw new FerError(`${binFile} has ${bin.length} bytes, ${name}.json expects ${bytes}: the checkpoint is damaged.`, { file: binFile });
  }
  return bin;
}


function writeOptimizer(dir: string, state: OptimizerState): void {
  const slotNames = Object.keys(state.slots);
  const bin = concatFloats(slotNames.flatMap((name) => state.slots[name]));
  const json: OptimizerFile = { name: state.name, step: state.step, shapes: state.shapes, slots: slotNames, bytes: bin.length };
  writeFileAtomic(path.join(dir, 'optimizer.bin'), bin);
  writeJsonAtomic(path.join(dir, 'optimizer.json'), json);
}

function readOptimizer(dir: string): OptimizerState | undefined {
  const jsonFile = path.join(dir, 'optimizer.json');
  if (!fs.existsSync(jsonFile)) return undefined;
  const json = readJson<OptimizerFile>(jsonFile);
  const bin = readBin(dir, 'optimizer', json.bytes);
  const sizes = json.shapes.map(sizeOf);
  const perSlot = sizes.reduce((a, b) => a + b, 0) * 4;
  const slots: Record<string, Float32Array[]> = {};
  json.slots.forEach((name, k) => (slots[name] = splitFloats(bin, sizes, k * perSlot)));
  return { name: json.name, step: json.step, shapes: json.shapes, slots };
}

interface EmaFile {
  decay: number;
  updates: number;
  /** Absent in checkpoints from before the warm-up option: 0. */
  warmupPower?: number;
  sizes: number[];
  bytes: number;
}

function writeEma(dir: string, ema: EmaState): void {
  const bin = concatFloats(ema.weights);
  const json: EmaFile = { decay: ema.decay, updates: ema.updates, warmupPower: ema.warmupPower, sizes: ema.weights.map((w) => w.length), bytes: bin.length };
  writeFileAtomic(path.join(dir, 'ema.bin'), bin);
  writeJsonAtomic(path.join(dir, 'ema.json'), json);
}

function readEma(dir: string): EmaState | undefined {
  const jsonFile = path.join(dir, 'ema.json');
  if (!fs.existsSync(jsonFile)) return undefined;
  const json = readJson<EmaFile>(jsonFile);
  if (!Array.isArray(json.sizes) || json.sizes.reduce((a, b) => a + b, 0) * 4 !== json.bytes) {
    throw new FerError(`${jsonFile}: its sizes do not add up to its ${json.bytes} bytes: the checkpoint is damaged.`, { file: jsonFile });
  }
  return { decay: json.decay, updates: json.updates, warmupPower: json.warmupPower ?? 0, weights: splitFloats(readBin(dir, 'ema', json.bytes), json.sizes) };
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new FerError(`${file} is not valid JSON (${errorMessage(err)}): the checkpoint is damaged.`, { file });
  }
}

/** Write a complete checkpoint folder atomically. */
export async function saveCheckpoint(dir: string, content: CheckpointContent): Promise<void> {
  await replaceDirAtomic(dir, async (tmp) => {
    await writeModelFiles(content.model, tmp, content.meta);
    if (content.optimizer) writeOptimizer(tmp, content.optimizer);
    if (content.ema) writeEma(tmp, content.ema);
    if (content.state) writeJsonAtomic(path.join(tmp, 'state.json'), content.state);
  });
}

/** Read a checkpoint folder: model, meta, and (when present) optimizer state, state.json and the weight average. */
export async function readCheckpoint(dir: string): Promise<CheckpointContent> {
  const { model, meta, quantized } = await loadModelDir(dir);
  const stateFile = path.join(dir, 'state.json');
  const state = fs.existsSync(stateFile) ? readJson<TrainState>(stateFile) : undefined;
  return { model, meta, optimizer: readOptimizer(dir), state, ema: readEma(dir), quantized };
}

/** The training state in <dir>/state.json, if any. */
export function readTrainState(dir: string): TrainState | undefined {
  const file = path.join(dir, 'state.json');
  return fs.existsSync(file) ? readJson<TrainState>(file) : undefined;
}

/**
 * What a run saved before a setting existed used: the default, except where the default has changed since
 * (weightInit: runs before 2026-11-29 started from He/Glorot weights; workers: auto since 2026-11-29, 1 before).
 */
const SETTINGS_OF_OLDER_RUNS: Partial<TrainConfig> = { weightInit: 'keras', workers: 1 };

/** A saved run's config with the settings it predates filled in as that run had them. */
export function completeSavedConfig(saved: TrainConfig): TrainConfig {
  return { ...defaultTrainConfig(), ...SETTINGS_OF_OLDER_RUNS, ...saved };
}

/**
 * The config of the run in `out`: from out/last/state.json (what `--resume` continues), else from out/config.json
 * (a finished run kept with only best/, whose validation split scripts still need to rebuild).
 */
export function readSavedConfig(out: string): TrainConfig | undefined {
  const configFile = path.join(out, 'config.json');
  const saved = readTrainState(path.join(out, 'last'))?.config ?? (fs.existsSync(configFile) ? readJson<TrainConfig>(configFile) : undefined);
  return saved && completeSavedConfig(saved);
}

/**
 * Load a trained model: <dir>/best if it exists (a training output folder), else <dir> itself as a model folder
 * (a checkpoint folder such as <out>/last, or any model folder).
 */
export async function loadCheckpoint(dir: string): Promise<CheckpointContent> {
  const best = path.join(dir, 'best');
  const target = fs.existsSync(path.join(best, 'model.json')) ? best : dir;
  return readCheckpoint(target);
}
