/** Face crops for the classifier: square box with a margin, optional eye alignment, 48x48 grayscale uint8. */
import { IMAGE_SIZE } from '../emotions';
import type { Face, Point, RgbImage } from './types';

export interface CropOptions {
  /** Extra border on each side as a fraction of the box side, default 0.1. */
  margin?: number;
  /** Rotate so the eyes are level when the face has landmarks (default true). */
  align?: boolean;
  /** Output side, default 48 (the models' input). */
  size?: number;
  /** Largest correction in degrees; beyond it the face is left as is (bad landmarks), default 45. */
  maxAngle?: number;
}

export const DEFAULT_CROP: Required<CropOptions> = { margin: 0.1, align: true, size: IMAGE_SIZE, maxAngle: 45 };

/** Rotation (radians) that levels the eye line, 0 without landmarks. */
export function eyeAngle(landmarks: Point[] | undefined): number {
  if (!landmarks || landmarks.length < 2) return 0;
  const [a, b] = landmarks[0].x <= landmarks[1].x ? [landmarks[0], landmarks[1]] : [landmarks[1], landmarks[0]];
  return Math.atan2(b.y - a.y, b.x - a.x);
}

/** One face -> size*size grayscale bytes (luma 0.299 R + 0.587 G + 0.114 B), sampled with edge clamping. */
export function cropFace(image: RgbImage, face: Face, options: CropOptions = {}): Uint8Array {
  const o = { ...DEFAULT_CROP, ...options };
  const out = new Uint8Array(o.size * o.size);
  cropInto(image, face, o, out, 0);
  return out;
}

/** Several faces -> n*size*size bytes back to back (the Predictor's input layout). */
export function cropFaces(image: RgbImage, faces: readonly Face[], options: CropOptions = {}): Uint8Array {
  const o = { ...DEFAULT_CROP, ...options };
  const out = new Uint8Array(faces.length * o.size * o.size);
  faces.forEach((f, i) => cropInto(image, f, o, out, i * o.size * o.size));
  return out;
}

function cropInto(image: RgbImage, face: Face, o: Required<CropOptions>, out: Uint8Array, offset: number): void {
  const { data, width: W, height: H } = image;
  const { box } = face;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const side = Math.max(box.width, box.height) * (1 + 2 * o.margin);
  let angle = o.align ? eyeAngle(face.landmarks) : 0;
  if (Math.abs(angle) > (o.maxAngle * Math.PI) / 180) angle = 0;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const size = o.size;
  // Supersample when shrinking a big face so the 48x48 result is not aliased.
  const k = Math.min(4, Math.max(1, Math.ceil(side / size)));
  const step = side / size / k;
  const luma = (x: number, y: number): number => {
    const xi = Math.min(W - 1, Math.max(0, x));
    const yi = Math.min(H - 1, Math.max(0, y));
    const p = (yi * W + xi) * 3;
    return 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
  };
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      let acc = 0;
      for (let j = 0; j < k; j++) {
        const dy = (v * k + j + 0.5) * step - side / 2;
        for (let i = 0; i < k; i++) {
          const dx = (u * k + i + 0.5) * step - side / 2;
          const sx = cx + dx * cos - dy * sin - 0.5;
          const sy = cy + dx * sin + dy * cos - 0.5;
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const fx = sx - x0;
          const fy = sy - y0;
          acc +=
            (1 - fy) * ((1 - fx) * luma(x0, y0) + fx * luma(x0 + 1, y0)) +
            fy * ((1 - fx) * luma(x0, y0 + 1) + fx * luma(x0 + 1, y0 + 1));
        }
      }
      out[offset + v * size + u] = Math.round(acc / (k * k));
    }
  }
}
