/**
 * Video without OpenCV: Debian's ffmpeg decodes to raw RGB frames on a pipe and encodes annotated frames from one.
 * processVideo() runs the face pipeline on every frame and writes the annotated video plus frames.jsonl.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { FerError } from '../errors';
import type { RgbImage } from '../faces/types';
import { assertOutputFile, writeFileAtomic } from '../util/fs';
import { AnnotateOptions, drawAnnotations } from './annotate';
import { FacePipeline, FaceJson, toFaceJson } from './pipeline';

export interface VideoInfo {
  width: number;
  height: number;
  fps: number;
  /** Frame count when the container says so. */
  frames?: number;
}

export function ffmpegPath(): string {
  return process.env.FFMPEG_PATH ?? 'ffmpeg';
}
function ffprobePath(): string {
  return process.env.FFPROBE_PATH ?? 'ffprobe';
}

const FFMPEG_HELP = 'install ffmpeg (Debian/Ubuntu: `sudo apt-get install ffmpeg`; macOS: `brew install ffmpeg`) or set FFMPEG_PATH/FFPROBE_PATH';

/** True when ffmpeg and ffprobe run. */
export function hasFfmpeg(): boolean {
  return [ffmpegPath(), ffprobePath()].every((bin) => spawnSync(bin, ['-version'], { stdio: 'ignore' }).status === 0);
}

export function probeVideo(file: string): VideoInfo {
  if (!fs.existsSync(file)) throw new FerError(`${file}: no such video file`, { file });
  const res = spawnSync(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate,nb_frames', '-of', 'json', file], { encoding: 'utf8' });
  if (res.error) throw new FerError(`reading ${file} needs ffprobe, which did not run (${res.error.message}); ${FFMPEG_HELP}`, { file });
  const stream = (JSON.parse(res.stdout || '{}') as { streams?: Array<Record<string, string | number>> }).streams?.[0];
  if (res.status !== 0 || !stream || !stream.width) {
    throw new FerError(`${file}: not a video ffmpeg can read (${(res.stderr || 'no video stream').trim().split('\n')[0]})`, { file });
  }
  const rate = (r: unknown): number => {
    const [a, b] = String(r ?? '0/1').split('/').map(Number);
    return b ? a / b : a;
  };
  const fps = rate(stream.avg_frame_rate) || rate(stream.r_frame_rate) || 25;
  const frames = Number(stream.nb_frames);
  return { width: Number(stream.width), height: Number(stream.height), fps, frames: Number.isFinite(frames) && frames > 0 ? frames : undefined };
}

/**
 * A frame limit must be a whole number >= 1 (undefined = no limit). 0 is refused rather than read as "none" or
 * "no limit": either reading would surprise someone, and processing no frames produces nothing.
 */
export function checkMaxFrames(maxFrames: number | undefined): void {
  if (maxFrames !== undefined && !(Number.isInteger(maxFrames) && maxFrames >= 1)) {
    throw new FerError(`max frames must be a whole number >= 1, got ${maxFrames} (leave it out to process every frame)`);
  }
}

/**
 * Decode frames as RGB images, one at a time, from a file (or ffmpeg input args, e.g. a v4l2 camera).
 * `maxFrames` caps how many are yielded (0 yields none and does not start ffmpeg).
 */
export async function* readFrames(inputArgs: string[], width: number, height: number, options: { maxFrames?: number } = {}): AsyncGenerator<RgbImage> {
  const limit = options.maxFrames ?? Infinity;
  if (limit <= 0) return;
  const args = ['-v', 'error', ...inputArgs, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-'];
  const proc = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    proc.on('error', (err) => reject(new FerError(`could not run ffmpeg (${err.message}); ${FFMPEG_HELP}`)));
    proc.on('close', (code) => resolve(code));
  });
  // A spawn failure rejects before anything awaits `exited`: mark it handled here; it is rethrown below.
  exited.catch(() => undefined);
  const frameBytes = width * height * 3;
  let pending: Buffer[] = [];
  let have = 0;
  let count = 0;
  try {
    for await (const chunk of proc.stdout! as AsyncIterable<Buffer>) {
      pending.push(chunk);
      have += chunk.length;
      while (have >= frameBytes) {
        const all = Buffer.concat(pending, have);
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        have = rest.length;
        yield { data: new Uint8Array(all.buffer, all.byteOffset, frameBytes).slice(), width, height };
        // Stop right after the last wanted frame (without waiting for ffmpeg to decode another).
        if (++count >= limit) return;
      }
    }
    const code = await exited;
    if (code !== 0) throw new FerError(`ffmpeg failed to decode ${inputArgs.join(' ')}: ${stderr.trim().split('\n').slice(-2).join(' ')}`);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited.catch(() => undefined);
  }
}

/** Encodes RGB frames to H.264 MP4 through ffmpeg; the file appears (renamed from a temp name) only on close(). */
export class VideoWriter {
  private proc: ChildProcess;
  private stderr = '';
  private readonly tmp: string;
  private readonly done: Promise<number | null>;
  private failed?: Error;

