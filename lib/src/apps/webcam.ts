/**
 * The real-time window (the original project's detector): camera or video through @u4/opencv4nodejs, boxes,
 * labels, probability bars ('s'), FPS ('f'), mirror, 'q' or Esc quits. Everything that can be missing (the
 * bindings, a display, the camera) is checked first and reported as a FerError naming it.
 */
import * as fs from 'fs';
import { FerError, errorMessage } from '../errors';
import { hasOpenCv, OPENCV_INSTALL_HELP, OpenCv, requireOpenCv } from '../faces/opencv';
import type { RgbImage } from '../faces/types';
import { drawAnnotations } from './annotate';
import type { FacePipeline } from './pipeline';
import { mirrorImage, VideoWriter } from './video';

export interface LiveOptions {
  camera?: number;
  video?: string;
  /** Flip horizontally (selfie view), default true for cameras, false for files. */
  mirror?: boolean;
  /** Also record the annotated frames. */
  out?: string;
  bars?: boolean;
  showFps?: boolean;
}

/** Everything missing for the live window here (empty when it can open); loads opencv to check it. */
export function liveWindowProblems(options: LiveOptions = {}): string[] {
  const problems: string[] = [];
  if (!hasOpenCv()) problems.push(`the OpenCV bindings: ${OPENCV_INSTALL_HELP}`);
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    problems.push('a display: DISPLAY is not set (run it in a desktop session, with `ssh -X`, or under `xvfb-run`)');
  }
  if (options.video === undefined && process.platform === 'linux') {
    const dev = `/dev/video${options.camera ?? 0}`;
    if (!fs.existsSync(dev)) problems.push(`a camera: ${dev} does not exist (plug one in or pick another with --camera N)`);
  } else if (options.video !== undefined && !fs.existsSync(options.video)) {
    problems.push(`the video file: ${options.video} does not exist`);
  }
  return problems;
}

export const WINDOW_TITLE = 'fer-lab (q quits, s bars, f fps)';

/** Throw a FerError listing everything missing for the live window (call before loading models). */
export function assertLiveWindow(options: LiveOptions = {}): void {
  const problems = liveWindowProblems(options);
  if (problems.length > 0) {
    throw new FerError(`the live window cannot open; missing ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}. Without a window: --video FILE --headless --out out.mp4`);
  }
}

/** Run the window until 'q'/Esc or the end of the video; returns the frames shown. */
export async function runLiveWindow(pipeline: FacePipeline, options: LiveOptions = {}): Promise<number> {
  assertLiveWindow(options);
  const cv: OpenCv = requireOpenCv('The live webcam window');
  let cap;
  try {
    cap = new cv.VideoCapture(options.video ?? options.camera ?? 0);
  } catch (err) {
    // opencv throws non-Error values here
    throw new FerError(`fer webcam: could not open ${options.video ?? `camera ${options.camera ?? 0}`} (${errorMessage(err)})`);
  }
  const mirror = options.mirror ?? options.video === undefined;
  let bars = options.bars ?? true;
  let showFps = options.showFps ?? true;
  let fps: number | undefined;
  let writer: VideoWriter | undefined;
  let shown = 0;
  try {
    for (;;) {
      const mat = cap.read();
      if (!mat || mat.empty) break;
      const t0 = performance.now();
      const rgbMat = mat.cvtColor(cv.COLOR_BGR2RGB);
      let frame: RgbImage = { data: new Uint8Array(rgbMat.getData()), width: mat.cols, height: mat.rows };
      if (mirror) frame = mirrorImage(frame);
      const results = await pipeline.analyze(frame);
      await drawAnnotations(frame, results, { bars, fps: showFps ? fps : undefined, inPlace: true });
      const ms = performance.now() - t0;
      fps = fps === undefined ? 1000 / ms : 0.9 * fps + 0.1 * (1000 / ms);
      if (options.out) {
        writer ??= new VideoWriter(options.out, frame.width, frame.height, 25);
        await writer.write(frame);
      }
      const bgr = new cv.Mat(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), frame.height, frame.width, cv.CV_8UC3).cvtColor(cv.COLOR_RGB2BGR);
      cv.imshow(WINDOW_TITLE, bgr);
      shown++;
      const key = cv.waitKey(1) & 0xff;
      if (key === 'q'.charCodeAt(0) || key === 27) break;
      if (key === 's'.charCodeAt(0)) bars = !bars;
      if (key === 'f'.charCodeAt(0)) showFps = !showFps;
    }
  } finally {
    cap.release();
    cv.destroyAllWindows();
    if (writer) await writer.close();
  }
  return shown;
}
