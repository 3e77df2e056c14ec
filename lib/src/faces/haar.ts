/** Haar cascade face detection through the optional @u4/opencv4nodejs (the original project's method). */
import * as fs from 'fs';
import { FerError } from '../errors';
import type { Face, FaceDetector } from './detector';
import { requireOpenCv } from './opencv';
import type { RgbImage } from './types';

export interface HaarOptions {
  /** Cascade XML; default OpenCV's haarcascade_frontalface_default.xml. */
  cascadePath?: string;
  /** detectMultiScale scale step, default 1.1. */
  scaleFactor?: number;
  /** Neighbouring detections needed to keep a box, default 5 (higher = fewer false positives). */
  minNeighbors?: number;
  /** Smallest face side in pixels, default 30. */
  minSize?: number;
}

export async function createHaar(options: HaarOptions = {}): Promise<FaceDetector> {
  const cv = requireOpenCv("The 'haar' face detector");
  const cascadePath = options.cascadePath ?? cv.HAAR_FRONTALFACE_DEFAULT;
  if (options.cascadePath && !fs.existsSync(options.cascadePath)) {
    throw new FerError(`haar: cascade file ${options.cascadePath} not found (Debian: apt-get install opencv-data puts them in /usr/share/opencv4/haarcascades)`, { file: options.cascadePath });
  }
  const cascade = new cv.CascadeClassifier(cascadePath);
  const scaleFactor = options.scaleFactor ?? 1.1;
  const minNeighbors = options.minNeighbors ?? 5;
  const minSide = options.minSize ?? 30;
  return {
    name: 'haar',
    async detect(image: RgbImage): Promise<Face[]> {
      const mat = new cv.Mat(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.height, image.width, cv.CV_8UC3);
      const gray = mat.cvtColor(cv.COLOR_RGB2GRAY);
      const { objects, numDetections } = cascade.detectMultiScale(gray, scaleFactor, minNeighbors, 0, new cv.Size(minSide, minSide));
      // Haar gives no probability; the neighbour count is the only confidence signal, mapped into [0, 1).
      return objects.map((r, i) => ({
        box: { x: r.x, y: r.y, width: r.width, height: r.height },
        score: numDetections[i] / (numDetections[i] + minNeighbors),
      }));
    },
    dispose(): void {
      /* the cascade is freed by the garbage collector */
    },
  };
}
