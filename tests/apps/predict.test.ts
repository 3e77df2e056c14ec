import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { initBackend } from '../../lib/src/backend';
import { listInputs, predictFiles, toJsonResults, BatchEntry } from '../../lib/src/apps/batch';
import { FacePipeline, makePipeline } from '../../lib/src/apps/pipeline';
import { register } from '../../lib/src/cli/predict';
import { EMOTIONS } from '../../lib/src/emotions';
import { FerError } from '../../lib/src/errors';
import { createDetector } from '../../lib/src/faces/detector';
import { defaultMeta, saveModelDir } from '../../lib/src/util/model-io';
import { DEMO_PHOTOS, fakeClassifier, tmpDir } from './helpers';

let root: string;
let inputs: string;
let pipeline: FacePipeline;
const hashes = new Map<string, string>();
const digest = (f: string): string => require('crypto').createHash('sha1').update(fs.readFileSync(f)).digest('hex');

/** A folder with everything a batch must survive. */
beforeAll(async () => {
  root = tmpDir('predict');
  inputs = path.join(root, 'in');
  fs.mkdirSync(path.join(inputs, 'sub'), { recursive: true });
  fs.copyFileSync(DEMO_PHOTOS[0], path.join(inputs, 'a.jpg'));
  await sharp(DEMO_PHOTOS[2]).grayscale().png().toFile(path.join(inputs, 'b_gray.png'));
  fs.copyFileSync(DEMO_PHOTOS[3], path.join(inputs, 'sub', 'c.jpg'));
  fs.writeFileSync(path.join(inputs, 'notes.txt'), 'not an image');
  fs.writeFileSync(path.join(inputs, 'empty.jpg'), '');
  fs.writeFileSync(path.join(inputs, 'corrupt.jpg'), Buffer.concat([fs.readFileSync(DEMO_PHOTOS[1]).subarray(0, 300), Buffer.alloc(300, 7)]));
  await sharp({ create: { width: 320, height: 240, channels: 3, background: '#4a7' } }).jpeg().toFile(path.join(inputs, 'wall.jpg'));
  fs.writeFileSync(path.join(inputs, '.hidden.jpg'), 'x');
  for (const f of fs.readdirSync(inputs, { recursive: true }) as string[]) {
    const p = path.join(inputs, f);
    if (fs.statSync(p).isFile()) hashes.set(p, digest(p));
  }
  pipeline = makePipeline(await createDetector('blazeface'), fakeClassifier());
});
afterAll(async () => {
  await pipeline.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('listInputs', () => {
  test('folder: sorted files, hidden ones skipped, subfolders only with recursive, output folder excluded', () => {
    const flat = listInputs(inputs);
    expect(flat.files.map((f) => path.basename(f))).toEqual(['a.jpg', 'b_gray.png', 'corrupt.jpg', 'empty.jpg', 'notes.txt', 'wall.jpg']);
    const deep = listInputs(inputs, { recursive: true, exclude: path.join(inputs, 'sub') });
    expect(deep.files).toHaveLength(6);
    expect(listInputs(inputs, { recursive: true }).files).toContain(path.join(inputs, 'sub', 'c.jpg'));
    expect(listInputs(path.join(inputs, 'a.jpg'))).toEqual({ root: inputs, files: [path.join(inputs, 'a.jpg')], single: true });
  });

  test('missing path and empty folder are FerErrors that say what to do', () => {
    expect(() => listInputs(path.join(root, 'nope'))).toThrow(/nope: no such file or folder/);
    const empty = path.join(root, 'empty');
    fs.mkdirSync(path.join(empty, 'deeper'), { recursive: true });
    expect(() => listInputs(empty)).toThrow(FerError);
    expect(() => listInputs(empty)).toThrow(/no files to process \(it has 1 subfolders: add --recursive\)/);
    expect(() => listInputs(empty, { recursive: true })).toThrow(/no files to process$/);
  });
});

describe('predictFiles', () => {
  let entries: BatchEntry[];
  let out: string;
  beforeAll(async () => {
    out = path.join(root, 'out');
    const list = listInputs(inputs, { recursive: true, exclude: out });
    entries = await predictFiles(list.files, pipeline, { root: list.root, outDir: out, concurrency: 2 });
  });

  test('goes past every bad file and reports each, in input order', () => {
    const by = Object.fromEntries(entries.map((e) => [path.relative(inputs, e.file), e]));
    expect(Object.keys(by)).toEqual(['a.jpg', 'b_gray.png', 'corrupt.jpg', 'empty.jpg', 'notes.txt', path.join('sub', 'c.jpg'), 'wall.jpg']);
    for (const ok of ['a.jpg', 'b_gray.png', path.join('sub', 'c.jpg')]) {
      expect(by[ok].error).toBeUndefined();
      expect(by[ok].faces).toHaveLength(1);
    }
    expect(by['corrupt.jpg'].error).toMatch(/corrupt\.jpg: (unreadable or corrupt|not an image)/);
    expect(by['empty.jpg'].error).toMatch(/empty file/);
    expect(by['notes.txt'].error).toMatch(/not an image/);
    expect(by['wall.jpg']).toMatchObject({ faces: [] });
    expect(by['wall.jpg'].error).toBeUndefined();
  });

  test('annotated copies go to the output folder (same subfolders), inputs untouched', () => {
    for (const rel of ['a_fer.jpg', 'b_gray_fer.jpg', path.join('sub', 'c_fer.jpg'), 'wall_fer.jpg']) {
      expect(fs.existsSync(path.join(out, rel))).toBe(true);
    }
    for (const [file, hash] of hashes) expect(digest(file)).toBe(hash);
    expect(fs.readdirSync(out).some((f) => f.includes('.tmp-'))).toBe(false);
  });

  test('JSON form: exactly file, faces and error only on failure', () => {
    const json = toJsonResults(entries);
    for (const e of json) {
      expect(Object.keys(e)).toEqual(e.error === undefined ? ['file', 'faces'] : ['file', 'faces', 'error']);
    }
  });
});

describe('fer predict (CLI, real model file)', () => {
  let model: string;
  let stdout: string;
  let stderr: string[];
  beforeAll(async () => {
    await initBackend('wasm');
    model = path.join(root, 'tiny-model');
    const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [48, 48, 1] }), tf.layers.dense({ units: 7, activation: 'softmax' })] });
    await saveModelDir(m, model, defaultMeta('tiny-dense', m));
    m.dispose();
  });
  beforeEach(() => {
    stdout = '';
    stderr = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
    jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ') + '\n'));
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void stderr.push(a.join(' ')));
    process.exitCode = undefined;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.exitCode = undefined;
  });
  const fer = async (...args: string[]): Promise<void> => {
    const program = new Command('fer').exitOverride();
    register(program);
    await program.parseAsync(['node', 'fer', ...args]);
  };

  test('--json prints exactly one JSON array with the contract; reports written', async () => {
    const out = path.join(root, 'cli-out');
    await fer('predict', inputs, '--model', model, '--out', out, '--json', '--recursive');
    const parsed = JSON.parse(stdout) as Array<{ file: string; faces: Array<Record<string, unknown>>; error?: string }>;
    expect(parsed).toHaveLength(7);
    const a = parsed.find((e) => e.file.endsWith('a.jpg'))!;
    expect(Object.keys(a)).toEqual(['file', 'faces']);
    expect(Object.keys(a.faces[0])).toEqual(['box', 'emotion', 'confidence', 'scores']);
    expect(Object.keys(a.faces[0].scores as object)).toEqual([...EMOTIONS]);
    expect(EMOTIONS).toContain(a.faces[0].emotion);
    expect(parsed.filter((e) => e.error !== undefined)).toHaveLength(3);
    const csv = parse(fs.readFileSync(path.join(out, 'predictions.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(csv.filter((r) => r.emotion !== '')).toHaveLength(3);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'predictions.json'), 'utf8'))).toEqual(parsed);
    expect(fs.readFileSync(path.join(out, 'summary.html'), 'utf8')).toContain('7 files, 3 faces, 1 without a face, 3 errors');
    expect(stderr.join('\n')).toMatch(/7 files, 3 faces, 1 without a face, 3 failed/);
    expect(process.exitCode).toBeUndefined();
  });

  test('a single unreadable file: reported, exit code 1; a missing path: FerError', async () => {
    await fer('predict', path.join(inputs, 'notes.txt'), '--model', model, '--out', path.join(root, 'cli-bad'));
    expect(stdout).toMatch(/notes\.txt: error: .*not an image/);
    expect(process.exitCode).toBe(1);
    await expect(fer('predict', path.join(root, 'missing.jpg'), '--model', model)).rejects.toThrow(/missing\.jpg: no such file or folder/);
  });

  test('--out that is the input folder, holds it, or is a file: a FerError before the model loads, inputs untouched', async () => {
    await expect(fer('predict', inputs, '--model', model, '--out', inputs)).rejects.toThrow(
      /output folder .* is the input folder .* or holds it: pick an output folder outside it/,
    );
    await expect(fer('predict', inputs, '--model', model, '--out', root)).rejects.toThrow(FerError);
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(fer('predict', inputs, '--model', model, '--out', file)).rejects.toThrow(/--out .*a-file is a file, not a folder/);
    expect(fs.readdirSync(inputs).some((f) => /_fer\.jpg$|predictions/.test(f))).toBe(false);
    for (const [f, hash] of hashes) expect(digest(f)).toBe(hash);
  });

  test('each failed file is named once per line, with the reason', async () => {
    await fer('predict', path.join(inputs, 'empty.jpg'), '--model', model, '--out', path.join(root, 'cli-empty'));
    const line = stdout.split('\n').find((l) => l.includes('empty.jpg'))!;
    expect(line).toBe(`${path.join(inputs, 'empty.jpg')}: error: empty file, not an image`);
  });

  test('huge image refused with --max-pixels, the batch goes on', async () => {
    await fer('predict', path.join(inputs, 'a.jpg'), '--model', model, '--out', path.join(root, 'cli-huge'), '--json', '--max-pixels', '0.1');
    const parsed = JSON.parse(stdout) as Array<{ error?: string }>;
    expect(parsed[0].error).toMatch(/larger than the 0.1 megapixel limit/);
  });
});
