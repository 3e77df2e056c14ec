/** Pick the dataset format from a path: a Kaggle folder or .zip, a fer2013.csv, or FER+ folders or .zip. */
import * as fs from 'fs';
import * as path from 'path';
import { FerError } from '../errors';
import { isFer2013Csv } from './formats/csv';
import { ferplusFolders, findFerPlusLabelFiles } from './formats/ferplus';
import { isKaggleFolder, looksLikeKaggle } from './formats/kaggle';
import { ZipArchive } from './formats/zip';

/** What a path holds. `file` is what the reader opens (a folder given with one fer2013.csv inside -> that csv). */
export type DetectedLayout =
  | { format: 'kaggle-folder'; file: string }
  | { format: 'kaggle-zip'; file: string; zip: ZipArchive }
  | { format: 'fer2013-csv'; file: string }
  | { format: 'ferplus'; file: string; zip?: ZipArchive };

/** The layouts loadDataset accepts, for error messages. */
export const ACCEPTED_LAYOUTS =
  'accepted layouts: a Kaggle FER2013 folder or .zip with train/<class>/*.jpg and/or test/<class>/*.jpg; ' +
  'fer2013.csv (columns emotion,pixels,Usage); FER+ folders FER2013Train|FER2013Valid|FER2013Test/ each with ' +
  "Microsoft's label.csv, or their .zip";

export type FormatChoice = 'kaggle' | 'fer2013-csv' | 'ferplus';

function unknown(p: string, what: string): FerError {
  return new FerError(`${p}: ${what}; ${ACCEPTED_LAYOUTS}.`, { file: p });
}

/** Detect the layout of `p` (absolute or relative). `force` skips the guessing for that family. */
export function detectLayout(p: string, force?: FormatChoice): DetectedLayout {
  if (!fs.existsSync(p)) throw new FerError(`${p} does not exist; pass a FER2013 .zip, folder or fer2013.csv (${ACCEPTED_LAYOUTS}).`, { file: p });
  const stat = fs.statSync(p);
  if (stat.isDirectory()) {
    const entries = fs.readdirSync(p).filter((n) => !n.startsWith('.'));
    if (entries.length === 0) throw new FerError(`${p} is an empty folder; put a dataset there (${ACCEPTED_LAYOUTS}).`, { file: p });
    if (force === 'kaggle' || (!force && isKaggleFolder(p))) return { format: 'kaggle-folder', file: p };
    if (force === 'ferplus' || (!force && ferplusFolders(p).length > 0)) return { format: 'ferplus', file: p };
    const plusNoLabels = entries.filter((n) => /^fer2013(train|valid|test)$/i.test(n));
    if (plusNoLabels.length > 0) {
      throw new FerError(`${p}: ${plusNoLabels.join(', ')} has no label.csv; FER+ needs Microsoft's label.csv (from github.com/microsoft/FERPlus) in each FER2013* folder.`, { file: p });
    }
    const csvs = entries.filter((n) => n.toLowerCase().endsWith('.csv'));
    const fer = csvs.filter((n) => isFer2013Csv(path.join(p, n)));
    if (fer.length === 1 && (force === 'fer2013-csv' || !force)) return { format: 'fer2013-csv', file: path.join(p, fer[0]) };
    throw unknown(p, `found ${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''} but no known dataset layout`);
  }
  const lower = p.toLowerCase();
  if (lower.endsWith('.zip')) {
    const zip = ZipArchive.open(p);
    if (zip.names.length === 0) throw new FerError(`${p} is an empty .zip; download the dataset again.`, { file: p });
    if (force === 'ferplus' || (!force && findFerPlusLabelFiles(zip.names).length > 0)) return { format: 'ferplus', file: p, zip };
    if (force === 'kaggle' || (!force && looksLikeKaggle(zip.names))) return { format: 'kaggle-zip', file: p, zip };
    throw unknown(p, `the zip holds ${zip.names.slice(0, 3).join(', ')}${zip.names.length > 3 ? ', ...' : ''} but no known dataset layout`);
  }
  if (force === 'fer2013-csv' || isFer2013Csv(p)) return { format: 'fer2013-csv', file: p };
  if (lower.endsWith('.csv')) throw unknown(p, 'this CSV has no "emotion,pixels" header');
  throw unknown(p, 'this file is neither a .zip nor a fer2013.csv');
}
