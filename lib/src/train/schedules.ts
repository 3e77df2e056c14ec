/**
 * Learning-rate schedules. The trainer asks `lrAt(epoch, fraction)` before every step (fraction = batches done /
 * batches per epoch) and calls `epochEnd(epoch, valLoss)` after validation. All state is plain JSON for state.json.
 */
import { FerError } from '../errors';

export type ScheduleName = 'plateau' | 'cosine' | 'exponential' | 'none';

export interface ScheduleOptions {
  name: ScheduleName;
  /** plateau: multiply the lr by `factor` after `patience` epochs without a better validation loss. */
  factor: number;
  patience: number;
  /** plateau/cosine: the lr never goes below this. */
  minLr: number;
  /** cosine: linear warm-up from ~0 over this many epochs (per step), then cosine decay to minLr at the last epoch. */
  warmupEpochs: number;
  /** exponential: lr * gamma^epoch (the PyTorch reference recipe uses 0.8). */
  gamma: number;
}

export const DEFAULT_SCHEDULE: ScheduleOptions = {
  name: 'plateau', factor: 0.5, patience: 3, minLr: 1e-6, warmupEpochs: 1, gamma: 0.8,
};

export interface ScheduleState {
  /** plateau: current lr, best validation loss, epochs since it improved. */
  lr: number;
  best: number | null;
  wait: number;
}

export interface LrSchedule {
  lrAt(epoch: number, fraction: number): number;
  epochEnd(epoch: number, valLoss: number): void;
  state(): ScheduleState;
  restore(state: ScheduleState): void;
}

export function createSchedule(options: ScheduleOptions, baseLr: number, epochs: number): LrSchedule {
  let st: ScheduleState = { lr: baseLr, best: null, wait: 0 };
  const o = options;
  const lrAt = (epoch: number, fraction: number): number => {
    switch (o.name) {
      case 'none':
      case 'plateau':
        return st.lr;
      case 'exponential':
        return Math.max(o.minLr, baseLr * Math.pow(o.gamma, epoch));
      case 'cosine': {
        const t = epoch + fraction;
        const warm = Math.min(o.warmupEpochs, epochs);
        // step-wise warm-up; the first step uses a small but non-zero rate
        if (t < warm) return (baseLr * Math.max(t, 1e-3)) / warm;
        const span = Math.max(epochs - warm, 1e-9);
        const progress = Math.min(1, (t - warm) / span);
        return o.minLr + 0.5 * (baseLr - o.minLr) * (1 + Math.cos(Math.PI * progress));
      }
      default:
        throw new FerError(`Unknown schedule "${String(o.name)}": use plateau, cosine, exponential or none.`);
    }
  };
  return {
    lrAt,
    epochEnd(_epoch: number, valLoss: number): void {
      if (o.name !== 'plateau' || !Number.isFinite(valLoss)) return;
      // improvement threshold as in Keras/PyTorch (relative 1e-4)
      if (st.best === null || valLoss < st.best * (1 - 1e-4)) {
        st = { ...st, best: valLoss, wait: 0 };
        return;
      }
      const wait = st.wait + 1;
      if (wait > o.patience) st = { ...st, lr: Math.max(o.minLr, st.lr * o.factor), wait: 0 };
      else st = { ...st, wait };
    },
    state: () => ({ ...st }),
    restore(s: ScheduleState): void {
      st = { ...s };
    },
  };
}
