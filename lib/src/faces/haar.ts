/** Haar cascade face detection through the optional @u4/opencv4nodejs (the original project's method). */
import * as fs from 'fs';
import { FerError } from '../errors';
import type { Face, FaceDetector } from './detector';
import { CvCascade, CvRect, OpenCv, requireOpenCv } from './opencv';
import type { RgbImage } from './types';

export interface HaarOptions {
  /** Cascade XML; default OpenCV's haarcascade_frontalface_default.xml. */
  cascadePath?: string;
  /** detectMultiScale scale step, default 1.1. */
  scaleFactor?: number;
  /** Neighbouring detections needed to keep a box, default 5 (higher = fewer false positives). */
  minNeighbors?: number;
  /** Smallest face side in pixels of the input image, default 30. */
  minSize?: number;
  /** Larger images are shrunk so their long side is this many pixels before detection (speed; faces under ~24 px at that scale are missed), default 1280. */
  maxSide?: number;
}

export const DEFAULT_HAAR: Required<Omit<HaarOptions, 'cascadePath'>> = { scaleFactor: 1.1, minNeighbors: 5, minSize: 30, maxSide: 1280 };

/**
 * Haar gives no probability; the number of neighbouring raw detections merged into a box is its only
 * confidence signal. n / (n + minNeighbors) maps it into [0, 1): 0.5 at the acceptance threshold, rising with support.
 */
export function haarScore(neighbours: number, minNeighbors: number): number {
  const n = Math.max(0, neighbours);
  return n / (n + Math.max(1, minNeighbors));
}

/** Boxes found on the shrunk image (scale = detection size / original size) back in original pixels, clipped. */
export function mapHaarBoxes(objects: readonly CvRect[], numDetections: readonly number[], scale: number, image: { width: number; height: number }, minNeighbors: number): Face[] {
  const faces = objects.map((r, i) => {
    const x = Math.max(0, r.x / scale);
    const y = Math.max(0, r.y / scale);
    return {
      box: { x, y, width: Math.min(image.width, (r.x + r.width) / scale) - x, height: Math.min(image.height, (r.y + r.height) / scale) - y },
      score: haarScore(numDetections[i] ?? 0, minNeighbors),
    };
  });
  // The FaceDetector contract: highest score first (ties: the larger box first).
  return faces.sort((a, b) => b.score - a.score || b.box.width * b.box.height - a.box.width * a.box.height);
}

/** Create the detector; `cv` replaces the @u4/opencv4nodejs bindings (tests inject a fake one). */
export async function createHaar(options: HaarOptions = {}, cv?: OpenCv): Promise<FaceDetector> {
  const ocv = cv ?? requireOpenCv("The 'haar' face detector");
  const cascadePath = options.cascadePath ?? ocv.HAAR_FRONTALFACE_DEFAULT;
  if (!fs.existsSync(cascadePath)) {
    throw new FerError(
      `haar: cascade file ${cascadePath} not found (Debian: \`apt-get install opencv-data\` puts them in /usr/share/opencv4/haarcascades; pass its path as cascadePath)`,
      { file: cascadePath },
    );
  }
  const { scaleFactor, minNeighbors, minSize, maxSide } = { ...DEFAULT_HAAR, ...options };
  let cascade: CvCascade;
  try {
    cascade = new ocv.CascadeClassifier(cascadePath);
  } catch (err) {
    throw new FerError(`haar: OpenCV could not load the cascade ${cascadePath} (${String(err)}); pass a Haar cascade XML file`, { file: cascadePath });
  }
  return {
    name: 'haar',
    async detect(image: RgbImage): Promise<Face[]> {
      const scale = Math.min(1, maxSide / Math.max(image.width, image.height));
      const rgb = new ocv.Mat(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.height, image.width, ocv.CV_8UC3);
      let gray = rgb.cvtColor(ocv.COLOR_RGB2GRAY);
      if (scale < 1) gray = gray.resize(Math.max(1, Math.round(image.height * scale)), Math.max(1, Math.round(image.width * scale)));
      const side = Math.max(1, Math.round(minSize * scale));
      const { objects, numDetections } = cascade.detectMultiScale(gray, scaleFactor, minNeighbors, 0, new ocv.Size(side, side));
      return mapHaarBoxes(objects, numDetections, scale, image, minNeighbors);
    },
    dispose(): void {
      /* the cascade is freed by the garbage collector */
    },
  };
}
