/**
 * `fer demo` (what `npm start` runs): the whole pipeline on the embedded sample, each step through the same
 * subcommand a user would type, so the demo cannot drift from the CLI.
 *   1. fer data      summary and audit of data/sample
 *   2. fer train     a short training run on the sample
 *   3. fer evaluate  that model on the sample's test split (report + charts)
 *   4. fer export    that model to ONNX
 *   5. fer predict   the shipped model on the demo photos in assets/demo (face detection, annotated copies)
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { defaultModelPath } from '../inference';
import { projectPath } from '../util/fs';

type Register = (program: Command) => void;

export interface DemoOptions {
  out: string;
  epochs: number;
  arch: string;
}

async function runStep(title: string, register: Register, args: string[]): Promise<void> {
  console.log(`\n=== ${title}\n$ fer ${args.join(' ')}`);
  const program = new Command('fer').exitOverride();
  register(program);
  await program.parseAsync(args, { from: 'user' });
  if (process.exitCode) throw new Error(`step "${title}" failed (fer ${args.join(' ')})`);
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const sample = path.relative(process.cwd(), projectPath('data', 'sample')) || '.';
  const out = options.out;
  const run = path.join(out, 'train');
  await runStep('1/5 The data: data/sample (a small stratified FER2013 subset)', require('./data').register, ['data', sample]);
  await runStep(`2/5 Train ${options.arch} for ${options.epochs} epoch(s) on the sample`, require('./train').register, [
    'train', '--data', sample, '--arch', options.arch, '--epochs', String(options.epochs), '--out', run, '--overwrite',
  ]);
  await runStep('3/5 Evaluate it on the sample test split', require('./evaluate').register, [
    'evaluate', '--model', run, '--data', sample, '--split', 'test', '--tta', '--out', path.join(out, 'evaluate'),
  ]);
  await runStep('4/5 Export it to ONNX', require('./export').register, [
    'export', '--model', run, '--out', path.join(out, 'model.onnx'),
  ]);
  const shipped = defaultModelPath();
  const hasShipped = fs.existsSync(shipped);
  await runStep(
    `5/5 Faces in photos (assets/demo) with ${hasShipped ? 'the shipped model' : 'the model just trained'}`,
    require('./predict').register,
    ['predict', projectPath('assets', 'demo'), '--model', hasShipped ? shipped : run, '--out', path.join(out, 'predict')],
  );
  console.log(`\nDone. Outputs in ${out}/:`);
  console.log(`  train/       checkpoint (best/, last/), history.json, history.csv`);
  console.log(`  evaluate/    report.txt, metrics.json, confusion_matrix.png, per_class.png, mistakes.png`);
  console.log(`  model.onnx   the trained model for onnxruntime`);
  console.log(`  predict/     annotated photos, predictions.json/.csv, summary.html`);
  if (!hasShipped) console.log('Note: no shipped model in checkpoints/fer-lab-default; step 5 used the demo model.');
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('the whole pipeline on the embedded sample: data summary, short training, evaluation, export, predict')
    .option('--out <dir>', 'output folder', path.join('results', 'demo'))
    .option('--epochs <n>', 'training epochs on the sample', '8')
    .option('--arch <name>', 'architecture for the short run', 'vgg-small')
    .action(async (o: { out: string; epochs: string; arch: string }) => {
      await runDemo({ out: o.out, epochs: Number(o.epochs), arch: o.arch });
    });
}
