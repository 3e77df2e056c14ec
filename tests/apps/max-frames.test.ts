import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { makePipeline } from '../../lib/src/apps/pipeline';
import { checkMaxFrames, processFrames, processVideo, readFrames } from '../../lib/src/apps/video';
import { register } from '../../lib/src/cli/webcam';
import { FerError } from '../../lib/src/errors';
import type { FaceDetector } from '../../lib/src/faces/detector';
import type { RgbImage } from '../../lib/src/faces/types';
import { fakeClassifier, tmpDir } from './helpers';

let dir: string;
let clip: string;
const noFaces = (): FaceDetector & { calls: number } => ({
  name: 'blazeface',
  calls: 0,
  async detect() {
    this.calls++;
    return [];
  },
  dispose() {},
});

beforeAll(() => {
  dir = tmpDir('maxframes');
  clip = path.join(dir, 'five.mp4');
  const res = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=64x48:r=5:d=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`ffmpeg could not make the test clip (is Debian's ffmpeg installed?): ${res.stderr}`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<RgbImage>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

test('readFrames yields exactly maxFrames frames; 0 yields none without starting ffmpeg', async () => {
  expect(await collect(readFrames(['-i', clip], 64, 48))).toBe(5);
  expect(await collect(readFrames(['-i', clip], 64, 48, { maxFrames: 3 }))).toBe(3);
  expect(await collect(readFrames(['-i', clip], 64, 48, { maxFrames: 1 }))).toBe(1);
  const saved = process.env.FFMPEG_PATH;
  process.env.FFMPEG_PATH = path.join(dir, 'no-ffmpeg-here');
  try {
    expect(await collect(readFrames(['-i', clip], 64, 48, { maxFrames: 0 }))).toBe(0);
    // (with a frame wanted, the missing binary is reported: proves the 0 case really did not start it)
    await expect(collect(readFrames(['-i', clip], 64, 48, { maxFrames: 1 }))).rejects.toThrow(/could not run ffmpeg/);
  } finally {
    if (saved === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = saved;
  }
});

test('processVideo/processFrames: maxFrames N processes N frames; 0 (or a fraction) is refused before any work', async () => {
  const detector = noFaces();
  const pipeline = makePipeline(detector, fakeClassifier());
  const jsonl = path.join(dir, 'two.jsonl');
  const two = await processVideo(clip, pipeline, { maxFrames: 2, framesJsonl: jsonl });
  expect(two.frames).toBe(2);
  expect(fs.readFileSync(jsonl, 'utf8').trim().split('\n')).toHaveLength(2);
  expect(detector.calls).toBe(2);
  for (const bad of [0, -1, 1.5]) {
    const err = await processVideo(clip, pipeline, { maxFrames: bad, framesJsonl: path.join(dir, 'zero.jsonl') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerError);
    expect((err as Error).message).toBe(`max frames must be a whole number >= 1, got ${bad} (leave it out to process every frame)`);
  }
  expect(detector.calls).toBe(2);
  expect(fs.existsSync(path.join(dir, 'zero.jsonl'))).toBe(false);
  // any frame source: stops pulling after the last wanted frame
  let pulled = 0;
  async function* endless(): AsyncGenerator<RgbImage> {
    for (;;) {
      pulled++;
      yield { data: new Uint8Array(64 * 48 * 3), width: 64, height: 48 };
    }
  }
  const s = await processFrames(endless(), { width: 64, height: 48, fps: 5 }, pipeline, { maxFrames: 3 });
  expect([s.frames, pulled]).toEqual([3, 3]);
  expect(() => checkMaxFrames(undefined)).not.toThrow();
});

test('fer webcam --max-frames 0 is rejected by the argument parser with what is expected', async () => {
  const program = new Command('fer').exitOverride().configureOutput({ writeErr: () => undefined });
  register(program);
  await expect(program.parseAsync(['node', 'fer', 'webcam', '--video', clip, '--headless', '--out', path.join(dir, 'o.mp4'), '--max-frames', '0']))
    .rejects.toThrow(/--max-frames <n>' argument '0' is invalid. "0" is not a whole number >= 1/);
  expect(fs.existsSync(path.join(dir, 'o.mp4'))).toBe(false);
});
