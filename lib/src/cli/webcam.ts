/** `fer webcam`: the real-time window (OpenCV), or headless processing of a video/camera through ffmpeg. */
import * as fs from 'fs';
import { Command, Option } from 'commander';
import { FerError } from '../errors';
import { DETECTOR_NAMES, DetectorName } from '../faces/detector';
import { openPipeline } from '../apps/pipeline';
import { processFrames, processVideo, readFrames, VideoSummary } from '../apps/video';
import { assertLiveWindow, runLiveWindow } from '../apps/webcam';
import { positiveInt, wholeNumber } from './args';
import { addDeviceOptions, DeviceFlags, deviceFromFlags, reportDevice } from './device';

interface WebcamFlags extends DeviceFlags {
  camera: number;
  video?: string;
  model?: string;
  detector: DetectorName;
  detectorModel: 'back' | 'front';
  mirror?: boolean;
  out?: string;
  frames?: string;
  headless?: boolean;
  bars: boolean;
  maxFrames?: number;
}


async function runHeadless(flags: WebcamFlags, mirror: boolean): Promise<VideoSummary> {
  if (!flags.out && !flags.frames) throw new FerError('--headless needs --out FILE.mp4 and/or --frames FILE.jsonl (where to put the results)');
  // A camera without OpenCV: ffmpeg's video4linux2 input (Linux), scaled to 640x480. Checked before loading models.
  const dev = `/dev/video${flags.camera}`;
  if (flags.video === undefined) {
    if (process.platform !== 'linux') throw new FerError('--headless with a camera works on Linux (video4linux2); elsewhere use --video FILE');
    if (!fs.existsSync(dev)) throw new FerError(`no camera: ${dev} does not exist (pick another with --camera N, or use --video FILE)`);
  }
  const pipeline = await openPipeline({ model: flags.model, detector: flags.detector, detectorOptions: { model: flags.detectorModel }, device: deviceFromFlags(flags) });
  reportDevice(pipeline);
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  const options = {
    out: flags.out,
    framesJsonl: flags.frames,
    mirror,
    annotate: { bars: flags.bars },
    maxFrames: flags.maxFrames,
    signal: stop.signal,
    onFrame: (r: { frame: number }) => {
      if (process.stderr.isTTY && r.frame % 25 === 0) process.stderr.write(`\rframe ${r.frame}`);
    },
  };
  try {
    if (flags.video !== undefined) return await processVideo(flags.video, pipeline, options);
    return await processFrames(readFrames(['-f', 'v4l2', '-i', dev], 640, 480, { maxFrames: flags.maxFrames }), { width: 640, height: 480, fps: 25 }, pipeline, options);
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    await pipeline.dispose();
  }
}

export function register(program: Command): void {
  const command = program
    .command('webcam')
    .description("real-time expression recognition: a window with boxes, labels and bars ('s' bars, 'f' FPS, 'q' quits; needs @u4/opencv4nodejs), or --headless on a video file")
    .option('-c, --camera <n>', 'camera index', wholeNumber, 0)
    .option('-v, --video <file>', 'read this video file instead of a camera')
    .option('-m, --model <path>', 'model file or folder (default: the shipped model)')
    .addOption(new Option('-d, --detector <name>', 'face detector: blazeface or haar').choices(DETECTOR_NAMES).default('blazeface'))
    .addOption(new Option('--detector-model <which>', "blazeface model: 'back' (small faces) or 'front' (faster)").choices(['back', 'front']).default('back'))
    .option('--no-mirror', 'do not flip the camera image (video files are never flipped unless --mirror)')
    .option('--mirror', 'flip horizontally (also for video files)')
    .option('-o, --out <file.mp4>', 'write the annotated video here')
    .option('--frames <file.jsonl>', 'per-frame JSON lines (default with --out: <out>.frames.jsonl)')
    .option('--headless', 'no window: process frames and write --out / --frames (works without OpenCV, uses ffmpeg)')
    .option('--no-bars', 'start without probability bars')
    .option('--max-frames <n>', 'stop after this many frames (1 or more)', positiveInt);
  addDeviceOptions(command)
    .action(async (flags: WebcamFlags, cmd: Command) => {
      // --mirror/--no-mirror given explicitly wins; otherwise cameras mirror and files do not.
      const explicit = cmd.getOptionValueSource('mirror') === 'cli';
      const mirror = explicit ? Boolean(flags.mirror) : flags.video === undefined;
      if (flags.headless) {
        const s = await runHeadless(flags, mirror);
        console.log(`fer webcam: ${s.frames} frames (${s.framesWithFaces} with faces) at ${s.fps.toFixed(1)} frames/s` +
          `${s.out ? `; video ${s.out}` : ''}${s.framesJsonl ? `; per-frame JSON ${s.framesJsonl}` : ''}`);
        return;
      }
      if (flags.frames) throw new FerError('--frames (per-frame JSON) works with --headless; the live window records only the video (--out)');
      const stop = new AbortController();
      const live = { camera: flags.camera, video: flags.video, mirror, out: flags.out, bars: flags.bars, maxFrames: flags.maxFrames, signal: stop.signal };
      assertLiveWindow(live); // before loading anything
      const pipeline = await openPipeline({ model: flags.model, detector: flags.detector, detectorOptions: { model: flags.detectorModel }, device: deviceFromFlags(flags) });
      reportDevice(pipeline);
      const onSigint = (): void => stop.abort();
      process.once('SIGINT', onSigint);
      try {
        const s = await runLiveWindow(pipeline, live);
        const why = { quit: "'q' pressed", 'window-closed': 'window closed', 'end-of-video': 'end of the video', 'max-frames': '--max-frames reached', interrupted: 'Ctrl-C' }[s.stopped];
        console.log(`fer webcam: ${s.frames} frames shown (${s.framesWithFaces} with faces), stopped: ${why}${s.out ? `; video ${s.out}` : ''}`);
      } finally {
        process.removeListener('SIGINT', onSigint);
        await pipeline.dispose();
      }
    });
}
