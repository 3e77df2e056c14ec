/** `fer evaluate`: metrics, report and charts of a model on a dataset split; `--json` prints one JSON object. */
import * as fs from 'fs';
import * as path from 'path';
import * as cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { Dataset, SPLIT_NAMES, SplitName, splitIndices, takeSplit } from '../data/dataset';
import { loadDataset } from '../data/load';
import { FerError } from '../errors';
import { defaultModelPath, loadPredictor } from '../inference';
import type { Engine, Predictor } from '../inference';
import { classificationReport } from '../metrics/report';
import { confidentMistakes } from '../metrics/mistakes';
import { classMapping, evaluate, EvaluationResult } from '../metrics/evaluate';
import type { Metrics } from '../metrics/classification';
import { TTA_MODES, TtaMode } from '../transforms/tta';
import { assertOutputDir, projectPath, writeFileAtomic, writeJsonAtomic } from '../util/fs';
import { confusionMatrixFigure, HistoryEntry, perClassFigure, reliabilityFigure, trainingCurvesFigure } from '../viz/figures';
import { mistakesGrid } from '../viz/grid';
import { renderPng } from '../viz/png';
import { positiveInt } from './args';

export interface EvaluateFlags {
  model?: string;
  data?: string;
  split?: SplitName;
  tta?: boolean;
  ttaMode?: TtaMode;
  ttaN?: number;
  out?: string;
  json?: boolean;
  engine?: Engine;
  batchSize?: number;
}

/** What the command needs from the rest of the lib (tests pass fakes). */
export interface EvaluateDeps {
  loadPredictor: (pathOrDir: string, options: { engine?: Engine }) => Promise<Pick<Predictor, 'classes' | 'predict' | 'dispose' | 'engine' | 'source'>>;
  loadDataset: (source: string) => Promise<Dataset>;
  /** Where human-readable lines go (stderr with --json, so stdout holds only the JSON). */
  log?: (line: string) => void;
  /** Where the --json object goes. */
  print?: (text: string) => void;
}

const DEFAULT_DEPS: EvaluateDeps = {
  loadPredictor: (p, o) => loadPredictor(p, o),
  loadDataset: (s) => loadDataset(s),
};

/** The --json contract: classes in dataset (EMOTIONS) order. */
export interface EvaluateJson {
  accuracy: number;
  macroF1: number;
  n: number;
  perClass: Record<string, { precision: number; recall: number; f1: number; support: number }>;
  confusion: number[][];
  tta: { accuracy: number; macroF1: number } | null;
}

export function toEvaluateJson(result: EvaluationResult): EvaluateJson {
  const m = result.metrics;
  const perClass: EvaluateJson['perClass'] = {};
  m.classes.forEach((c, k) => {
    const p = m.perClass[k];
    perClass[c] = { precision: p.precision, recall: p.recall, f1: p.f1, support: p.support };
  });
  return {
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    n: m.n,
    perClass,
    confusion: m.confusion,
    tta: result.tta ? { accuracy: result.tta.metrics.accuracy, macroF1: result.tta.metrics.macroF1 } : null,
  };
}

/** results/eval-<name>: the model file's name, or its folder's for model.onnx / best / last. */
export function defaultOutDir(model: string): string {
  const abs = path.resolve(model);
  let name = path.basename(abs).replace(/\.(onnx|json)$/i, '');
  if (['model', 'best', 'last', 'tfjs'].includes(name)) name = path.basename(path.dirname(abs));
  return path.resolve('results', `eval-${name.replace(/[^\w.-]+/g, '_') || 'model'}`);
}

function metricsSummary(m: Metrics, ece: number) {
  return {
    accuracy: m.accuracy,
    top2Accuracy: m.top2Accuracy,
    macroF1: m.macroF1,
    weightedF1: m.weightedF1,
    macroPrecision: m.macroPrecision,
    macroRecall: m.macroRecall,
    ece,
    perClass: Object.fromEntries(m.classes.map((c, k) => [c, m.perClass[k]])),
    confusion: m.confusion,
    confusionNormalized: m.confusionNormalized,
  };
}

function readHistoryFile(file: string): HistoryEntry[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    const rows = Array.isArray(raw) ? raw : (raw as { history?: unknown }).history;
    if (!Array.isArray(rows) || rows.length === 0) return undefined;
    const ok = rows.every(
      (r: Partial<HistoryEntry>) => typeof r?.epoch === 'number' && typeof r.trainLoss === 'number' && typeof r.trainAcc === 'number',
    );
    return ok ? (rows as HistoryEntry[]) : undefined;
  } catch {
    return undefined; // a broken history only costs the training-curves chart
  }
}

