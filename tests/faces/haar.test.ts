import * as fs from 'fs';
import * as path from 'path';
import { FerError } from '../../lib/src/errors';
import { createHaar, haarScore, mapHaarBoxes } from '../../lib/src/faces/haar';
import { tmpDir } from '../apps/helpers';
import { fakeOpenCv, FakeMat, squareImage } from './fake-opencv';

let dir: string;
let cascadeFile: string;
beforeAll(() => {
  dir = tmpDir('haar');
  cascadeFile = path.join(dir, 'cascade.xml');
  fs.writeFileSync(cascadeFile, '<opencv_storage/>');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A cascade that "finds" the bright square of squareImage() on the gray image it is given. */
function brightSquare(gray: FakeMat): { objects: Array<{ x: number; y: number; width: number; height: number }>; numDetections: number[] } {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < gray.rows; y++) {
    for (let x = 0; x < gray.cols; x++) {
      if (gray.data[y * gray.cols + x] > 128) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  return x1 < 0 ? { objects: [], numDetections: [] } : { objects: [{ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 }], numDetections: [12] };
}

test('boxes come back in input pixels after the detector shrinks a large image; gray input to the cascade', async () => {
  const cv = fakeOpenCv({ cascadeFile, detect: brightSquare });
  const haar = await createHaar({ maxSide: 320 }, cv);
  expect(haar.name).toBe('haar');
  // 1280x960 -> detection at 320x240 (scale 1/4); the square is at (400, 200), side 240.
  const faces = await haar.detect(squareImage(1280, 960, 400, 200, 240));
  expect(cv.calls.cascades).toEqual([cascadeFile]);
  expect(cv.calls.detectSizes).toEqual([[320, 240]]);
  expect(faces).toHaveLength(1);
  expect(faces[0].box).toEqual({ x: 400, y: 200, width: 240, height: 240 });
  expect(faces[0].score).toBeCloseTo(12 / 17, 6);
  // a small image is not resized
  const small = await haar.detect(squareImage(200, 150, 10, 20, 50));
  expect(cv.calls.detectSizes[1]).toEqual([200, 150]);
  expect(small[0].box).toEqual({ x: 10, y: 20, width: 50, height: 50 });
  expect(await haar.detect(squareImage(100, 100, 0, 0, 0))).toEqual([]);
  haar.dispose();
});

test('minSize is passed in detection pixels; options reach detectMultiScale', async () => {
  const seen: Array<[number, number, number]> = [];
  const cv = fakeOpenCv({
    cascadeFile,
    detect: (_g, scaleFactor, minNeighbors, minSize) => {
      seen.push([scaleFactor, minNeighbors, minSize.width]);
      return { objects: [], numDetections: [] };
    },
  });
  const haar = await createHaar({ scaleFactor: 1.2, minNeighbors: 7, minSize: 80, maxSide: 400 }, cv);
  await haar.detect(squareImage(800, 600, 0, 0, 0));
  expect(seen).toEqual([[1.2, 7, 40]]);
});

test('scores are in [0, 1), rise with support, and faces come highest score first, boxes clipped to the image', () => {
  for (const n of [0, 1, 3, 5, 50, 5000]) {
    const s = haarScore(n, 5);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(s).toBeLessThan(1);
  }
  expect(haarScore(5, 5)).toBe(0.5);
  expect(haarScore(10, 5)).toBeGreaterThan(haarScore(6, 5));
  expect(haarScore(3, 0)).toBe(0.75); // minNeighbors 0 does not divide by zero
  const faces = mapHaarBoxes(
    [{ x: 0, y: 0, width: 10, height: 10 }, { x: 90, y: 40, width: 20, height: 20 }, { x: 50, y: 5, width: 20, height: 20 }],
    [6, 20, 6],
    0.5,
    { width: 200, height: 100 },
    5,
  );
  expect(faces.map((f) => f.box)).toEqual([
    { x: 180, y: 80, width: 20, height: 20 }, // most neighbours first; clipped at the image's bottom right
    { x: 100, y: 10, width: 40, height: 40 }, // same score: the larger box first
    { x: 0, y: 0, width: 20, height: 20 },
  ]);
});

test('a missing or unreadable cascade file is a FerError naming it', async () => {
  const missing = path.join(dir, 'none.xml');
  const err = await createHaar({ cascadePath: missing }, fakeOpenCv()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FerError);
  expect((err as Error).message).toMatch(/none\.xml not found .*opencv-data/);
  // the bindings' default cascade missing (e.g. a partial install) is reported the same way
  await expect(createHaar({}, fakeOpenCv())).rejects.toThrow(/haarcascade_frontalface_default\.xml not found/);
  const cv = fakeOpenCv();
  cv.CascadeClassifier = class {
    constructor() {
      throw 'CascadeClassifier::New - failed to load cascade'; // opencv throws strings
    }
    detectMultiScale(): never {
      throw new Error('unreachable');
    }
  };
  await expect(createHaar({ cascadePath: cascadeFile }, cv)).rejects.toThrow(/could not load the cascade .*cascade\.xml/);
});
