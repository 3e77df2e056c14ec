/**
 * The TF.js backend, chosen at run time: the fastest one installed wins.
 *   tensorflow (from @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, optional installs that need libtensorflow)
 *   -> wasm (@tensorflow/tfjs-backend-wasm, always installed; fer-lab adds the conv gradient kernels it lacks)
 *   -> cpu (pure JS, 15-300x slower: tests only, or when asked for).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FerError, errorMessage } from '../errors';
import { registerWasmTrainingKernels } from './wasm-kernels';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export interface BackendInfo {
  name: BackendName;
  /** The npm package that provides it. */
  package: string;
  /** Why faster backends were not used (one line each). */
  skipped: string[];
}

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

/**
 * The native binding tfjs-node(-gpu) loads, built by its install script (which downloads libtensorflow). Checked
 * before require(): requiring a package whose binding is missing registers its kernels, then fails, and the next
 * candidate prints a "kernel already registered" warning per kernel.
 */
function nativeBindingProblem(pkg: string): string | undefined {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return `${pkg}: not installed`;
  }
  const lib = path.join(dir, 'lib');
  const built = fs.existsSync(lib) && fs.readdirSync(lib).some((d) => d.startsWith('napi-v') && fs.existsSync(path.join(lib, d, 'tfjs_binding.node')));
  return built ? undefined : `${pkg}: installed without its native binding (its install script could not download libtensorflow)`;
}

function tryRequire(pkg: string): string | undefined {
  const missing = pkg.startsWith('@tensorflow/tfjs-node') ? nativeBindingProblem(pkg) : undefined;
  if (missing) return missing;
  try {
    require(pkg);
    return undefined;
  } catch (err) {
    return `${pkg}: ${errorMessage(err).split('\n')[0]}`;
  }
}

/** The package that runs TF.js on a CUDA GPU; `initBackend(choice, { gpu: false })` never loads it. */
export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';

export interface InitBackendOptions {
  /** false: CPU only (skip @tensorflow/tfjs-node-gpu, e.g. for `--cpu`). Default true. */
  gpu?: boolean;
}

async function activate(choice: BackendChoice, allowGpu: boolean): Promise<BackendInfo> {
  const skipped: string[] = [];
  const wantNative = choice === 'auto' || choice === 'tensorflow';
  if (wantNative) {
    for (const pkg of allowGpu ? [GPU_PACKAGE, '@tensorflow/tfjs-node'] : ['@tensorflow/tfjs-node']) {
      const why = tryRequire(pkg);
      if (why === undefined && (await tf.setBackend('tensorflow'))) {
        return { name: 'tensorflow', package: pkg, skipped };
      }
      skipped.push(why ?? `${pkg}: backend did not initialise`);
    }
    if (choice === 'tensorflow') {
      throw new FerError(
        `The tensorflow backend is not available (${skipped.join('; ')}). ` +
          'Install it with `npm install @tensorflow/tfjs-node` (or `@tensorflow/tfjs-node-gpu` with CUDA), ' +
          'which needs internet access to fetch libtensorflow, or use --backend wasm.',
      );
    }
  }
  if (choice === 'auto' || choice === 'wasm') {
    try {
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(dist + path.sep);
      registerWasmTrainingKernels();
      if (await tf.setBackend('wasm')) return { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', skipped };
      skipped.push('@tensorflow/tfjs-backend-wasm: backend did not initialise');
    } catch (err) {
      skipped.push(`@tensorflow/tfjs-backend-wasm: ${errorMessage(err).split('\n')[0]}`);
    }
    if (choice === 'wasm') throw new FerError(`The wasm backend is not available: ${skipped.join('; ')}`);
  }
  require('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  return { name: 'cpu', package: '@tensorflow/tfjs-backend-cpu', skipped };
}

/**
 * Make sure a backend is active and return which one. Safe to call many times: the first choice sticks unless a
 * different explicit backend is asked for. `FER_BACKEND` (auto|tensorflow|wasm|cpu) overrides the default.
 */
export async function initBackend(choice?: BackendChoice, options: InitBackendOptions = {}): Promise<BackendInfo> {
  const wanted: BackendChoice = choice ?? ((process.env.FER_BACKEND as BackendChoice | undefined) || 'auto');
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(wanted)) {
    throw new FerError(`Unknown backend "${wanted}": use auto, tensorflow, wasm or cpu.`);
  }
  const allowGpu = options.gpu ?? true;
  if (!allowGpu && pending) {
    // Let a running activation finish, then check what it picked.
    await pending.catch(() => undefined);
    return initBackend(choice, options);
  }
  if (!allowGpu && current?.package === GPU_PACKAGE) {
    // tfjs-node and tfjs-node-gpu register the same 'tensorflow' backend: one process cannot switch between them.
    throw new FerError(`TF.js already runs on ${GPU_PACKAGE} in this process; choose the CPU before anything loads a model (--cpu).`);
  }
  if (current && (wanted === 'auto' || wanted === current.name)) return current;
  if (pending && wanted === 'auto') return pending;
  pending = activate(wanted, allowGpu).then((info) => {
    current = info;
    return info;
  });
  try {
    return await pending;
  } finally {
    pending = undefined;
  }
}

/** The active backend, if initBackend has run. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** One line for logs: "TF.js backend: wasm (@tensorflow/tfjs-backend-wasm)". */
export function describeBackend(info: BackendInfo): string {
  return `TF.js backend: ${info.name} (${info.package})`;
}

export { tf };