/**
 * The training history beside a model, when it came from `fer train`: <run>/history.json or <run>/last/state.json
 * (the model path may be the run folder, its best/ or last/ folder, or a model.onnx inside one).
 */
export function findHistory(modelPath: string): HistoryEntry[] | undefined {
  let dir = path.resolve(modelPath);
  if (fs.existsSync(dir) && fs.statSync(dir).isFile()) dir = path.dirname(dir);
  const runDirs = [dir];
  if (['best', 'last', 'tfjs'].includes(path.basename(dir))) runDirs.push(path.dirname(dir));
  for (const run of runDirs) {
    const h =
      readHistoryFile(path.join(run, 'history.json')) ??
      readHistoryFile(path.join(run, 'last', 'state.json')) ??
      readHistoryFile(path.join(run, 'state.json'));
    if (h) return h;
  }
  return undefined;
}

function pickSplit(ds: Dataset, split: SplitName): Dataset {
  if (splitIndices(ds, split).length > 0) return takeSplit(ds, split);
  const present = SPLIT_NAMES.map((s) => [s, splitIndices(ds, s).length] as const).filter(([, k]) => k > 0);
  throw new FerError(
    `${ds.source} has no '${split}' images; it has ${present.map(([s, k]) => `${s} (${k})`).join(', ') || 'none'}: ` +
      `pass --split ${present[0]?.[0] ?? 'test'}`,
    { file: ds.source },
  );
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

/** Unreadable files listed in metrics.json (all of them: `fer data <path>`). */
const MAX_LISTED_BAD = 50;

/** One line about the files the loader skipped (undefined when none were), so a shrunken test set is never silent. */
export function skippedNote(ds: Pick<Dataset, 'bad' | 'source'>): string | undefined {
  if (ds.bad.length === 0) return undefined;
  const first = ds.bad[0];
  return `warning: ${ds.bad.length} unreadable file${ds.bad.length > 1 ? 's' : ''} in ${ds.source} skipped ` +
    `(first: ${first.file}: ${first.reason}); \`fer data ${ds.source}\` lists them all; the metrics leave them out.`;
}

/** The whole command: load, evaluate, write DIR, print. Returns the JSON summary. */
export async function runEvaluate(flags: EvaluateFlags, deps: EvaluateDeps = DEFAULT_DEPS): Promise<EvaluateJson> {
  const json = flags.json ?? false;
  const log = deps.log ?? ((line: string) => (json ? process.stderr : process.stdout).write(line + '\n'));
  const print = deps.print ?? ((text: string) => process.stdout.write(text + '\n'));
  const modelPath = flags.model ?? defaultModelPath();
  const dataPath = flags.data ?? projectPath('data', 'sample');
  const split = flags.split ?? 'test';
  const ttaMode: TtaMode | undefined = flags.ttaMode ?? (flags.tta ? 'flip' : undefined);
  const outDir = path.resolve(flags.out ?? defaultOutDir(modelPath));

  assertOutputDir(outDir, '--out'); // before the slow part, not after it

  const predictor = await deps.loadPredictor(modelPath, { engine: flags.engine });
  try {
    const all = await deps.loadDataset(dataPath);
    const skipped = skippedNote(all);
    if (skipped) log(skipped);
    const ds = pickSplit(all, split);
    try {
      classMapping(predictor.classes, ds.classes);
    } catch (err) {
      if (err instanceof FerError) throw new FerError(`${modelPath} does not fit ${dataPath}: ${err.message}`, { file: modelPath, cause: err });
      throw err;
    }
    const showBar = !json && process.stderr.isTTY === true;
    const bar = showBar
      ? new cliProgress.SingleBar(
          { stream: process.stderr, format: 'evaluate [{bar}] {value}/{total} images | ETA {eta_formatted}', hideCursor: false },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    bar?.start(ds.size * (ttaMode ? 2 : 1), 0);
    let result: EvaluationResult;
    try {
      result = await evaluate(predictor, ds, {
        tta: ttaMode ?? false,
        ttaN: flags.ttaN,
        batchSize: flags.batchSize,
        onProgress: (done) => bar?.update(done),
      });
    } finally {
      bar?.stop();
    }

    const summary = toEvaluateJson(result);
    const m = result.metrics;
    const header =
      `model: ${predictor.source} (engine ${predictor.engine})\n` +
      `data:  ${ds.source}, split ${split}, ${ds.size} images${all.bad.length ? ` (${all.bad.length} unreadable files skipped while loading)` : ''}\n` +
      `time:  ${result.seconds.toFixed(1)} s (${(ds.size / result.seconds).toFixed(0)} images/s${ttaMode ? ', TTA included' : ''})\n\n`;
    let report =
      header +
      classificationReport(m) +
      `\ntop-2 accuracy: ${pct(m.top2Accuracy)}\nexpected calibration error (15 bins): ${pct(result.calibration.ece)}\n`;
    if (result.tta) {
      report +=
        `\n--- with TTA (${result.tta.mode}, ${result.tta.views} views per image) ---\n\n` +
        classificationReport(result.tta.metrics) +
        `\ntop-2 accuracy: ${pct(result.tta.metrics.top2Accuracy)}\n` +
        `expected calibration error (15 bins): ${pct(result.tta.calibration.ece)}\n`;
    }
    const groups = confidentMistakes(ds.labels, result.probs, ds.classes, { perPair: 6 });
    const metricsJson = {
      model: predictor.source,
      engine: predictor.engine,
      data: ds.source,
      split,
      n: m.n,
      unreadable: all.bad.length,
      unreadableFiles: all.bad.slice(0, MAX_LISTED_BAD),
      classes: [...m.classes],
      seconds: result.seconds,
      ...metricsSummary(m, result.calibration.ece),
      reliability: result.calibration.bins,
      mistakes: groups.slice(0, 12).map((g) => ({
        true: ds.classes[g.trueClass],
        predicted: ds.classes[g.predicted],
        count: g.count,
        examples: g.examples.map((e) => ({ file: ds.files[e.index], confidence: e.confidence, trueProbability: e.trueProbability })),
      })),
      tta: result.tta
        ? { mode: result.tta.mode, views: result.tta.views, ...metricsSummary(result.tta.metrics, result.tta.calibration.ece) }
        : null,
      createdAt: new Date().toISOString(),
    };

    // Render everything first, then write: a failure leaves no half-updated set of files.
    const name = path.basename(path.resolve(modelPath));
    const files: Array<[string, string | Uint8Array]> = [
      ['report.txt', report],
      ['confusion_matrix.png', await renderPng(confusionMatrixFigure(m, { title: `${name}: confusion matrix (${split}, n=${m.n}, accuracy ${pct(m.accuracy)})` }))],
      ['per_class.png', await renderPng(perClassFigure(m))],
      ['mistakes.png', await mistakesGrid(ds, groups)],
      ['reliability.png', await renderPng(reliabilityFigure(result.calibration))],
    ];
    const history = findHistory(modelPath);
    if (history) files.push(['training_curves.png', await renderPng(trainingCurvesFigure(history))]);
    for (const [file, data] of files) writeFileAtomic(path.join(outDir, file), data);
    writeJsonAtomic(path.join(outDir, 'metrics.json'), metricsJson);

    if (json) {
      print(JSON.stringify(summary));
    } else {
      log(report);
      log(`accuracy ${pct(m.accuracy)}, macro F1 ${m.macroF1.toFixed(4)}` +
        (result.tta ? `; with TTA (${result.tta.mode}) ${pct(result.tta.metrics.accuracy)}, macro F1 ${result.tta.metrics.macroF1.toFixed(4)}` : ''));
      log(`wrote ${outDir}: ${['metrics.json', ...files.map(([f]) => f)].join(', ')}`);
    }
    return summary;
  } finally {
    await predictor.dispose();
  }
}


export function register(program: Command, deps: EvaluateDeps = DEFAULT_DEPS): void {
  program
    .command('evaluate')
    .description('accuracy, per-class metrics, confusion matrix, calibration and mistakes of a model on a dataset split')
    .option('--model <path>', 'checkpoint folder, model folder, .onnx file, or peer:human / peer:face-api (default: the shipped model)')
    .option('--data <path>', 'dataset: Kaggle folder/zip, fer2013.csv or FER+ (default data/sample)')
    .addOption(new Option('--split <name>', 'which images').choices([...SPLIT_NAMES]).default('test'))
    .option('--tta', 'also evaluate with test-time augmentation (flip unless --tta-mode)')
    .addOption(new Option('--tta-mode <mode>', 'TTA views (implies --tta)').choices([...TTA_MODES]))
    .option('--tta-n <n>', "random views for --tta-mode random (default 5)", positiveInt)
    .option('--out <dir>', 'output folder (default results/eval-<model name>)')
    .option('--json', 'print exactly one JSON object (accuracy, macroF1, n, perClass, confusion, tta)')
    .addOption(new Option('--engine <engine>', 'inference engine').choices(['onnx', 'tfjs']))
    .option('--batch-size <n>', 'images per model call (default 256)', positiveInt)
    .action(async (flags: EvaluateFlags) => {
      await runEvaluate(flags, deps);
    });
}
