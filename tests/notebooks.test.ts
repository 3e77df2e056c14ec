/**
 * The notebook suite runs top to bottom headless (scripts/notebooks.js -> nbclient -> the project's tslab kernel),
 * and the runner really fails on broken notebooks: a thrown error and a late async rejection.
 * Needs Python with nbclient (Debian: jupyter-nbconvert, jupyter-client) and the built lib (npm test builds it).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const RUNNER = path.join(ROOT, 'scripts', 'notebooks.js');
const NOTEBOOKS = ['Data_Exploration', 'FER_Evaluation', 'FER_Inference_Demo', 'FER_Training_Complete', 'Model_Experiments'];

interface CellTiming {
  number: number;
  index: number;
  seconds: number;
}
interface Failure {
  kind: 'error' | 'async' | 'timeout' | 'dead' | 'runner';
  index: number;
  number: number;
  source: string;
  error: string;
  afterLast?: boolean;
}
interface RunSummary {
  notebook: string;
  ok: boolean;
  seconds: number;
  cells: CellTiming[];
  failure: Failure | null;
}
interface RunOutcome {
  code: number;
  summary: RunSummary[];
  stderr: string;
}

function runNotebooks(args: string[]): Promise<RunOutcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RUNNER, 'run', '--json', ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      const lastLine = stdout.trim().split('\n').pop() ?? '[]';
      resolve({ code, summary: JSON.parse(lastLine) as RunSummary[], stderr });
    });
  });
}

interface NotebookJson {
  metadata: { kernelspec?: { name?: string; language?: string } };
  cells: { cell_type: string; source: string | string[]; outputs?: unknown[]; execution_count?: number | null }[];
}

function readNotebook(name: string): NotebookJson {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'notebooks', `${name}.ipynb`), 'utf8')) as NotebookJson;
}

describe('notebooks/', () => {
  test('holds the five notebooks, committed without outputs, on the tslab kernel', () => {
    const found = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();
    expect(found).toEqual(NOTEBOOKS.map((n) => `${n}.ipynb`));
    for (const name of NOTEBOOKS) {
      const nb = readNotebook(name);
      expect(nb.metadata.kernelspec?.name).toBe('tslab');
      const code = nb.cells.filter((c) => c.cell_type === 'code');
      expect(code.length).toBeGreaterThan(3);
      for (const cell of code) {
        expect(cell.outputs).toEqual([]);
        expect(cell.execution_count ?? null).toBeNull();
      }
      // Imports the lib by name, as a user would.
      const source = code.map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source)).join('\n');
      expect(source).toMatch(/from 'fer-lab'/);
    }
  });

  test.each(NOTEBOOKS)(
    '%s runs top to bottom without errors',
    async (name) => {
      const out = await runNotebooks([name]);
      const [r] = out.summary;
      if (!r.ok) {
        // Show the failing cell and its error in the test output.
        throw new Error(`${name} failed at code cell ${r.failure?.number}:\n${r.failure?.source}\n---\n${r.failure?.error}`);
      }
      expect(out.code).toBe(0);
      expect(r.cells.length).toBeGreaterThan(3);
    },
    15 * 60 * 1000,
  );
});

describe('the notebook runner', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-nb-test-'));
    const notebook = (cells: string[]) => ({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
      cells: cells.map((source, i) => ({ id: `c${i}`, cell_type: 'code', metadata: {}, source, outputs: [], execution_count: null })),
    });
    const write = (name: string, cells: string[]) =>
      fs.writeFileSync(path.join(dir, name), JSON.stringify(notebook(cells)));
    write('clean.ipynb', ['const x: number = 21;', "console.warn('a warning on stderr is not an error');", 'x * 2']);
    write('sync_throw.ipynb', [
      'const before = 1;',
      "function explode(): never { throw new Error('deliberate sync failure'); }\nexplode();",
      "console.log('must not run');",
    ]);
    write('late_rejection.ipynb', [
      'const before = 1;',
      // Returns at once (the cell itself is "ok"); the rejection happens 50 ms later.
      "setTimeout(() => { Promise.reject(new Error('deliberate late rejection')); }, 50);",
    ]);
    write('between_cells.ipynb', [
      // Rejects right after the cell returns: usually before the next cell starts, where tslab routes the error to
      // the finished cell's output, which nbclient no longer reads.
      "setTimeout(() => { Promise.reject(new Error('deliberate rejection between cells')); }, 0);",
      'const after = 2;',
      'after * 2',
    ]);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test(
    'passes a clean notebook and fails on a sync throw and a late async rejection, naming the cell',
    async () => {
      const out = await runNotebooks(['clean.ipynb', 'sync_throw.ipynb', 'late_rejection.ipynb', 'between_cells.ipynb'].map((f) => path.join(dir, f)));
      expect(out.code).toBe(1);
      const [clean, sync, late, between] = out.summary;

      expect(clean.ok).toBe(true);
      expect(clean.cells.map((c) => c.number)).toEqual([1, 2, 3]);
      expect(clean.cells.map((c) => c.index)).toEqual([0, 1, 2]); // the runner's hidden cells are not counted

      expect(sync.ok).toBe(false);
      expect(sync.failure?.kind).toBe('error');
      expect(sync.failure?.number).toBe(2);
      expect(sync.failure?.source).toContain('explode()');
      expect(sync.failure?.error).toContain('deliberate sync failure');
      expect(sync.cells).toHaveLength(2); // stopped at the failing cell

      expect(late.ok).toBe(false);
      expect(late.failure?.kind).toBe('async');
      expect(late.failure?.afterLast).toBe(true);
      expect(late.failure?.source).toContain('setTimeout');
      expect(late.failure?.error).toContain('UnhandledPromiseRejection');
      expect(late.failure?.error).toContain('deliberate late rejection');

      expect(between.ok).toBe(false);
      expect(between.failure?.kind).toBe('async');
      expect(between.failure?.error).toContain('deliberate rejection between cells');
    },
    5 * 60 * 1000,
  );

  test('the printed report names the failing cell and its error', async () => {
    const text = await new Promise<string>((resolve) => {
      execFile(process.execPath, [RUNNER, 'run', path.join(dir, 'sync_throw.ipynb')], { cwd: ROOT }, (_err, stdout) => resolve(stdout));
    });
    expect(text).toContain('FAILED sync_throw.ipynb at code cell 2');
    expect(text).toContain("throw new Error('deliberate sync failure')");
    expect(text).toContain('Error: deliberate sync failure');
  }, 5 * 60 * 1000);
});
