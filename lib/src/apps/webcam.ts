/**
 * The real-time window (the original project's detector): camera or video through @u4/opencv4nodejs, boxes,
 * labels, probability bars ('s'), FPS ('f'), mirror, 'q' or Esc quits (closing the window too). Everything that
 * can be missing (the bindings, a display, the camera) is checked first and reported as a FerError naming it.
 */
import * as fs from 'fs';
import { FerError, errorMessage } from '../errors';
import { CvVideoCapture, hasOpenCv, OPENCV_INSTALL_HELP, OpenCv, requireOpenCv } from '../faces/opencv';
import type { RgbImage } from '../faces/types';
import { drawAnnotations } from './annotate';
import type { FacePipeline } from './pipeline';
import { checkMaxFrames, mirrorImage, VideoWriter } from './video';

export interface LiveOptions {
  camera?: number;
  video?: string;
  /** Flip horizontally (selfie view), default true for cameras, false for files. */
  mirror?: boolean;
  /** Also record the annotated frames (MP4 through ffmpeg). */
  out?: string;
  /** Start with probability bars shown ('s' toggles), default true. */
  bars?: boolean;
  /** Start with the FPS counter shown ('f' toggles), default true. */
  showFps?: boolean;
  /** Stop after this many frames (>= 1); default: until 'q' or the end of the video. */
  maxFrames?: number;
  /** Stop (Ctrl-C); the recording so far is still written. */
  signal?: AbortSignal;
}

/** What a live session did. */
export interface LiveSummary {
  /** Frames shown in the window. */
  frames: number;
  /** Frames with at least one face. */
  framesWithFaces: number;
  /** Why it stopped. */
  stopped: 'quit' | 'window-closed' | 'end-of-video' | 'max-frames' | 'interrupted';
  /** The recorded video, when `out` was given. */
  out?: string;
}

/** Everything missing for the live window here (empty when it can open); `cv` given = the bindings are there. */
export function liveWindowProblems(options: LiveOptions = {}, cv?: OpenCv): string[] {
  const problems: string[] = [];
  if (!cv && !hasOpenCv()) problems.push(`the OpenCV bindings: ${OPENCV_INSTALL_HELP}`);
  // imshow without a display aborts the whole process (SIGABRT, not catchable): check before it can happen.
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
export function assertLiveWindow(options: LiveOptions = {}, cv?: OpenCv): void {
  const problems = liveWindowProblems(options, cv);
  if (problems.length > 0) {
    throw new FerError(`the live window cannot open; missing ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}. Without a window: --video FILE --headless --out out.mp4`);
  }
}

/** A camera may give a few empty frames while it starts; this many in a row means it gave up. */
const CAMERA_EMPTY_READS = 50;

function openCapture(cv: OpenCv, options: LiveOptions): CvVideoCapture {
  const what = options.video ?? `camera ${options.camera ?? 0}`;
  try {
    return new cv.VideoCapture(options.video ?? options.camera ?? 0);
  } catch (err) {
    // opencv throws non-Error values here
    throw new FerError(`fer webcam: could not open ${what} (${errorMessage(err)})`);
  }
}

/** The source's frame rate for the recording (cameras often report 0: then 25). */
function sourceFps(cv: OpenCv, cap: CvVideoCapture): number {
  const fps = cap.get(cv.CAP_PROP_FPS);
  return Number.isFinite(fps) && fps > 0 && fps <= 240 ? fps : 25;
}

/**
 * Run the window until 'q'/Esc, the window is closed, the video ends or `maxFrames` frames were shown.
 * `cv` replaces the @u4/opencv4nodejs bindings (tests inject a fake one).
 */
export async function runLiveWindow(pipeline: FacePipeline, options: LiveOptions = {}, cv?: OpenCv): Promise<LiveSummary> {
  checkMaxFrames(options.maxFrames);
  assertLiveWindow(options, cv);
  const ocv: OpenCv = cv ?? requireOpenCv('The live webcam window');
  const cap = openCapture(ocv, options);
  const camera = options.video === undefined;
  const mirror = options.mirror ?? camera;
  let bars = options.bars ?? true;
  let showFps = options.showFps ?? true;
  let fps: number | undefined;
  let writer: VideoWriter | undefined;
  let shown = 0;
  let withFaces = 0;
  let emptyReads = 0;
  let stopped: LiveSummary['stopped'] = 'end-of-video';
  let windowOpened = false;
  try {
    for (;;) {
      if (options.signal?.aborted) {
        stopped = 'interrupted';
        break;
      }
      if (options.maxFrames !== undefined && shown >= options.maxFrames) {
        stopped = 'max-frames';
        break;
      }
      const mat = cap.read();
      if (!mat || mat.empty) {
        if (!camera) break;
        if (++emptyReads >= CAMERA_EMPTY_READS) throw new FerError(`fer webcam: camera ${options.camera ?? 0} gave no picture (${emptyReads} empty frames in a row); is another program using it?`);
        ocv.waitKey(20);
        continue;
      }
      emptyReads = 0;
      const t0 = performance.now();
      const rgbMat = mat.cvtColor(ocv.COLOR_BGR2RGB);
      let frame: RgbImage = { data: new Uint8Array(rgbMat.getData()), width: mat.cols, height: mat.rows };
      if (mirror) frame = mirrorImage(frame);
      const results = await pipeline.analyze(frame);
      if (results.length > 0) withFaces++;
      await drawAnnotations(frame, results, { bars, fps: showFps ? fps : undefined, inPlace: true });
      const ms = performance.now() - t0;
      fps = fps === undefined ? 1000 / ms : 0.9 * fps + 0.1 * (1000 / ms);
      if (options.out) {
        writer ??= new VideoWriter(options.out, frame.width, frame.height, sourceFps(ocv, cap));
        await writer.write(frame);
      }
      const bgr = new ocv.Mat(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), frame.height, frame.width, ocv.CV_8UC3).cvtColor(ocv.COLOR_RGB2BGR);
      ocv.imshow(WINDOW_TITLE, bgr);
      windowOpened = true;
      shown++;
      // waitKey returns -1 without a key; the low byte is the key code.
      const key = ocv.waitKey(1) & 0xff;
      if (key === 'q'.charCodeAt(0) || key === 'Q'.charCodeAt(0) || key === 27) {
        stopped = 'quit';
        break;
      }
      if (key === 's'.charCodeAt(0)) bars = !bars;
      if (key === 'f'.charCodeAt(0)) showFps = !showFps;
      // The window's close button: the window is gone (imshow would open a new one next frame).
      if (ocv.getWindowProperty(WINDOW_TITLE, ocv.WND_PROP_VISIBLE) < 1) {
        stopped = 'window-closed';
        break;
      }
    }
    if (writer) await writer.close();
  } catch (err) {
    writer?.abort();
    writer = undefined;
    throw err;
  } finally {
    cap.release();
    ocv.destroyAllWindows();
    if (windowOpened) ocv.waitKey(1); // lets the GUI loop actually close the window
  }
  return { frames: shown, framesWithFaces: withFaces, stopped, out: writer ? options.out : undefined };
}
