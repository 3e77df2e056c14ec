import * as fs from 'fs';
import * as path from 'path';
import { FerError } from '../errors';

/** stat, or undefined when nothing is there (also when a parent is a file: ENOTDIR). */
function statOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Check that `dir` can be an output folder before any work is done: it is a folder or does not exist yet, and no
 * part of its path is a file. `what` names it in the message (e.g. '--out').
 */
export function assertOutputDir(dir: string, what = 'output folder'): void {
  const abs = path.resolve(dir);
  const st = statOf(abs);
  if (st && !st.isDirectory()) {
    throw new FerError(`${what} ${dir} is a file, not a folder: pass a folder path (it is created if missing).`, { file: dir });
  }
  if (!st) {
    // The nearest existing ancestor must be a folder too (mkdir -p fails with EEXIST/ENOTDIR otherwise).
    let parent = path.dirname(abs);
    while (!statOf(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
    if (statOf(parent) && !statOf(parent)!.isDirectory()) {
      throw new FerError(`${what} ${dir} cannot be created: ${parent} is a file, not a folder.`, { file: dir });
    }
  }
}

/** Check that `file` can be written as a file: not an existing folder, and its folder can exist. */
export function assertOutputFile(file: string, what = 'output file'): void {
  if (statOf(path.resolve(file))?.isDirectory()) {
    throw new FerError(`${what} ${file} is a folder: pass a file path.`, { file });
  }
  assertOutputDir(path.dirname(path.resolve(file)), `the folder of ${what}`);
}

/** Write a file atomically: write to a temp name in the same folder, then rename (never half-written). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  assertOutputFile(file, 'output file');
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Write JSON atomically, pretty-printed. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Replace a whole folder atomically: `fill` writes into a fresh temp folder which then takes the place of `dir`
 * (the old one is removed only after the new one is complete).
 */
export async function replaceDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void> | void): Promise<void> {
  const abs = path.resolve(dir);
  // Never replace a file by a folder: that would silently delete it (e.g. a mistyped --web model.onnx).
  assertOutputDir(abs, 'output folder');
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}-${Date.now()}`;
  const old = `${abs}.old-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  if (fs.existsSync(abs)) fs.renameSync(abs, old);
  fs.renameSync(tmp, abs);
  fs.rmSync(old, { recursive: true, force: true });
}

/** The repository root (holds package.json with the workspaces), found from this file's location. */
export function projectRoot(): string {
  // lib/dist/util/fs.js or lib/src/util/fs.ts -> ../../..
  return path.resolve(__dirname, '..', '..', '..');
}

/** A path inside the repository (data/sample, checkpoints/, assets/ ...). */
export function projectPath(...parts: string[]): string {
  return path.join(projectRoot(), ...parts);
}
