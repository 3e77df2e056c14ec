import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FerError } from '../../lib/src/errors';
import { assertOutputDir, replaceDirAtomic, writeFileAtomic, writeJsonAtomic } from '../../lib/src/util/fs';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-utilfs-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => /\.(tmp|old)-/.test(f));

describe('writeFileAtomic', () => {
  test('creates the folders, writes the bytes, leaves no temp file', () => {
    const file = path.join(root, 'a', 'b', 'x.json');
    writeJsonAtomic(file, { ok: 1 });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ ok: 1 });
    writeFileAtomic(file, 'second');
    expect(fs.readFileSync(file, 'utf8')).toBe('second');
    expect(leftovers(path.dirname(file))).toEqual([]);
  });

  test('a target that is a folder is a FerError naming it (not EISDIR), the folder is untouched', () => {
    const dir = path.join(root, 'model.onnx');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'k');
    expect(() => writeFileAtomic(dir, 'x')).toThrow(FerError);
    expect(() => writeFileAtomic(dir, 'x')).toThrow(/model\.onnx is a folder: pass a file path/);
    expect(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8')).toBe('k');
    expect(leftovers(root)).toEqual([]);
  });

  test('a file where a parent folder should be is a FerError naming that file (not EEXIST/ENOTDIR)', () => {
    const blocker = path.join(root, 'results');
    fs.writeFileSync(blocker, 'a file');
    expect(() => writeFileAtomic(path.join(blocker, 'sub', 'report.txt'), 'x')).toThrow(FerError);
    expect(() => writeFileAtomic(path.join(blocker, 'report.txt'), 'x')).toThrow(/results is a file, not a folder/);
    expect(fs.readFileSync(blocker, 'utf8')).toBe('a file');
  });
});

describe('assertOutputDir', () => {
  test('accepts an existing folder and a path still to create; refuses a file and a path under a file', () => {
    expect(() => assertOutputDir(root)).not.toThrow();
    expect(() => assertOutputDir(path.join(root, 'new', 'deeper'))).not.toThrow();
    const file = path.join(root, 'f.txt');
    fs.writeFileSync(file, 'x');
    expect(() => assertOutputDir(file, '--out')).toThrow(/--out .*f\.txt is a file, not a folder/);
    expect(() => assertOutputDir(path.join(file, 'a', 'b'), '--out')).toThrow(/cannot be created: .*f\.txt is a file/);
  });
});

describe('replaceDirAtomic', () => {
  test('replaces a folder only once the new one is complete; a failing fill keeps the old one', async () => {
    const dir = path.join(root, 'web');
    await replaceDirAtomic(dir, (tmp) => fs.writeFileSync(path.join(tmp, 'v1'), '1'));
    await expect(
      replaceDirAtomic(dir, (tmp) => {
        fs.writeFileSync(path.join(tmp, 'v2'), '2');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(fs.readdirSync(dir)).toEqual(['v1']);
    await replaceDirAtomic(dir, (tmp) => fs.writeFileSync(path.join(tmp, 'v3'), '3'));
    expect(fs.readdirSync(dir)).toEqual(['v3']);
    expect(leftovers(root)).toEqual([]);
  });

  test('never replaces a file with a folder (that would delete the file)', async () => {
    const file = path.join(root, 'model.onnx');
    fs.writeFileSync(file, 'precious');
    let filled = false;
    await expect(replaceDirAtomic(file, () => void (filled = true))).rejects.toThrow(/model\.onnx is a file, not a folder/);
    expect(filled).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    expect(leftovers(root)).toEqual([]);
  });
});
