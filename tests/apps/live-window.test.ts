import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as annotate from '../../lib/src/apps/annotate';
import { makePipeline } from '../../lib/src/apps/pipeline';
import { probeVideo } from '../../lib/src/apps/video';
import { liveWindowProblems, runLiveWindow } from '../../lib/src/apps/webcam';
import { FerError } from '../../lib/src/errors';
import type { FaceDetector } from '../../lib/src/faces/detector';
import type { Face, RgbImage } from '../../lib/src/faces/types';
import { fakeOpenCv, FakeMat, squareImage } from '../faces/fake-opencv';
import { fakeClassifier, tmpDir } from './helpers';

const W = 160;
const H = 120;

/** Finds the bright square of squareImage(); keeps a copy of every frame it was given (the app draws in place). */
function squareDetector(): FaceDetector & { seen: RgbImage[] } {
  const seen: RgbImage[] = [];
  return {
    name: 'blazeface',
    seen,
    async detect(image: RgbImage): Promise<Face[]> {
      seen.push({ ...image, data: image.data.slice() });
      let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
      for (let y = 0; y < image.height; y++) {
        for (let x = 0; x < image.width; x++) {
          if (image.data[(y * image.width + x) * 3] > 200) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
        }
      }
      return x1 < 0 ? [] : [{ box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 }, score: 0.9 }];
    },
    dispose(): void {},
  };
}

