/**
 * Photos sorted into folders by expression (e.g. faces-london/{neutral,happy}/*.jpg): detection counts per photo
 * and, with a classifier, accuracy of the largest face's predicted expression against the folder name.
 */
import * as fs from 'fs';
import * as path from 'path';
import { emotionIndex, EMOTIONS } from '../emotions';
import { FerError, errorMessage } from '../errors';
import { loadImage } from '../faces/image';
import type { FaceDetector } from '../faces/detector';
import type { EmotionClassifier } from './classifier';
import { classifyFaces, PipelineOptions } from './pipeline';

export interface LabelledPhoto {
  file: string;
  label: string;
  faces: number;
  /** Prediction for the largest face (when a classifier was given and a face was found). */
  predicted?: string;
  /** Prediction restricted to the labels present in the folder (e.g. neutral vs happy). */
  predictedAmongLabels?: string;
  error?: string;
}

export interface LabelledSummary {
  photos: LabelledPhoto[];
  /** Photos with exactly one face. */
  exactlyOne: number;
  /** Accuracy over all classes (7-way), and restricted to the folder labels; undefined without a classifier. */
  accuracy?: number;
  accuracyAmongLabels?: number;
  /** Per label: [correct, total] for the 7-way prediction. */
  perLabel?: Record<string, [number, number]>;
}

/** Run on <root>/<emotion>/* (folder names matched to classes with emotionIndex: happy, Happiness, ...). */
export async function evaluateLabelledFolder(
  root: string,
  detector: FaceDetector,
  classifier?: EmotionClassifier,
  options: PipelineOptions = {},
): Promise<LabelledSummary> {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new FerError(`${root}: not a folder of <emotion>/ subfolders`, { file: root });
  const labels = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && emotionIndex(d.name) >= 0)
    .map((d) => d.name)
    .sort();
  if (labels.length === 0) throw new FerError(`${root}: no subfolder is named after an expression (${EMOTIONS.join(', ')})`, { file: root });
  const photos: LabelledPhoto[] = [];
  for (const folder of labels) {
    const label = EMOTIONS[emotionIndex(folder)];
    for (const name of fs.readdirSync(path.join(root, folder)).filter((n) => !n.startsWith('.')).sort()) {
      const file = path.join(root, folder, name);
      try {
        const image = await loadImage(file);
        const faces = await detector.detect(image);
        const photo: LabelledPhoto = { file, label, faces: faces.length };
        if (classifier && faces.length > 0) {
          const largest = faces.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
          const [r] = await classifyFaces(image, [largest], classifier, options);
          photo.predicted = r.emotion;
          const among = labels.map((l) => EMOTIONS[emotionIndex(l)]);
          photo.predictedAmongLabels = among.reduce((a, b) => ((r.scores[b] ?? 0) > (r.scores[a] ?? 0) ? b : a));
        }
        photos.push(photo);
      } catch (err) {
        photos.push({ file, label, faces: 0, error: errorMessage(err) });
      }
    }
  }
  const summary: LabelledSummary = { photos, exactlyOne: photos.filter((p) => p.faces === 1).length };
  if (classifier) {
    const scored = photos.filter((p) => p.predicted !== undefined);
    const n = Math.max(1, photos.length);
    summary.accuracy = scored.filter((p) => p.predicted === p.label).length / n;
    summary.accuracyAmongLabels = scored.filter((p) => p.predictedAmongLabels === p.label).length / n;
    summary.perLabel = {};
    for (const p of photos) {
      const cell = (summary.perLabel[p.label] ??= [0, 0]);
      cell[1]++;
      if (p.predicted === p.label) cell[0]++;
    }
  }
  return summary;
}
