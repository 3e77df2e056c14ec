/** Shared fixtures for the faces/apps tests: demo photo paths, a deterministic fake classifier, temp folders. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EMOTIONS } from '../../lib/src/emotions';
import type { EmotionClassifier } from '../../lib/src/apps/classifier';
import { projectPath } from '../../lib/src/util/fs';

export const DEMO_DIR = projectPath('assets', 'demo');
export const DEMO_PHOTOS = ['022_happy.jpg', '034_happy.jpg', '034_neutral.jpg', '061_happy.jpg', '061_neutral.jpg', '140_neutral.jpg'].map((f) =>
  path.join(DEMO_DIR, f),
);
export const GROUP_PHOTO = path.join(DEMO_DIR, 'group.jpg');

/** Says "happy" for bright crops and "neutral" for dark ones; records every batch it saw. */
export function fakeClassifier(): EmotionClassifier & { batches: number[] } {
  const batches: number[] = [];
  return {
    classes: EMOTIONS,
    batches,
    async predict(pixels: Uint8Array): Promise<Float32Array> {
      const n = pixels.length / 2304;
      batches.push(n);
      const out = new Float32Array(n * 7);
      for (let i = 0; i < n; i++) {
        let mean = 0;
        for (let j = 0; j < 2304; j++) mean += pixels[i * 2304 + j];
        mean /= 2304 * 255;
        const top = mean > 0.45 ? 3 : 4;
        for (let c = 0; c < 7; c++) out[i * 7 + c] = c === top ? 0.7 : 0.05;
      }
      return out;
    },
  };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `fer-${prefix}-`));
}
