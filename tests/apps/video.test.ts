import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { FacePipeline, makePipeline } from '../../lib/src/apps/pipeline';
import { FrameRecord, mirrorImage, probeVideo, processVideo } from '../../lib/src/apps/video';
import { liveWindowProblems, runLiveWindow } from '../../lib/src/apps/webcam';
import { register } from '../../lib/src/cli/webcam';
import { FerError } from '../../lib/src/errors';
import { hasOpenCv } from '../../lib/src/faces/opencv';
import { createDetector } from '../../lib/src/faces/detector';
import { DEMO_PHOTOS, fakeClassifier, tmpDir } from './helpers';

let dir: string;
let clip: string;
let pipeline: FacePipeline;

/** A 2 s, 5 fps 320x240 clip: three demo photos (0.4 s each, one of them mirrored), then 0.8 s of an empty wall. */
beforeAll(async () => {
  dir = tmpDir('video');
  clip = path.join(dir, 'clip.mp4');
  const args = ['-v', 'error', '-y'];
  for (const p of DEMO_PHOTOS.slice(0, 3)) args.push('-loop', '1', '-t', '0.4', '-i', p);
  args.push('-f', 'lavfi', '-t', '0.8', '-i', 'color=c=0x557766:s=320x240:r=5');
  args.push(
    '-filter_complex',
    '[0]scale=320:240,setsar=1,fps=5[a];[1]scale=320:240,setsar=1,fps=5,hflip[b];[2]scale=320:240,setsar=1,fps=5[c];[3]setsar=1,fps=5[d];[a][b][c][d]concat=n=4:v=1[v]',
    '-map', '[v]', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip,
  );
  const res = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`ffmpeg could not make the test clip (is Debian's ffmpeg installed?): ${res.stderr}`);
  pipeline = makePipeline(await createDetector('blazeface'), fakeClassifier());
});
afterAll(async () => {
  await pipeline.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('headless video: annotated MP4 with every frame and per-frame JSON lines', async () => {
  const info = probeVideo(clip);
  expect([info.width, info.height, info.fps]).toEqual([320, 240, 5]);
  const out = path.join(dir, 'out', 'annotated.mp4');
  const seen: FrameRecord[] = [];
  const summary = await processVideo(clip, pipeline, { out, onFrame: (r) => seen.push(r) });
  expect(summary.frames).toBe(10);
  expect(summary.framesWithFaces).toBe(6);
  expect(summary.framesJsonl).toBe(path.join(dir, 'out', 'annotated.frames.jsonl'));
  const lines = fs.readFileSync(summary.framesJsonl!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as FrameRecord);
  expect(lines).toEqual(seen);
  expect(lines.map((l) => l.faces.length)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
  expect(lines[3].time).toBeCloseTo(0.6, 5);
  expect(Object.keys(lines[0].faces[0])).toEqual(['box', 'emotion', 'confidence', 'scores']);
  const written = probeVideo(out);
  expect([written.width, written.height]).toEqual([320, 240]);
  const count = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out], { encoding: 'utf8' });
  expect(Number(count.stdout.trim())).toBe(10);
  expect(fs.readdirSync(path.dirname(out)).filter((f) => f.includes('.tmp-'))).toEqual([]);
});

test('mirror flips frames (the mirrored photo is found at the mirrored place)', async () => {
  const plain = await processVideo(clip, pipeline, { maxFrames: 4, framesJsonl: path.join(dir, 'a.jsonl') });
  const flipped = await processVideo(clip, pipeline, { maxFrames: 4, mirror: true, framesJsonl: path.join(dir, 'b.jsonl') });
  expect(plain.frames).toBe(4);
  const read = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as FrameRecord);
  const [a, b] = [read(path.join(dir, 'a.jsonl')), read(path.join(dir, 'b.jsonl'))];
  const boxA = a[0].faces[0].box;
  const boxB = b[0].faces[0].box;
  expect(Math.abs(boxB.x - (320 - boxA.x - boxA.width))).toBeLessThanOrEqual(3);
  const img = { data: Uint8Array.from([1, 2, 3, 4, 5, 6]), width: 2, height: 1 };
  expect(Array.from(mirrorImage(img).data)).toEqual([4, 5, 6, 1, 2, 3]);
});

test('bad video inputs are FerErrors', async () => {
  expect(() => probeVideo(path.join(dir, 'none.mp4'))).toThrow(/none\.mp4: no such video file/);
  const txt = path.join(dir, 'x.mp4');
  fs.writeFileSync(txt, 'not a video');
  expect(() => probeVideo(txt)).toThrow(FerError);
  expect(() => probeVideo(txt)).toThrow(/x\.mp4: not a video ffmpeg can read/);
});

test('an output that is the input video is refused before ffmpeg runs; the input stays intact', async () => {
  const copy = path.join(dir, 'in-place.mp4');
  fs.copyFileSync(clip, copy);
  const before = fs.readFileSync(copy);
  await expect(processVideo(copy, pipeline, { out: copy })).rejects.toThrow(/in-place\.mp4 is the input video: writing it would overwrite/);
  await expect(processVideo(copy, pipeline, { framesJsonl: copy })).rejects.toThrow(FerError);
  expect(fs.readFileSync(copy).equals(before)).toBe(true);
  // an output path that is a folder: named, before ffmpeg runs
  await expect(processVideo(copy, pipeline, { out: dir })).rejects.toThrow(/--out .* is a folder: pass a file path/);
  expect(fs.readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(false);
});

describe('live window', () => {
  const saved = { DISPLAY: process.env.DISPLAY, WAYLAND_DISPLAY: process.env.WAYLAND_DISPLAY };
  beforeEach(() => {
    delete process.env.DISPLAY;
    delete process.env.WAYLAND_DISPLAY;
  });
  afterAll(() => Object.assign(process.env, saved));

  test('says exactly what is missing (bindings, display, camera) before opening anything', async () => {
    const problems = liveWindowProblems({ camera: 7 });
    expect(problems.some((p) => /DISPLAY is not set/.test(p))).toBe(true);
    if (!fs.existsSync('/dev/video7')) expect(problems.some((p) => /\/dev\/video7 does not exist/.test(p))).toBe(true);
    expect(problems.some((p) => /OPENCV4NODEJS_DISABLE_AUTOBUILD=1/.test(p))).toBe(!hasOpenCv());
    const err = await runLiveWindow(pipeline, { camera: 7 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerError);
    expect((err as Error).message).toMatch(/the live window cannot open; missing \(1\)/);
    expect((err as Error).message).toMatch(/--video FILE --headless --out out\.mp4/);
  });

  test('fer webcam --headless needs somewhere to write; --video --headless works without OpenCV', async () => {
    const fer = async (...args: string[]): Promise<void> => {
      const program = new Command('fer').exitOverride();
      register(program);
      await program.parseAsync(['node', 'fer', ...args]);
    };
    await expect(fer('webcam', '--video', clip, '--headless')).rejects.toThrow(/--headless needs --out/);
    await expect(fer('webcam', '--video', clip, '--detector', 'dlib')).rejects.toThrow(/--detector <name>' argument 'dlib' is invalid. Allowed choices are blazeface, haar/);
  });
});
