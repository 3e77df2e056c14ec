/** The face detector interface and the factory that picks a backend by name (one file per backend). */
import { FerError } from '../errors';
import type { BlazeFaceOptions } from './blazeface';
import type { HaarOptions } from './haar';
import type { Face, RgbImage } from './types';

export type { Face, RgbImage, Box, Point } from './types';

export const DETECTOR_NAMES = ['blazeface', 'haar'] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

export interface DetectorOptionsByName {
  blazeface: BlazeFaceOptions;
  haar: HaarOptions;
}
export type DetectorOptions = BlazeFaceOptions & HaarOptions;

export interface FaceDetector {
  readonly name: DetectorName;
  /** Faces in the image, highest score first, boxes in image pixels. */
  detect(image: RgbImage): Promise<Face[]>;
  dispose(): void;
}

/** Create a detector: 'blazeface' (default, ships in assets/models) or 'haar' (needs @u4/opencv4nodejs). */
export async function createDetector<N extends DetectorName = 'blazeface'>(
  name: N = 'blazeface' as N,
  options: DetectorOptionsByName[N] = {},
): Promise<FaceDetector> {
  switch (name) {
    case 'blazeface':
      return (await import('./blazeface')).createBlazeFace(options as BlazeFaceOptions);
    case 'haar':
      return (await import('./haar')).createHaar(options as HaarOptions);
    default:
      throw new FerError(`unknown face detector '${String(name)}' (choose one of: ${DETECTOR_NAMES.join(', ')})`);
  }
}

export function isDetectorName(name: string): name is DetectorName {
  return (DETECTOR_NAMES as readonly string[]).includes(name);
}
