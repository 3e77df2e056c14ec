/** Plain data types shared by every face detector, the cropper and the apps. */

/** An RGB image, 3 bytes per pixel, rows top to bottom, no padding. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** An axis-aligned box in pixels of the image it was found in. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface Face {
  box: Box;
  /** Detector confidence in [0, 1]. */
  score: number;
  /** Keypoints in pixels; when present the two eyes come first (BlazeFace: eyes, nose, mouth, two ear points). */
  landmarks?: Point[];
}
