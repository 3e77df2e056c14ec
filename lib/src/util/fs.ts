import * as fs from 'fs';
import * as path from 'path';

/** Write a file atomically: write to a temp name in the same folder, then rename (never half-written). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
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
