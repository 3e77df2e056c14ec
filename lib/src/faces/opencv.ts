/**
 * Optional OpenCV bindings (@u4/opencv4nodejs): the Haar detector and the real-time webcam window need them.
 * They are loaded lazily so everything else works without them.
 */
import { FerError, errorMessage } from '../errors';

/** The small part of the opencv4nodejs API fer-lab uses (the package ships its own full typings). */
export interface CvRect {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface CvMat {
  rows: number;
  cols: number;
  getData(): Buffer;
  cvtColor(code: number): CvMat;
  flip(flipCode: number): CvMat;
  resize(rows: number, cols: number): CvMat;
  empty: boolean;
}
export interface CvCascade {
  detectMultiScale(img: CvMat, scaleFactor?: number, minNeighbors?: number, flags?: number, minSize?: unknown): { objects: CvRect[]; numDetections: number[] };
}
export interface CvVideoCapture {
  read(): CvMat;
  /** A capture property, e.g. CAP_PROP_FPS (0 when unknown). */
  get(property: number): number;
  release(): void;
}
export interface OpenCv {
  Mat: new (data: Buffer, rows: number, cols: number, type: number) => CvMat;
  Size: new (w: number, h: number) => unknown;
  CascadeClassifier: new (file: string) => CvCascade;
  VideoCapture: new (source: number | string) => CvVideoCapture;
  imshow(name: string, img: CvMat): void;
  waitKey(ms: number): number;
  destroyAllWindows(): void;
  /** WND_PROP_VISIBLE is < 1 once the user closed the window. */
  getWindowProperty(name: string, prop: number): number;
  WND_PROP_VISIBLE: number;
  CAP_PROP_FPS: number;
  HAAR_FRONTALFACE_DEFAULT: string;
  CV_8UC3: number;
  COLOR_RGB2GRAY: number;
  COLOR_BGR2RGB: number;
  COLOR_RGB2BGR: number;
}

export const OPENCV_INSTALL_HELP =
  'install the optional OpenCV bindings: `sudo apt-get install libopencv-dev` (Debian/Ubuntu; macOS: `brew install opencv`), ' +
  'then in the project folder `OPENCV4NODEJS_DISABLE_AUTOBUILD=1 npm install --no-save @u4/opencv4nodejs` (compiles C++ for 10-25 minutes; ' +
  'without internet access add `npm_config_nodedir=/usr` so node-gyp uses the system Node headers)';

let cached: OpenCv | undefined;

/** Load @u4/opencv4nodejs or throw a FerError saying how to install it; `purpose` says what needed it. */
export function requireOpenCv(purpose: string): OpenCv {
  if (cached) return cached;
  try {
    try {
      // Quiet the build helper's log lines before the bindings load.
      (require('@u4/opencv-build') as { Log?: { silence: boolean } }).Log!.silence = true;
    } catch {
      /* optional */
    }
    cached = require('@u4/opencv4nodejs') as OpenCv;
    return cached;
  } catch (err) {
    throw new FerError(`${purpose} needs @u4/opencv4nodejs, which is not installed or failed to load (${errorMessage(err).split('\n')[0]}); ${OPENCV_INSTALL_HELP}`, { cause: err });
  }
}

/** True when the OpenCV bindings load (never throws). */
export function hasOpenCv(): boolean {
  try {
    requireOpenCv('check');
    return true;
  } catch {
    return false;
  }
}