  constructor(readonly file: string, readonly width: number, readonly height: number, fps: number) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    // libx264 with yuv420p needs even sizes: pad one pixel when odd.
    const args = ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', '-',
      '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', this.tmp];
    this.proc = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc.stdin!.on('error', (err) => (this.failed = err));
    this.done = new Promise((resolve) => {
      this.proc.on('error', (err) => {
        this.failed = new FerError(`could not run ffmpeg (${err.message}); ${FFMPEG_HELP}`);
        resolve(null);
      });
      this.proc.on('close', (code) => resolve(code));
    });
  }

  /** Queue one frame; waits when ffmpeg's pipe is full. */
  async write(frame: RgbImage): Promise<void> {
    if (this.failed) throw this.failed;
    if (frame.width !== this.width || frame.height !== this.height) throw new FerError(`frame is ${frame.width}x${frame.height}, video is ${this.width}x${this.height}`);
    const ok = this.proc.stdin!.write(frame.data);
    if (!ok) await new Promise<void>((resolve) => this.proc.stdin!.once('drain', resolve));
  }

  /** Finish the file; throws (and removes the temp file) if ffmpeg failed. */
  async close(): Promise<void> {
    this.proc.stdin!.end();
    const code = await this.done;
    if (code !== 0 || this.failed) {
      fs.rmSync(this.tmp, { force: true });
      throw this.failed ?? new FerError(`ffmpeg could not write ${this.file}: ${this.stderr.trim().split('\n').slice(-2).join(' ')}`, { file: this.file });
    }
    fs.renameSync(this.tmp, this.file);
  }

  /** Stop without producing a file. */
  abort(): void {
    this.proc.kill('SIGKILL');
    fs.rmSync(this.tmp, { force: true });
  }
}

export interface FrameRecord {
  frame: number;
  /** Seconds from the start. */
  time: number;
  faces: FaceJson[];
}

export interface ProcessVideoOptions {
  /** Annotated MP4 to write (none when undefined). */
  out?: string;
  /** Per-frame results as JSON lines (default: next to `out` as <name>.frames.jsonl, none without out). */
  framesJsonl?: string;
  /** Flip frames horizontally before everything else (webcam selfie view). Default false for files. */
  mirror?: boolean;
  annotate?: AnnotateOptions;
  /** Draw the processing FPS (default true when writing a video). */
  showFps?: boolean;
  /** Stop after this many frames (a whole number >= 1; FerError otherwise). Default: every frame. */
  maxFrames?: number;
  /** Stop early (Ctrl-C on a camera); what was processed is still written. */
  signal?: AbortSignal;
  onFrame?: (record: FrameRecord, ms: number) => void;
}

export interface VideoSummary {
  frames: number;
  /** Frames with at least one face. */
  framesWithFaces: number;
  /** Processing speed (decode excluded), frames per second. */
  fps: number;
  out?: string;
  framesJsonl?: string;
}

export function mirrorImage(image: RgbImage): RgbImage {
  const { width: W, height: H, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      const d = (y * W + (W - 1 - x)) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  }
  return { width: W, height: H, data: out };
}

/** Default frames.jsonl path for an output video. */
export function framesPathFor(out: string): string {
  const p = path.parse(out);
  return path.join(p.dir, `${p.name}.frames.jsonl`);
}

/** Run the pipeline over every frame of a video file. */
export async function processVideo(input: string, pipeline: FacePipeline, options: ProcessVideoOptions = {}): Promise<VideoSummary> {
  const outputs = [options.out, options.framesJsonl ?? (options.out ? framesPathFor(options.out) : undefined)];
  for (const out of outputs) {
    if (out !== undefined && path.resolve(out) === path.resolve(input)) {
      throw new FerError(`${out} is the input video: writing it would overwrite ${input}; pick another output file`, { file: input });
    }
  }
  checkMaxFrames(options.maxFrames);
  const info = probeVideo(input);
  return processFrames(readFrames(['-i', input], info.width, info.height, { maxFrames: options.maxFrames }), info, pipeline, options);
}

/** Run the pipeline over frames from any source (file, camera). */
export async function processFrames(frames: AsyncIterable<RgbImage>, info: VideoInfo, pipeline: FacePipeline, options: ProcessVideoOptions = {}): Promise<VideoSummary> {
  checkMaxFrames(options.maxFrames);
  const jsonlPath = options.framesJsonl ?? (options.out ? framesPathFor(options.out) : undefined);
  // Before ffmpeg starts: an output path that is a folder (or under a file) fails here with a message naming it.
  if (options.out) assertOutputFile(options.out, '--out');
  if (jsonlPath) assertOutputFile(jsonlPath, '--frames');
  const writer = options.out ? new VideoWriter(options.out, info.width, info.height, info.fps) : undefined;
  const lines: string[] = [];
  let n = 0;
  let withFaces = 0;
  let busyMs = 0;
  let smoothFps: number | undefined;
  try {
    for await (const raw of frames) {
      if (options.signal?.aborted) break;
      const t0 = performance.now();
      const frame = options.mirror ? mirrorImage(raw) : raw;
      const results = await pipeline.analyze(frame);
      if (writer) {
        const drawn = await drawAnnotations(frame, results, { ...options.annotate, fps: options.showFps === false ? undefined : smoothFps, inPlace: true });
        await writer.write(drawn);
      }
      const ms = performance.now() - t0;
      busyMs += ms;
      smoothFps = smoothFps === undefined ? 1000 / ms : 0.9 * smoothFps + 0.1 * (1000 / ms);
      const record: FrameRecord = { frame: n, time: Math.round((n / info.fps) * 1000) / 1000, faces: results.map(toFaceJson) };
      lines.push(JSON.stringify(record));
      if (results.length > 0) withFaces++;
      n++;
      options.onFrame?.(record, ms);
      if (options.maxFrames !== undefined && n >= options.maxFrames) break;
    }
    if (writer) await writer.close();
  } catch (err) {
    writer?.abort();
    throw err;
  }
  if (n === 0) throw new FerError('the video has no frames');
  if (jsonlPath) writeFileAtomic(jsonlPath, lines.join('\n') + '\n');
  return { frames: n, framesWithFaces: withFaces, fps: (n * 1000) / busyMs, out: options.out, framesJsonl: jsonlPath };
}
