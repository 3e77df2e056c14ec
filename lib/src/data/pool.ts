import * as fs from 'fs';
import * as path from 'path';

/** Run async jobs with at most `limit` in flight; results keep input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Recursively list files under `dir` as '/'-separated paths relative to it (symlinks followed, hidden skipped). */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (ent.name.startsWith('.')) continue;
      const child = rel ? `${rel}/${ent.name}` : ent.name;
      const isDir = ent.isDirectory() || (ent.isSymbolicLink() && fs.statSync(path.join(dir, child)).isDirectory());
      if (isDir) visit(child);
      else out.push(child);
    }
  };
  visit('');
  return out.sort();
}
