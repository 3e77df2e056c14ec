import { parse } from 'csv-parse/sync';
import { EMOTIONS } from '../../lib/src/emotions';
import { drawAnnotations, emotionColor, layoutAnnotations, overlaySvg } from '../../lib/src/apps/annotate';
import { classifyFaces, FacePipeline, FaceResult, makePipeline, toFaceJson } from '../../lib/src/apps/pipeline';
import { predictionsCsv, summaryHtml } from '../../lib/src/apps/report';
import { createDetector } from '../../lib/src/faces/detector';
import { loadImage } from '../../lib/src/faces/image';
import { DEMO_PHOTOS, GROUP_PHOTO, fakeClassifier } from './helpers';

let pipeline: FacePipeline;
let classifier: ReturnType<typeof fakeClassifier>;
beforeAll(async () => {
  classifier = fakeClassifier();
  pipeline = makePipeline(await createDetector('blazeface'), classifier);
});
afterAll(() => pipeline.dispose());

describe('pipeline', () => {
  test('one photo: one face, the JSON contract, scores summing to 1', async () => {
    const results = await pipeline.analyze(await loadImage(DEMO_PHOTOS[1]));
    expect(results).toHaveLength(1);
    const json = toFaceJson(results[0]);
    expect(Object.keys(json)).toEqual(['box', 'emotion', 'confidence', 'scores']);
    expect(Object.keys(json.box)).toEqual(['x', 'y', 'width', 'height']);
    for (const v of Object.values(json.box)) expect(Number.isInteger(v)).toBe(true);
    expect(Object.keys(json.scores)).toEqual([...EMOTIONS]);
    expect(json.confidence).toBe(Math.max(...Object.values(json.scores)));
    expect(json.scores[json.emotion]).toBe(json.confidence);
    expect(Object.values(json.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
  });

  test('all faces of the group image go to the model in one batch', async () => {
    classifier.batches.length = 0;
    const results = await pipeline.analyze(await loadImage(GROUP_PHOTO));
    expect(results).toHaveLength(5);
    expect(classifier.batches).toEqual([5]);
  });

  test('a model returning the wrong number of scores is an error', async () => {
    const broken = { classes: EMOTIONS, predict: async () => new Float32Array(3) };
    const img = await loadImage(DEMO_PHOTOS[0]);
    const faces = await pipeline.detector.detect(img);
    await expect(classifyFaces(img, faces, broken)).rejects.toThrow(/returned 3 scores for 1 faces x 7 classes/);
  });
});

const sample = (emotion: string, box = { x: 100, y: 80, width: 120, height: 120 }): FaceResult => ({
  box,
  detectorScore: 0.9,
  emotion,
  confidence: 0.8,
  scores: Object.fromEntries(EMOTIONS.map((e) => [e, e === emotion ? 0.8 : 0.2 / 6])),
});

describe('annotate', () => {
  const blank = () => ({ data: new Uint8Array(400 * 300 * 3).fill(30), width: 400, height: 300 });

  test('draws the box in the emotion colour, label and bars, without touching the input', async () => {
    const img = blank();
    const out = await drawAnnotations(img, [sample('happy')]);
    expect(img.data.every((v) => v === 30)).toBe(true);
    const px = (x: number, y: number) => Array.from(out.data.slice((y * 400 + x) * 3, (y * 400 + x) * 3 + 3));
    const [r, g, b] = [0xf2, 0xb7, 0x01]; // happy
    expect(emotionColor('happy')).toBe('#f2b701');
    expect(px(100, 140)).toEqual([r, g, b]); // left edge of the box
    expect(px(160, 80)).toEqual([r, g, b]); // top edge
    expect(px(160, 140)).toEqual([30, 30, 30]); // inside the box stays clear
    const shapes = layoutAnnotations(400, 300, [sample('happy')]);
    const texts = shapes.filter((s) => s.kind === 'text').map((s) => (s as { text: string }).text);
    expect(texts).toContain('happy 80%');
    expect(texts).toEqual(expect.arrayContaining([...EMOTIONS]));
    // label text pixels are drawn (dark text on the yellow label above the box)
    const label = shapes.find((s) => s.kind === 'rect' && s.color === '#f2b701')!;
    const { x, y, width, height } = label as { x: number; y: number; width: number; height: number };
    let dark = 0;
    for (let yy = Math.ceil(y); yy < y + height; yy++) for (let xx = Math.ceil(x); xx < x + width; xx++) if (px(xx, yy)[0] < 100) dark++;
    expect(dark).toBeGreaterThan(20);
  });

  test('everything stays inside the image, also for faces at the edges; bars can be turned off', () => {
    const faces = [sample('sad', { x: 0, y: 0, width: 60, height: 60 }), sample('angry', { x: 340, y: 240, width: 60, height: 60 })];
    for (const s of layoutAnnotations(400, 300, faces)) {
      if (s.kind === 'text') continue;
      expect(s.x).toBeGreaterThanOrEqual(-5);
      expect(s.x + s.width).toBeLessThanOrEqual(405);
      expect(s.y).toBeGreaterThanOrEqual(-5);
      expect(s.y + s.height).toBeLessThanOrEqual(305);
    }
    expect(layoutAnnotations(400, 300, faces, { bars: false }).filter((s) => s.kind === 'text')).toHaveLength(2);
    expect(layoutAnnotations(400, 300, [], { fps: 12.34 }).map((s) => (s.kind === 'text' ? s.text : ''))).toContain('FPS 12.3');
  });

  test('overlaySvg escapes class names', () => {
    const odd = { ...sample('happy'), emotion: 'a<b>' };
    const svg = overlaySvg(400, 300, [odd]);
    expect(svg).toContain('a&#60;b&#62; 80%');
    expect(svg).not.toContain('<b>');
  });
});

describe('reports', () => {
  const entries = [
    { file: 'a.jpg', faces: [toFaceJson(sample('happy')), toFaceJson(sample('sad'))], annotated: 'a_fer.jpg' },
    { file: 'b, "odd".jpg', faces: [] },
    { file: 'c.txt', faces: [], error: 'c.txt: not an image' },
  ];

  test('CSV: one row per face, one per faceless or failed file, quoted where needed', () => {
    const rows = parse(predictionsCsv(entries, EMOTIONS), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({ file: 'a.jpg', face: '0', x: '100', emotion: 'happy', confidence: '0.8', happy: '0.8', note: '' });
    expect(rows[1]).toMatchObject({ face: '1', emotion: 'sad' });
    expect(rows[2]).toMatchObject({ file: 'b, "odd".jpg', face: '', note: 'no face found' });
    expect(rows[3]).toMatchObject({ file: 'c.txt', note: 'c.txt: not an image' });
  });

  test('HTML: counts per emotion and a card per file', () => {
    const html = summaryHtml(entries, EMOTIONS);
    expect(html).toContain('3 files, 2 faces, 1 without a face, 1 errors');
    expect(html).toMatch(/<td>happy<\/td><td class="n">1<\/td>/);
    expect(html).toMatch(/<td>angry<\/td><td class="n">0<\/td>/);
    expect(html).toContain('src="a_fer.jpg"');
    expect(html).toContain('b, &#34;odd&#34;.jpg');
    expect(html.match(/<figure>/g)).toHaveLength(3);
  });
});
