/** `--device auto|cpu|gpu` and its shorthand `--cpu`, shared by `fer predict`, `fer webcam` and `fer serve`. */
import { Command, Option } from 'commander';
import type { FacePipeline } from '../apps/pipeline';
import { Device, DEVICES, describeDevice } from '../inference/device';

export interface DeviceFlags {
  device?: Device;
  cpu?: boolean;
}

/** Add --device and --cpu to a subcommand. */
export function addDeviceOptions(command: Command): Command {
  return command
    .addOption(new Option('--device <name>', 'inference device for the emotion model: auto (a GPU when usable), cpu or gpu').choices(DEVICES).default('auto'))
    .addOption(new Option('--cpu', 'run the emotion model on the CPU even when a GPU is usable (same as --device cpu)').conflicts('device'));
}

export function deviceFromFlags(flags: DeviceFlags): Device {
  return flags.cpu ? 'cpu' : (flags.device ?? 'auto');
}

/** Print once, on stderr, where the emotion model runs (stdout stays clean for --json). */
export function reportDevice(pipeline: Pick<FacePipeline, 'device'>, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  if (pipeline.device) write(`fer: ${describeDevice(pipeline.device)}`);
}
