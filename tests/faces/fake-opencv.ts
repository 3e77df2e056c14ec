/**
 * A small stand-in for @u4/opencv4nodejs (the part fer-lab uses), so the Haar wrapper and the live window are
 * tested without OpenCV installed. Mats hold real pixels; the capture plays given frames; keys come from a queue.
 */
import type { CvCascade, CvMat, CvRect, CvVideoCapture, OpenCv } from '../../lib/src/faces/opencv';
import type { RgbImage } from '../../lib/src/faces/types';

const CODES = { COLOR_RGB2GRAY: 7, COLOR_BGR2RGB: 4, COLOR_RGB2BGR: 4, CV_8UC3: 16, CAP_PROP_FPS: 5, WND_PROP_VISIBLE: 4 };

export class FakeMat implements CvMat {
  constructor(readonly data: Buffer, readonly rows: number, readonly cols: number, readonly channels = 3) {}
  get empty(): boolean {
    return this.rows === 0 || this.cols === 0;
  }
  getData(): Buffer {
    return Buffer.from(this.data);
  }
  cvtColor(code: number): FakeMat {
    const n = this.rows * this.cols;
    if (code === CODES.COLOR_RGB2GRAY) {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) out[i] = Math.round((this.data[i * 3] + this.data[i * 3 + 1] + this.data[i * 3 + 2]) / 3);
      return new FakeMat(out, this.rows, this.cols, 1);
    }
    if (code === CODES.COLOR_BGR2RGB || code === CODES.COLOR_RGB2BGR) {
      const out = Buffer.alloc(n * 3);
      for (let i = 0; i < n; i++) {
        out[i * 3] = this.data[i * 3 + 2];
        out[i * 3 + 1] = this.data[i * 3 + 1];
        out[i * 3 + 2] = this.data[i * 3];
      }
      return new FakeMat(out, this.rows, this.cols, 3);
    }
    throw new Error(`fake cvtColor: unknown code ${code}`);
  }
  flip(): FakeMat {
    throw new Error('fake flip: not used by fer-lab');
  }
  /** Nearest-neighbour resize. */
  resize(rows: number, cols: number): FakeMat {
    const c = this.channels;
    const out = Buffer.alloc(rows * cols * c);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        const sy = Math.min(this.rows - 1, Math.floor((y * this.rows) / rows));
        const sx = Math.min(this.cols - 1, Math.floor((x * this.cols) / cols));
        for (let k = 0; k < c; k++) out[(y * cols + x) * c + k] = this.data[(sy * this.cols + sx) * c + k];
      }
    }
    return new FakeMat(out, rows, cols, c);
  }
}

export interface FakeOpenCvOptions {
  /** Frames the capture plays (RGB; the capture hands them out as BGR like OpenCV). */
  frames?: RgbImage[];
  /** waitKey results, one per call (characters or codes); -1 once the queue is empty. */
  keys?: Array<string | number>;
  /** What the cascade finds on a gray image. */
  detect?: (gray: FakeMat, scaleFactor: number, minNeighbors: number, minSize: { width: number; height: number }) => { objects: CvRect[]; numDetections: number[] };
  /** getWindowProperty(WND_PROP_VISIBLE) answers 0 from this imshow count on (the user closed the window). */
  closeAfterShown?: number;
  fps?: number;
  cascadeFile?: string;
}

export interface FakeOpenCv extends OpenCv {
  calls: {
    opened: Array<number | string>;
    released: number;
    destroyed: number;
    shown: FakeMat[];
    waitKeys: number;
    cascades: string[];
    detectSizes: Array<[number, number]>;
  };
}

export function fakeOpenCv(options: FakeOpenCvOptions = {}): FakeOpenCv {
  const calls: FakeOpenCv['calls'] = { opened: [], released: 0, destroyed: 0, shown: [], waitKeys: 0, cascades: [], detectSizes: [] };
  const keys = [...(options.keys ?? [])];
  const frames = options.frames ?? [];

  class Capture implements CvVideoCapture {
    private next = 0;
    constructor(source: number | string) {
      calls.opened.push(source);
    }
    read(): FakeMat {
      const f = frames[this.next++];
      if (!f) return new FakeMat(Buffer.alloc(0), 0, 0);
      return new FakeMat(Buffer.from(f.data), f.height, f.width).cvtColor(CODES.COLOR_RGB2BGR);
    }
    get(property: number): number {
      return property === CODES.CAP_PROP_FPS ? (options.fps ?? 0) : 0;
    }
    release(): void {
      calls.released++;
    }
  }

  class Cascade implements CvCascade {
    constructor(file: string) {
      calls.cascades.push(file);
    }
    detectMultiScale(img: CvMat, scaleFactor = 1.1, minNeighbors = 3, _flags?: number, minSize?: unknown): { objects: CvRect[]; numDetections: number[] } {
      calls.detectSizes.push([img.cols, img.rows]);
      return options.detect ? options.detect(img as FakeMat, scaleFactor, minNeighbors, minSize as { width: number; height: number }) : { objects: [], numDetections: [] };
    }
  }

  return {
    calls,
    Mat: FakeMat as unknown as OpenCv['Mat'],
    Size: class {
      constructor(readonly width: number, readonly height: number) {}
    },
    CascadeClassifier: Cascade,
    VideoCapture: Capture,
    imshow(_name: string, img: CvMat): void {
      calls.shown.push(img as FakeMat);
    },
    waitKey(): number {
      calls.waitKeys++;
      const k = keys.shift();
      if (k === undefined) return -1;
      return typeof k === 'string' ? k.charCodeAt(0) : k;
    },
    destroyAllWindows(): void {
      calls.destroyed++;
    },
    getWindowProperty(): number {
      return options.closeAfterShown !== undefined && calls.shown.length >= options.closeAfterShown ? 0 : 1;
    },
    HAAR_FRONTALFACE_DEFAULT: options.cascadeFile ?? '/nonexistent/haarcascade_frontalface_default.xml',
    ...CODES,
  };
}

/** A w x h RGB image of one colour with a bright square (side s) at (x, y). */
export function squareImage(w: number, h: number, x: number, y: number, s: number, background = 40): RgbImage {
  const data = new Uint8Array(w * h * 3).fill(background);
  for (let r = y; r < y + s; r++) for (let c = x; c < x + s; c++) data.fill(230, (r * w + c) * 3, (r * w + c) * 3 + 3);
  return { data, width: w, height: h };
}
