/**
 * Make data/sample: a seeded, stratified subset of Kaggle's FER2013 zip in the same layout, with the original JPEG
 * bytes. Run (after `npx tsc -p lib`):
 *   node -e "require('./lib/dist/data/make-sample').makeSample({ source: '/path/to/fer2013-archive.zip' })"
 */
import * as fs from 'fs';
import * as path from 'path';
import { EMOTIONS } from '../emotions';
import { replaceDirAtomic } from '../util/fs';
import { parseKagglePath } from './formats/kaggle';
import { ZipArchive } from './formats/zip';
import { mulberry32, shuffleInPlace } from './random';
import { sampleDataPath } from './sample';

export interface MakeSampleOptions {
  /** Kaggle FER2013 .zip (train/<class>/*.jpg, test/<class>/*.jpg). */
  source: string;
  /** Output folder (replaced atomically); default data/sample. */
  out?: string;
  perClassTrain?: number;
  perClassTest?: number;
  seed?: number;
}

export interface MakeSampleResult {
  out: string;
  counts: Record<string, Record<string, number>>;
  bytes: number;
}

export async function makeSample(options: MakeSampleOptions): Promise<MakeSampleResult> {
  const out = options.out ?? sampleDataPath();
  const per: Record<string, number> = { train: options.perClassTrain ?? 70, test: options.perClassTest ?? 20 };
  const random = mulberry32(options.seed ?? 2013);
  const zip = ZipArchive.open(options.source);
  const groups = new Map<string, string[]>();
  for (const name of [...zip.names].sort()) {
    const e = parseKagglePath(name);
    if (e.kind !== 'image' || !(e.split in per)) continue;
    const key = `${e.split}/${EMOTIONS[e.label]}`;
    const g = groups.get(key) ?? [];
    g.push(name);
    groups.set(key, g);
  }
  const chosen: string[] = [];
  const counts: Record<string, Record<string, number>> = { train: {}, test: {} };
  for (const split of Object.keys(per)) {
    for (const cls of EMOTIONS) {
      const names = shuffleInPlace([...(groups.get(`${split}/${cls}`) ?? [])], random).slice(0, per[split]);
      chosen.push(...names);
      counts[split][cls] = names.length;
    }
  }
  const wanted = new Set(chosen);
  const entries = zip.extract((n) => wanted.has(n));
  let bytes = 0;
  await replaceDirAtomic(out, (tmp) => {
    for (const name of chosen) {
      const parts = name.split('/');
      const rel = parts.slice(-3).join('/'); // drop any leading folder: <split>/<class>/<file>
      fs.mkdirSync(path.join(tmp, path.dirname(rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), entries[name]);
      bytes += entries[name].length;
    }
  });
  return { out, counts, bytes };
}