let dir: string;
let video: string;
const savedDisplay = process.env.DISPLAY;
beforeAll(() => {
  dir = tmpDir('live');
  video = path.join(dir, 'clip.mp4'); // the fake capture plays frames; the file only has to exist
  fs.writeFileSync(video, '');
  process.env.DISPLAY = ':99';
});
afterAll(() => {
  if (savedDisplay === undefined) delete process.env.DISPLAY;
  else process.env.DISPLAY = savedDisplay;
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => jest.restoreAllMocks());

/** Frames with the square moving right by 10 px per frame; then a frame without a face. */
function clip(n: number): RgbImage[] {
  return [...Array.from({ length: n - 1 }, (_, i) => squareImage(W, H, 10 + 10 * i, 30, 30)), squareImage(W, H, 0, 0, 0)];
}

test('plays a video to the end: every frame analysed, annotated and shown in BGR; capture released, window destroyed', async () => {
  const cv = fakeOpenCv({ frames: clip(4) });
  const detector = squareDetector();
  const summary = await runLiveWindow(makePipeline(detector, fakeClassifier()), { video }, cv);
  expect(summary).toEqual({ frames: 4, framesWithFaces: 3, stopped: 'end-of-video', out: undefined });
  expect(cv.calls.opened).toEqual([video]);
  expect(cv.calls.shown).toHaveLength(4);
  expect(cv.calls.waitKeys).toBeGreaterThanOrEqual(4);
  expect([cv.calls.released, cv.calls.destroyed]).toEqual([1, 1]);
  // the detector saw RGB (converted back from the capture's BGR), video files are not mirrored by default
  expect(detector.seen[0].data.slice(0, 3)).toEqual(Uint8Array.from([40, 40, 40]));
  expect(detector.seen[1].data[(30 * W + 20) * 3]).toBe(230); // frame 2's square starts at x 20
  expect(detector.seen[1].data[(30 * W + 19) * 3]).toBe(40);
  // what is shown is annotated (differs from the input frame) and in BGR order: a box drawn in a non-grey colour
  const shown = cv.calls.shown[0];
  expect([shown.cols, shown.rows]).toEqual([W, H]);
  const rgbShown = shown.cvtColor(cv.COLOR_BGR2RGB).data;
  expect(Buffer.compare(rgbShown, Buffer.from(squareImage(W, H, 10, 30, 30).data))).not.toBe(0);
});

test("keys: 's' toggles the bars, 'f' the FPS counter, 'q' quits; Esc quits too", async () => {
  const draw = jest.spyOn(annotate, 'drawAnnotations');
  const cv = fakeOpenCv({ frames: clip(10), keys: [-1, 's', 'f', 's', 'q'] });
  const summary = await runLiveWindow(makePipeline(squareDetector(), fakeClassifier()), { video }, cv);
  expect(summary.stopped).toBe('quit');
  expect(summary.frames).toBe(5);
  const opts = draw.mock.calls.map((c) => c[2]!);
  expect(opts.map((o) => o.bars)).toEqual([true, true, false, false, true]);
  // the FPS counter has a value from the second frame on, and is hidden after 'f' (pressed after frame 3)
  expect(opts.map((o) => o.fps !== undefined)).toEqual([false, true, true, false, false]);
  expect([cv.calls.released, cv.calls.destroyed]).toEqual([1, 1]);

  const esc = fakeOpenCv({ frames: clip(10), keys: [-1, 27] });
  expect(await runLiveWindow(makePipeline(squareDetector(), fakeClassifier()), { video, bars: false, showFps: false }, esc)).toMatchObject({ frames: 2, stopped: 'quit' });
});

test('mirror flips the frame before detection (cameras by default, files when asked)', async () => {
  const cv = fakeOpenCv({ frames: clip(2) });
  const detector = squareDetector();
  await runLiveWindow(makePipeline(detector, fakeClassifier()), { video, mirror: true }, cv);
  // the square at x 10..39 is at 160-40 = 120..149 after the flip
  const row = (x: number): number => detector.seen[0].data[(30 * W + x) * 3];
  expect([row(W - 41), row(W - 40), row(W - 11), row(W - 10), row(10)]).toEqual([40, 230, 230, 40, 40]);
});

test('closing the window stops the loop; --max-frames stops after that many frames; 0 frames is refused', async () => {
  const closed = fakeOpenCv({ frames: clip(10), closeAfterShown: 3 });
  expect(await runLiveWindow(makePipeline(squareDetector(), fakeClassifier()), { video }, closed)).toMatchObject({ frames: 3, stopped: 'window-closed' });
  const limited = fakeOpenCv({ frames: clip(10) });
  const detector = squareDetector();
  expect(await runLiveWindow(makePipeline(detector, fakeClassifier()), { video, maxFrames: 2 }, limited)).toMatchObject({ frames: 2, stopped: 'max-frames' });
  expect(detector.seen).toHaveLength(2);
  const none = fakeOpenCv({ frames: clip(3) });
  await expect(runLiveWindow(makePipeline(squareDetector(), fakeClassifier()), { video, maxFrames: 0 }, none)).rejects.toThrow(/max frames must be a whole number >= 1, got 0/);
  expect(none.calls.opened).toEqual([]); // refused before the capture opened
  const stop = new AbortController();
  stop.abort();
  expect(await runLiveWindow(makePipeline(squareDetector(), fakeClassifier()), { video, signal: stop.signal }, fakeOpenCv({ frames: clip(3) }))).toMatchObject({ frames: 0, stopped: 'interrupted' });
});

test('an error mid-video releases the capture, destroys the window and leaves no partial recording', async () => {
  const cv = fakeOpenCv({ frames: clip(6) });
  let calls = 0;
  const failing: FaceDetector = {
    name: 'blazeface',
    async detect(): Promise<Face[]> {
      if (++calls === 3) throw new Error('detector exploded');
      return [];
    },
    dispose(): void {},
  };
  const out = path.join(dir, 'failed.mp4');
  await expect(runLiveWindow(makePipeline(failing, fakeClassifier()), { video, out }, cv)).rejects.toThrow('detector exploded');
  expect([cv.calls.released, cv.calls.destroyed, cv.calls.shown.length]).toEqual([1, 1, 2]);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
});

test('--out records the annotated frames at the source frame rate', async () => {
  const cv = fakeOpenCv({ frames: clip(5), fps: 10 });
  const out = path.join(dir, 'rec', 'live.mp4');
  const summary = await runLiveWindow(makePipeline(squareDetector(), fakeClassifier()), { video, out }, cv);
  expect(summary).toMatchObject({ frames: 5, out });
  const info = probeVideo(out);
  expect([info.width, info.height, info.fps]).toEqual([W, H, 10]);
  const count = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out], { encoding: 'utf8' });
  expect(Number(count.stdout.trim())).toBe(5);
});

test('with injected bindings only the display and the source are checked', async () => {
  const cv = fakeOpenCv();
  expect(liveWindowProblems({ video }, cv)).toEqual([]);
  expect(liveWindowProblems({ video: path.join(dir, 'none.mp4') }, cv)).toEqual([expect.stringMatching(/none\.mp4 does not exist/)]);
  delete process.env.DISPLAY;
  try {
    if (process.platform === 'linux') {
      expect(liveWindowProblems({ video }, cv)).toEqual([expect.stringMatching(/DISPLAY is not set .*xvfb-run/)]);
      await expect(runLiveWindow(makePipeline(squareDetector(), fakeClassifier()), { video }, cv)).rejects.toThrow(FerError);
    } else {
      expect(liveWindowProblems({ video }, cv)).toEqual([]);
    }
  } finally {
    process.env.DISPLAY = ':99';
  }
  expect(cv.calls.opened).toEqual([]);
});

test('FakeMat round trip (the fake itself): BGR<->RGB swap and resize', () => {
  const m = new FakeMat(Buffer.from([1, 2, 3, 4, 5, 6]), 1, 2);
  expect([...m.cvtColor(4).data]).toEqual([3, 2, 1, 6, 5, 4]);
  expect([...m.resize(2, 4).data]).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
});
