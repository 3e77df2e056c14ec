/** Evaluate a model on a dataset: batched predictions, metrics, and optionally the same with TTA. */
import type { Dataset } from '../data/dataset';
import { PIXELS_PER_IMAGE } from '../emotions';
import { FerError } from '../errors';
import { predictWithTta, ProbabilityModel, TtaMode, ttaViewCount } from '../transforms/tta';
import { calibration, Calibration } from './calibration';
import { computeMetrics, Metrics } from './classification';

export interface EvaluateOptions {
  /** Also evaluate with test-time augmentation: true = 'flip', or a mode (default false). */
  tta?: boolean | TtaMode;
  /** 'random' TTA: number of random views (default 5). */
  ttaN?: number;
  /** 'random' TTA seed (default 42). */
  ttaSeed?: number;
  /** Images per predict call (default 256). */
  batchSize?: number;
  /** Called after each batch with images done and the total (TTA passes count again). */
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluationResult {
  metrics: Metrics;
  calibration: Calibration;
  /** Probabilities without TTA: n rows of classes.length, dataset class order. */
  probs: Float32Array;
  /** The TTA results when asked for. */
  tta?: { mode: TtaMode; views: number; metrics: Metrics; calibration: Calibration; probs: Float32Array };
  /** Wall time of all predictions, seconds. */
  seconds: number;
}

/**
 * How to read the model's output columns in dataset class order: identity when the lists are equal, a permutation
 * when they hold the same names in another order; otherwise a FerError.
 */
export function classMapping(modelClasses: readonly string[], dataClasses: readonly string[]): number[] {
  const same = modelClasses.length === dataClasses.length && modelClasses.every((c, i) => c === dataClasses[i]);
  if (same) return dataClasses.map((_, i) => i);
  const map = dataClasses.map((c) => modelClasses.indexOf(c));
  if (modelClasses.length === dataClasses.length && map.every((k) => k >= 0)) return map;
  throw new FerError(
    `the model predicts ${modelClasses.length} classes (${modelClasses.join(', ')}) but the data has ` +
      `${dataClasses.length} (${dataClasses.join(', ')}): evaluate a model trained on the same class set ` +
      '(e.g. a 7-class model on FER2013, an 8-class model on FER+ in 8-class mode)',
  );
}

function reorder(probs: Float32Array, map: number[], cModel: number): Float32Array {
  if (map.every((k, i) => k === i) && map.length === cModel) return probs;
  const n = probs.length / cModel;
  const out = new Float32Array(n * map.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < map.length; k++) out[i * map.length + k] = probs[i * cModel + map[k]];
  return out;
}

async function predictAll(
  model: ProbabilityModel,
  ds: Dataset,
  batchSize: number,
  run: (batch: Uint8Array) => Promise<Float32Array>,
  progress: (images: number) => void,
): Promise<Float32Array> {
  const c = model.classes.length;
  const out = new Float32Array(ds.size * c);
  for (let start = 0; start < ds.size; start += batchSize) {
    const end = Math.min(ds.size, start + batchSize);
    const batch = ds.pixels.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE);
    const p = await run(batch);
    if (p.length !== (end - start) * c) {
      throw new FerError(
        `the model (${model.classes.length} classes) returned ${p.length} values for ${end - start} images; ` +
          `expected ${(end - start) * c}: its output does not fit its class list`,
      );
    }
    out.set(p, start * c);
    progress(end - start);
  }
  return out;
}

export async function evaluate(
  model: ProbabilityModel,
  dataset: Dataset,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new FerError(`batch size must be a positive integer, got ${batchSize}`);
  if (dataset.size === 0) {
    throw new FerError(`no images to evaluate in ${dataset.source}: pick a split that has images (test, val or train)`);
  }
  if (dataset.pixels.length !== dataset.size * PIXELS_PER_IMAGE) {
    throw new FerError(`dataset ${dataset.source} holds ${dataset.pixels.length} pixels for ${dataset.size} 48x48 images`);
  }
  const map = classMapping(model.classes, dataset.classes);
  const ttaMode: TtaMode | undefined = options.tta === true ? 'flip' : options.tta ? options.tta : undefined;
  const ttaOptions = { mode: ttaMode, n: options.ttaN, seed: options.ttaSeed };
  const total = dataset.size * (ttaMode ? 2 : 1);
  let done = 0;
  const progress = (k: number) => {
    done += k;
    options.onProgress?.(done, total);
  };
  const t0 = performance.now();
  const raw = await predictAll(model, dataset, batchSize, (b) => model.predict(b), progress);
  const probs = reorder(raw, map, model.classes.length);
  const classes = dataset.classes;
  const result: EvaluationResult = {
    metrics: computeMetrics(dataset.labels, probs, classes),
    calibration: calibration(dataset.labels, probs, classes),
    probs,
    seconds: 0,
  };
  if (ttaMode) {
    // one predict call per view, each of at most batchSize images
    const views = ttaViewCount(ttaOptions);
    const rawTta = await predictAll(model, dataset, batchSize, (b) => predictWithTta(model, b, ttaOptions), progress);
    const ttaProbs = reorder(rawTta, map, model.classes.length);
    result.tta = {
      mode: ttaMode,
      views,
      metrics: computeMetrics(dataset.labels, ttaProbs, classes),
      calibration: calibration(dataset.labels, ttaProbs, classes),
      probs: ttaProbs,
    };
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}
