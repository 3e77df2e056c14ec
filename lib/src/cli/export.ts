/** `fer export --model <checkpoint dir> --out <file.onnx> [--fp16|--int8|--int8-dynamic] [--web DIR]` */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { initBackend } from '../backend';
import { FerError } from '../errors';
import { exportOnnx } from '../export/onnx';
import { WeightFormat } from '../export/quantize';
import { compareOnnxToTfjs } from '../export/verify';
import { TfjsWeightFormat } from '../export/tfjs-weights';
import { exportWeb } from '../export/web';
import { resolveModelSource } from '../inference/predictor';
import { assertOutputDir, assertOutputFile, writeFileAtomic } from '../util/fs';
import { loadModelDir } from '../util/model-io';

/** The TF.js web format's counterpart of each ONNX weight format (TF.js has no per-channel int8: uint8 per tensor). */
const WEB_WEIGHTS: Record<WeightFormat, TfjsWeightFormat> = {
  float32: 'float32', float16: 'float16', int8: 'uint8', 'int8-dynamic': 'uint8',
};

interface ExportFlags {
  model: string;
  out?: string;
  fp16?: boolean;
  int8?: boolean;
  int8Dynamic?: boolean;
  web?: string;
  fold: boolean;
  verify: boolean;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

/** --web replaces its folder: it must not hold the model being exported (nor be the checkpoint around it). */
function checkWebDir(web: string, model: string, modelDir: string): void {
  assertOutputDir(web, '--web');
  const webAbs = path.resolve(web);
  for (const input of [path.resolve(model), path.resolve(modelDir)]) {
    const rel = path.relative(webAbs, input);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
      throw new FerError(`--web ${web} would replace the model being exported (${model}): pick a new folder for the web format.`, { file: web });
    }
  }
}

export async function runExport(flags: ExportFlags): Promise<void> {
  if (!flags.out && !flags.web) throw new FerError('Nothing to do: pass --out <file.onnx> and/or --web <dir>.');
  if ([flags.fp16, flags.int8, flags.int8Dynamic].filter(Boolean).length > 1) {
    throw new FerError('--fp16, --int8 and --int8-dynamic exclude each other: pick one.');
  }
  if (flags.out && !flags.out.toLowerCase().endsWith('.onnx')) {
    throw new FerError(`--out ${flags.out} should end in .onnx.`);
  }
  if (flags.model.toLowerCase().endsWith('.onnx') && fs.existsSync(flags.model)) {
    throw new FerError(
      `${flags.model} is already an ONNX file: fer export converts a TF.js checkpoint (a folder from \`fer train\`, ` +
        'or a model folder with model.json) to ONNX; pass that folder as --model.',
      { file: flags.model },
    );
  }
  const source = resolveModelSource(flags.model, 'tfjs');
  if (source.kind !== 'folder') throw new FerError(`${flags.model} is not a TF.js checkpoint folder.`);
  // Check where the outputs go before the (slow) load and conversion.
  if (flags.out) assertOutputFile(flags.out, '--out');
  if (flags.web) checkWebDir(flags.web, flags.model, source.dir);
  await initBackend();
  const { model, meta, quantized, weightBytes } = await loadModelDir(source.dir);
  try {
    const weights: WeightFormat = flags.fp16 ? 'float16' : flags.int8 ? 'int8' : flags.int8Dynamic ? 'int8-dynamic' : 'float32';
    console.log(`Model ${source.dir}: ${meta.arch}, ${model.countParams().toLocaleString('en')} parameters`);
    if (quantized.length > 0) {
      console.log(`Note: ${source.dir} stores its weights as ${quantized.join('/')}; they are exported as decoded, so the ` +
        'rounding stays (and adds up if quantized again): export the full-precision folder it was made from when you have it.');
    }
    if (flags.out) {
      const bytes = exportOnnx(model, {
        weights, foldBatchNorm: flags.fold, arch: meta.arch, classes: meta.classes, preprocess: meta.preprocess,
      });
      if (flags.verify) {
        const diff = await compareOnnxToTfjs(model, bytes, meta.classes);
        console.log(`Check on 16 random crops: max |p_onnx - p_tfjs| = ${diff.toExponential(2)}`);
        if (weights === 'float32' && !(diff < 1e-4)) {
          throw new FerError(`The ONNX export of ${source.dir} disagrees with TF.js (max diff ${diff}); not written.`);
        }
      }
      writeFileAtomic(flags.out, bytes);
      console.log(`Wrote ${flags.out}: ${formatBytes(bytes.length)} (${weights} weights${flags.fold ? ', batch norm folded' : ''}); ` +
        `the TF.js weights are ${formatBytes(weightBytes)}`);
    }
    if (flags.web) {
      const webWeights = WEB_WEIGHTS[weights];
      const result = await exportWeb(model, flags.web, meta, { weights: webWeights });
      console.log(`Wrote ${result.dir}: ${result.files.join(', ')}; weights ${formatBytes(result.weightBytes)} (${webWeights})`);
    }
  } finally {
    model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export a checkpoint to ONNX (onnxruntime, other languages) and/or the TF.js web format')
    .requiredOption('--model <dir>', 'checkpoint folder from `fer train` (or a model folder / model.json)')
    .option('--out <file.onnx>', 'ONNX file to write')
    .option('--fp16', 'store weights as float16 (half the size; input/output stay float32); --web too')
    .option('--int8', 'store Conv/Dense weights as per-channel int8 (about a quarter of the size); --web: uint8 per tensor')
    .option('--int8-dynamic', 'int8 Conv/Dense weights run as integer ops, activations quantized at run time')
    .option('--web <dir>', 'also write the TF.js web format (model.json + weight shards) for browsers')
    .option('--no-fold', 'keep BatchNormalization nodes instead of folding them into the convolutions')
    .option('--no-verify', 'skip the TF.js vs onnxruntime check on random crops')
    .action(async (flags: ExportFlags) => runExport(flags));
}
