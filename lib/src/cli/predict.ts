/** `fer predict <image|folder>`: detect faces, classify them, write annotated copies and reports. */
import * as path from 'path';
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { DETECTOR_NAMES, DetectorName } from '../faces/detector';
import { listInputs, predictFiles, toJsonResults, BatchEntry } from '../apps/batch';
import { openPipeline } from '../apps/pipeline';
import { writeReports } from '../apps/report';
import { assertOutputDir } from '../util/fs';
import { positiveNumber } from './args';
import { addDeviceOptions, DeviceFlags, deviceFromFlags, reportDevice } from './device';

interface PredictFlags extends DeviceFlags {
  model?: string;
  detector: DetectorName;
  detectorModel: 'back' | 'front';
  minScore?: number;
  out: string;
  json?: boolean;
  recursive?: boolean;
  bars: boolean;
  maxPixels: number;
  concurrency: number;
}


function describe(e: BatchEntry): string {
  // Errors from the loader already start with the file name.
  if (e.error !== undefined) return e.error.startsWith(e.file) ? `${e.file}: error${e.error.slice(e.file.length)}` : `${e.file}: error: ${e.error}`;
  if (e.faces.length === 0) return `${e.file}: no face found`;
  const faces = e.faces.map((f) => `${f.emotion} ${(f.confidence * 100).toFixed(0)}% at ${f.box.x},${f.box.y} ${f.box.width}x${f.box.height}`);
  return `${e.file}: ${e.faces.length} face${e.faces.length > 1 ? 's' : ''}: ${faces.join('; ')}`;
}

export async function runPredict(target: string, flags: PredictFlags): Promise<BatchEntry[]> {
  const outDir = path.resolve(flags.out);
  const inputs = listInputs(target, { recursive: flags.recursive, exclude: outDir });
  assertOutputDir(outDir, '--out');
  const pipeline = await openPipeline({
    model: flags.model,
    detector: flags.detector,
    detectorOptions: { model: flags.detectorModel, ...(flags.minScore !== undefined ? { minScore: flags.minScore } : {}) },
    device: deviceFromFlags(flags),
  });
  reportDevice(pipeline);
  const bar = new SingleBar({ stream: process.stderr, format: 'predict [{bar}] {value}/{total} files | {file}', hideCursor: true, clearOnComplete: true });
  bar.start(inputs.files.length, 0, { file: '' });
  let entries: BatchEntry[];
  try {
    entries = await predictFiles(inputs.files, pipeline, {
      root: inputs.root,
      outDir,
      concurrency: flags.concurrency,
      load: { maxPixels: flags.maxPixels * 1e6 },
      annotate: { bars: flags.bars },
      onResult: (e, done) => bar.update(done, { file: path.basename(e.file) }),
    });
  } finally {
    bar.stop();
    await pipeline.dispose();
  }
  const reports = writeReports(outDir, entries, pipeline.classifier.classes);
  if (flags.json) {
    process.stdout.write(JSON.stringify(toJsonResults(entries), null, 2) + '\n');
  } else {
    for (const e of entries) console.log(describe(e));
  }
  const failed = entries.filter((e) => e.error !== undefined).length;
  const noFace = entries.filter((e) => e.error === undefined && e.faces.length === 0).length;
  const faces = entries.reduce((n, e) => n + e.faces.length, 0);
  console.error(`fer predict: ${entries.length} files, ${faces} faces, ${noFace} without a face, ${failed} failed; annotated copies and ${reports.map((r) => path.basename(r)).join(', ')} in ${outDir}`);
  if (failed === entries.length) process.exitCode = 1;
  return entries;
}

export function register(program: Command): void {
  const command = program
    .command('predict')
    .description('detect faces in an image or a folder of images, classify their expressions, write annotated copies and reports')
    .argument('<target>', 'image file or folder')
    .option('-m, --model <path>', 'model file or folder (default: the shipped model)')
    .addOption(new Option('-d, --detector <name>', 'face detector: blazeface or haar (needs @u4/opencv4nodejs)').choices(DETECTOR_NAMES).default('blazeface'))
    .addOption(new Option('--detector-model <which>', "blazeface model: 'back' (256 px, small faces) or 'front' (128 px, faster)").choices(['back', 'front']).default('back'))
    .option('--min-score <p>', 'minimum face detector score (default 0.5)', positiveNumber)
    .option('-o, --out <dir>', 'output folder for annotated copies and reports', path.join('results', 'predict'))
    .option('--json', 'print the results as one JSON array on stdout')
    .option('-r, --recursive', 'include subfolders')
    .option('--no-bars', 'do not draw probability bars')
    .option('--max-pixels <megapixels>', 'refuse larger images (decompression-bomb guard)', positiveNumber, 100)
    .option('--concurrency <n>', 'files processed at once', (v) => Math.max(1, Math.round(positiveNumber(v))), 2);
  addDeviceOptions(command)
    .action(async (target: string, flags: PredictFlags) => {
      await runPredict(target, flags);
    });
}
