/** `fer serve`: HTTP server with POST /predict, POST /annotate and an upload page. */
import { Command, Option } from 'commander';
import { FerError } from '../errors';
import { DETECTOR_NAMES, DetectorName } from '../faces/detector';
import { openPipeline } from '../apps/pipeline';
import { createFerServer } from '../apps/server';
import { numberArg } from './args';
import { addDeviceOptions, DeviceFlags, deviceFromFlags, reportDevice } from './device';

interface ServeFlags extends DeviceFlags {
  port: number;
  host: string;
  model?: string;
  detector: DetectorName;
}

const port = numberArg({ integer: true, min: 0, max: 65535 });

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description('HTTP server: POST /predict (image bytes -> JSON), POST /annotate (-> JPEG), GET / upload page')
    .option('-p, --port <n>', 'port (0 = any free port)', port, 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('-m, --model <path>', 'model file or folder (default: the shipped model)')
    .addOption(new Option('-d, --detector <name>', 'face detector: blazeface or haar').choices(DETECTOR_NAMES).default('blazeface'));
  addDeviceOptions(command)
    .action(async (flags: ServeFlags) => {
      const pipeline = await openPipeline({ model: flags.model, detector: flags.detector, device: deviceFromFlags(flags) });
      reportDevice(pipeline);
      const server = createFerServer(pipeline);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(err.code === 'EADDRINUSE' ? new FerError(`port ${flags.port} is in use; pick another with --port`) : err),
        );
        server.listen(flags.port, flags.host, () => resolve());
      });
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : flags.port;
      console.log(`fer serve: http://${flags.host}:${actual}/ (POST /predict, POST /annotate; Ctrl-C stops)`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          server.close(() => resolve());
          server.closeAllConnections();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await pipeline.dispose();
    });
}
