import * as fs from 'fs';
import type { AddressInfo } from 'net';
import type { Server } from 'http';
import { FacePipeline, makePipeline } from '../../lib/src/apps/pipeline';
import { createFerServer, uploadName } from '../../lib/src/apps/server';
import { EMOTIONS } from '../../lib/src/emotions';
import { createDetector } from '../../lib/src/faces/detector';
import { DEMO_PHOTOS, GROUP_PHOTO, fakeClassifier } from './helpers';

let server: Server;
let base: string;
let pipeline: FacePipeline;

beforeAll(async () => {
  pipeline = makePipeline(await createDetector('blazeface'), fakeClassifier());
  server = createFerServer(pipeline, { maxBytes: 2_000_000 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await pipeline.dispose();
});

const post = (route: string, body: Uint8Array, name?: string) =>
  fetch(base + route, { method: 'POST', body, headers: name ? { 'x-filename': encodeURIComponent(name) } : {} });

test('POST /predict: image bytes -> the JSON contract', async () => {
  const res = await post('/predict', fs.readFileSync(DEMO_PHOTOS[1]), 'me & you.jpg');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const json = (await res.json()) as { file: string; faces: Array<{ box: object; emotion: string; scores: object }> };
  expect(Object.keys(json)).toEqual(['file', 'faces']);
  expect(json.file).toBe('me & you.jpg');
  expect(json.faces).toHaveLength(1);
  expect(Object.keys(json.faces[0])).toEqual(['box', 'emotion', 'confidence', 'scores']);
  expect(Object.keys(json.faces[0].scores)).toEqual([...EMOTIONS]);
  const group = (await (await post('/predict', fs.readFileSync(GROUP_PHOTO))).json()) as { faces: unknown[] };
  expect(group.faces).toHaveLength(5);
});

test('POST /annotate returns a JPEG of the same size', async () => {
  const res = await post('/annotate', fs.readFileSync(DEMO_PHOTOS[0]));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/jpeg');
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(Array.from(bytes.slice(0, 3))).toEqual([0xff, 0xd8, 0xff]);
});

test('bad requests get a JSON error and the right status; the server keeps serving', async () => {
  const bad = await post('/predict', new TextEncoder().encode('hello'), 'hello.txt');
  expect(bad.status).toBe(400);
  expect(await bad.json()).toEqual({ file: 'hello.txt', faces: [], error: expect.stringMatching(/hello\.txt: not an image/) });
  expect((await post('/predict', new Uint8Array(0))).status).toBe(400);
  expect((await post('/predict', new Uint8Array(3_000_000))).status).toBe(413);
  expect((await fetch(base + '/predict')).status).toBe(405);
  expect((await fetch(base + '/nope')).status).toBe(404);
  expect((await post('/predict', fs.readFileSync(DEMO_PHOTOS[2]))).status).toBe(200);
});

test('a malformed x-filename header is used as sent: the request gets its answer and the server lives on', async () => {
  const res = await fetch(base + '/predict', { method: 'POST', body: new TextEncoder().encode('hello'), headers: { 'x-filename': '%E0%A4%A' } });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ file: '%E0%A4%A', faces: [], error: expect.stringMatching(/^%E0%A4%A: not an image/) });
  expect((await post('/predict', fs.readFileSync(DEMO_PHOTOS[2]))).status).toBe(200);
  expect(uploadName(['a%20b.jpg', 'c.jpg'])).toBe('a b.jpg');
  expect(uploadName(undefined)).toBe('upload');
});

test('GET / is the upload page, /health names the classes', async () => {
  const page = await fetch(base + '/');
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  const html = await page.text();
  expect(html).toContain('<input type="file"');
  expect(html).toContain("fetch('predict'");
  expect(await (await fetch(base + '/health')).json()).toEqual({ ok: true, classes: [...EMOTIONS], detector: 'blazeface' });
});
