/** The `fer` command: one subcommand per file in this folder; each file parses its flags and calls the lib. */
import { Command } from 'commander';
import { FerError } from '../errors';

type Register = (program: Command) => void;

/** Subcommand modules, in the order `fer --help` lists them. */
const SUBCOMMANDS: Array<() => Register> = [
  () => require('./data').register,
  () => require('./train').register,
  () => require('./evaluate').register,
  () => require('./export').register,
  () => require('./predict').register,
  () => require('./webcam').register,
  () => require('./serve').register,
  () => require('./demo').register,
];

export async function main(argv: string[]): Promise<void> {
  const program = new Command('fer')
    .description('fer-lab: facial expression recognition (train, evaluate, export, predict) on FER2013 and FER+')
    .showHelpAfterError()
    .version(require('../../package.json').version);
  for (const load of SUBCOMMANDS) load()(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof FerError) {
      console.error(`fer: ${err.message}`);
      process.exitCode = process.exitCode || 1;
      return;
    }
    throw err;
  }
}
