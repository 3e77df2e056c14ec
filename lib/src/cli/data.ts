/** `fer data <path> [--json]`: detected format, counts per split and class, audit findings. */
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { auditDataset, formatSummary, loadDataset, LoadOptions, sampleDataPath, summarizeDataset } from '../data';
import { wholeNumber } from './args';

interface DataFlags {
  json?: boolean;
  format?: 'kaggle' | 'fer2013-csv' | 'ferplus';
  ferplusLabels?: 'majority' | 'soft';
  classes?: 7 | 8;
  cache: boolean;
  blankThreshold?: number;
  wrongSize?: 'resize' | 'skip';
}


function classCount(value: string): 7 | 8 {
  if (value !== '7' && value !== '8') throw new InvalidArgumentError(`"${value}" must be 7 or 8.`);
  return Number(value) as 7 | 8;
}

/** A progress bar on stderr (never stdout, so --json output stays one clean object); silent when not a terminal. */
function progress(): { onProgress: NonNullable<LoadOptions['onProgress']>; stop: () => void } {
  const bar = new SingleBar(
    { stream: process.stderr, format: 'loading ({phase}) [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  let started = false;
  let phase = '';
  return {
    onProgress: (p, done, total) => {
      if (!started) {
        bar.start(total, done, { phase: p });
        started = true;
      } else if (p !== phase) bar.setTotal(total);
      phase = p;
      bar.update(done, { phase: p });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

export async function runData(source: string, flags: DataFlags): Promise<void> {
  const bar = progress();
  let ds;
  try {
    ds = await loadDataset(source, {
      format: flags.format, ferplusLabels: flags.ferplusLabels, ferplusClasses: flags.classes, cache: flags.cache,
      wrongSize: flags.wrongSize, onProgress: bar.onProgress,
    });
  } finally {
    bar.stop();
  }
  const report = auditDataset(ds, { blankThreshold: flags.blankThreshold });
  const summary = summarizeDataset(ds, report);
  if (flags.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stdout.write(formatSummary(ds, summary) + '\n');
}

export function register(program: Command): void {
  program
    .command('data')
    .description('summarise a dataset: detected format, images per split and class, audit (duplicates, blank, unreadable)')
    .addArgument(new Argument('[path]', 'Kaggle FER2013 .zip or folder, fer2013.csv, or FER+ folders/.zip').default(sampleDataPath(), 'data/sample (the shipped subset)'))
    .option('--json', 'print exactly one JSON object {format, splits, audit} on stdout')
    .addOption(new Option('--format <format>', 'skip detection').choices(['kaggle', 'fer2013-csv', 'ferplus']))
    .addOption(new Option('--ferplus-labels <mode>', 'FER+ labels: majority vote or soft vote distributions').choices(['majority', 'soft']).default('majority'))
    .addOption(new Option('--classes <n>', 'FER+ classes: 7 (contempt dropped) or 8').choices(['7', '8']).default(7).argParser(classCount))
    .addOption(new Option('--wrong-size <policy>', 'an image that is not 48x48: resize it (warn) or skip it').choices(['resize', 'skip']).default('resize'))
    .option('--blank-threshold <n>', 'an image with max-min pixel value below n counts as blank', wholeNumber, 8)
    .option('--no-cache', 'read the source again instead of the dataset cache')
    .addHelpText('after', '\nExamples:\n  fer data                      # the shipped sample (data/sample)\n  fer data ~/Downloads/archive.zip --json\n  fer data fer2013.csv\n  fer data FERPlus/ --ferplus-labels soft --classes 8')
    .action(async (source: string, flags: DataFlags) => {
      await runData(source, flags);
    });
}
