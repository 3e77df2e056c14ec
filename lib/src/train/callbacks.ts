/**
 * What happens around the training loop: the progress bar, history files, early stopping, and Ctrl-C handling.
 */
import * as path from 'path';
import * as cliProgress from 'cli-progress';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs';
import type * as tf from '@tensorflow/tfjs';
import type { EpochRecord } from './checkpoint';

export interface BatchInfo {
  /** 0-based epoch index. */
  epoch: number;
  epochs: number;
  /** Batches done in this epoch (1-based after the first). */
  batch: number;
  batches: number;
  /** Running means over the epoch so far. */
  loss: number;
  acc: number;
  imagesPerSecond: number;
  lr: number;
}

export interface EpochInfo {
  record: EpochRecord;
  epochs: number;
  /** This epoch gave the best validation accuracy so far (best/ was written). Always false without validation (valFraction 0), where best/ is rewritten every epoch. */
  isBest: boolean;
  /**
   * The model being trained, weights as of this epoch's end: the ones `record.valAcc` measured (the moving average
   * with `ema`). Read it, e.g. to evaluate; do not dispose it or keep it past the callback.
   */
  model: tf.LayersModel;
}

export interface TrainCallbacks {
  onEpochStart?(epoch: number, epochs: number, batches: number, startBatch: number): void;
  onBatch?(info: BatchInfo): void;
  onEpoch?(info: EpochInfo): void | Promise<void>;
  /** Human-readable notes (resuming, early stopping, where files went). */
  onLog?(message: string): void;
  /** Abort to stop: the trainer saves out/last at the next batch boundary and returns. */
  signal?: AbortSignal;
}

/** Combine several callback sets (e.g. a progress bar and a notebook chart). */
export function combineCallbacks(...sets: TrainCallbacks[]): TrainCallbacks {
  return {
    onEpochStart: (...a) => sets.forEach((s) => s.onEpochStart?.(...a)),
    onBatch: (info) => sets.forEach((s) => s.onBatch?.(info)),
    onEpoch: async (info) => {
      for (const s of sets) await s.onEpoch?.(info);
    },
    onLog: (m) => sets.forEach((s) => s.onLog?.(m)),
    signal: sets.find((s) => s.signal)?.signal,
  };
}

export interface ProgressOptions {
  /** When the stream is not a terminal (a log file), write a progress line this often (0 = only the epoch lines). */
  nonTtyEverySeconds?: number;
}

/**
 * A cli-progress bar on stderr per epoch: loss, accuracy, images/s, ETA; one summary line per epoch. Into a file or
 * pipe the bar becomes a line every `nonTtyEverySeconds`.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr, options: ProgressOptions = {}): TrainCallbacks & { stop(): void } {
  const everyMs = (options.nonTtyEverySeconds ?? 60) * 1000;
  let bar: cliProgress.SingleBar | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    /** End the bar (its timer keeps the process alive): call when training ends some other way, e.g. by an error. */
    stop,
    onEpochStart(epoch, epochs, batches, startBatch) {
      stop();
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: stream.isTTY
            ? `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} | loss {loss} acc {acc} | {ips} img/s | ETA {eta_formatted}`
            : `epoch ${epoch + 1}/${epochs} batch {value}/{total} | loss {loss} acc {acc} | {ips} img/s | ETA {eta_formatted}`,
          barsize: 24,
          hideCursor: false,
          etaBuffer: 20,
          // redirected to a file (nohup ... > log): a plain line now and then instead of nothing until the epoch ends
          noTTYOutput: everyMs > 0,
          notTTYSchedule: everyMs,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, startBatch, { loss: '-', acc: '-', ips: '-' });
    },
    onBatch(info) {
      bar?.update(info.batch, {
        loss: info.loss.toFixed(4),
        acc: info.acc.toFixed(3),
        ips: info.imagesPerSecond.toFixed(1),
      });
    },
    onEpoch({ record: r, epochs, isBest }) {
      stop();
      stream.write(
        `epoch ${r.epoch}/${epochs}: loss ${r.trainLoss.toFixed(4)} acc ${r.trainAcc.toFixed(4)} | ` +
          (r.valAcc === undefined || r.valLoss === undefined ? 'no validation' : `val loss ${r.valLoss.toFixed(4)} acc ${r.valAcc.toFixed(4)}`) +
          `${r.rawValAcc === undefined ? '' : ` (EMA; own weights ${r.rawValAcc.toFixed(4)})`} | lr ${r.lr.toExponential(2)} | ` +
          `${r.imagesPerSecond.toFixed(1)} img/s | ${r.seconds.toFixed(1)} s${isBest ? ' | best' : ''}\n`,
      );
    },
    onLog(message) {
      stop();
      stream.write(message + '\n');
    },
  };
}

const CSV_COLUMNS: Array<keyof EpochRecord> = [
  'epoch', 'trainLoss', 'trainAcc', 'valLoss', 'valAcc', 'lr', 'seconds', 'imagesPerSecond', 'engine', 'rawValLoss', 'rawValAcc',
];

/** history.csv text: a header and one row per epoch. */
export function historyCsv(history: readonly EpochRecord[]): string {
  const rows = history.map((r) => CSV_COLUMNS.map((c) => String(r[c] ?? '')).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/** Write <out>/history.json and <out>/history.csv (atomically). */
export function writeHistory(out: string, history: readonly EpochRecord[]): void {
  writeJsonAtomic(path.join(out, 'history.json'), history);
  writeFileAtomic(path.join(out, 'history.csv'), historyCsv(history));
}

/**
 * Abort `controller` on the first Ctrl-C (the trainer then saves and returns); a second Ctrl-C stops the process at
 * once. Returns a function that removes the handler.
 */
export function abortOnSigint(controller: AbortController, onFirst?: () => void): () => void {
  const handler = () => {
    if (controller.signal.aborted) {
      // Second Ctrl-C: drop the handler and raise SIGINT again, so the process dies by the signal as if no handler
      // had been installed (the shell and parent processes see "killed by SIGINT", exit status 130).
      process.off('SIGINT', handler);
      process.kill(process.pid, 'SIGINT');
      return;
    }
    onFirst?.();
    controller.abort();
  };
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}
