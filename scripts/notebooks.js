#!/usr/bin/env node
/**
 * The notebook runner: executes the tslab notebooks headless, exports them to HTML, or opens Jupyter.
 *
 *   node scripts/notebooks.js run  [names or paths...] [--timeout S] [--json]   execute, fail on any cell error
 *   node scripts/notebooks.js html [names or paths...] [--out DIR]              execute + write results/notebooks/*.html
 *   node scripts/notebooks.js open [jupyter args...]                            start Jupyter with the tslab kernel
 *
 * Names are notebook file names in notebooks/ with or without .ipynb (default: all of them). Execution happens on a
 * temp copy (notebooks/ never gets outputs); the kernel runs in the notebook's own folder so `import 'fer-lab'`
 * resolves. The kernel spec is the project's .jupyter/kernels/tslab, found through JUPYTER_PATH.
 * Python with nbclient comes from $FER_PYTHON, /usr/bin/python3 (Debian's Jupyter), then python3 on PATH.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const NOTEBOOKS_DIR = path.join(ROOT, 'notebooks');
const JUPYTER_DIR = path.join(ROOT, '.jupyter');
const EXEC_SCRIPT = path.join(__dirname, 'nbexec.py');
const KERNEL = 'tslab';
const DEFAULT_TIMEOUT_S = 600;

class UsageError extends Error {}

function jupyterEnv() {
  const paths = [JUPYTER_DIR, ...(process.env.JUPYTER_PATH || '').split(path.delimiter).filter(Boolean)];
  return {
    ...process.env,
    JUPYTER_PATH: paths.join(path.delimiter),
    // Debian's python3.11 prints a debugger warning on every kernel start without these.
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    FORCE_COLOR: '0',
  };
}

/** The first Python that can import nbclient, nbformat (and nbconvert when html is wanted). */
function findPython(needHtml) {
  const modules = ['nbclient', 'nbformat', ...(needHtml ? ['nbconvert'] : [])];
  const candidates = [process.env.FER_PYTHON, '/usr/bin/python3', 'python3', 'python'].filter(Boolean);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  throw new UsageError(
    `No Python with ${modules.join(', ')} found (tried ${candidates.join(', ')}). On Debian/Ubuntu: ` +
      '`sudo apt-get install -y --no-install-recommends jupyter-nbconvert jupyter-client`; elsewhere ' +
      '`pip install nbclient nbconvert`. Set FER_PYTHON to choose the interpreter.',
  );
}

function listNotebooks() {
  return fs
    .readdirSync(NOTEBOOKS_DIR)
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .map((f) => path.join(NOTEBOOKS_DIR, f));
}

/** A name ("Data_Exploration"), file name, or path -> an existing .ipynb path. */
function resolveNotebook(name) {
  const candidates = [name, `${name}.ipynb`, path.join(NOTEBOOKS_DIR, name), path.join(NOTEBOOKS_DIR, `${name}.ipynb`)];
  const found = candidates.find((p) => p.endsWith('.ipynb') && fs.existsSync(p) && fs.statSync(p).isFile());
  if (!found) {
    const known = listNotebooks().map((p) => path.basename(p, '.ipynb'));
    throw new UsageError(`Notebook "${name}" not found. Known notebooks: ${known.join(', ')} (or give a path).`);
  }
  return path.resolve(found);
}

/** Execute one notebook on a temp copy. Resolves to the result object of nbexec.py plus paths. */
function executeNotebook(python, notebook, options) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-nb-'));
  const base = path.basename(notebook);
  const input = path.join(tmp, base);
  fs.copyFileSync(notebook, input);
  const spec = {
    input,
    output: path.join(tmp, base.replace(/\.ipynb$/, '.executed.ipynb')),
    result: path.join(tmp, 'result.json'),
    cwd: path.dirname(notebook),
    kernel: KERNEL,
    timeout: options.timeout,
    html: options.html ? path.join(tmp, base.replace(/\.ipynb$/, '.html')) : null,
    settle_ms: 500,
  };
  fs.writeFileSync(path.join(tmp, 'spec.json'), JSON.stringify(spec));
  return new Promise((resolve) => {
    const child = spawn(python, [EXEC_SCRIPT, path.join(tmp, 'spec.json')], {
      env: jupyterEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('close', (code) => {
      let result;
      try {
        result = JSON.parse(fs.readFileSync(spec.result, 'utf8'));
      } catch {
        result = {
          ok: false,
          cells: [],
          seconds: 0,
          failure: { kind: 'runner', index: -1, number: 0, source: '', error: `nbexec.py exited ${code}:\n${log}` },
        };
      }
      resolve({ notebook, tmp, executed: spec.output, html: spec.html, ...result });
    });
  });
}

function indent(text, prefix = '    ') {
  return text.replace(/\s+$/, '').split('\n').map((l) => prefix + l).join('\n');
}

function describeFailure(r) {
  const f = r.failure;
  let where = f.number > 0 ? `code cell ${f.number} (cell index ${f.index})` : 'start-up';
  if (f.afterLast) where = `a late async error after the last code cell (${f.number}, cell index ${f.index}) ran`;
  const lines = [`FAILED ${path.basename(r.notebook)} at ${where}: ${f.kind}`];
  if (f.source) lines.push('  cell source:', indent(f.source));
  // Strip ANSI colours that Node's inspector may add to stack traces.
  lines.push('  error:', indent(f.error.replace(/\x1b\[[0-9;]*m/g, '').slice(0, 6000)));
  return lines.join('\n');
}

function parseArgs(argv) {
  const [mode, ...rest] = argv;
  const opts = { mode, names: [], timeout: DEFAULT_TIMEOUT_S, json: false, out: path.join(ROOT, 'results', 'notebooks'), keep: false, passthrough: [] };
  if (mode === 'open') {
    opts.passthrough = rest;
    return opts;
  }
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--timeout') opts.timeout = Number(rest[++i]);
    else if (a === '--json') opts.json = true;
    else if (a === '--keep') opts.keep = true;
    else if (a === '--out') opts.out = path.resolve(rest[++i]);
    else if (a.startsWith('--')) throw new UsageError(`Unknown option ${a}`);
    else opts.names.push(a);
  }
  if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) throw new UsageError('--timeout needs a number of seconds > 0');
  return opts;
}

function checkBuilt() {
  if (!fs.existsSync(path.join(ROOT, 'lib', 'dist', 'index.js'))) {
    throw new UsageError('lib/dist is missing: the notebooks import the built lib. Run `npm run build` first.');
  }
}

async function runMode(opts) {
  const html = opts.mode === 'html';
  const python = findPython(html);
  const notebooks = opts.names.length ? opts.names.map(resolveNotebook) : listNotebooks();
  if (notebooks.length === 0) throw new UsageError(`No notebooks in ${NOTEBOOKS_DIR}.`);
  if (notebooks.some((nb) => path.dirname(nb) === NOTEBOOKS_DIR)) checkBuilt();
  const results = [];
  for (const nb of notebooks) {
    if (!opts.json) process.stdout.write(`running ${path.relative(process.cwd(), nb)} ... `);
    const r = await executeNotebook(python, nb, { timeout: opts.timeout, html });
    results.push(r);
    if (!opts.json) {
      console.log(r.ok ? `ok (${r.seconds.toFixed(1)} s, ${r.cells.length} code cells)` : 'FAILED');
      if (!r.ok) console.log(describeFailure(r));
    }
    if (r.ok && html) {
      fs.mkdirSync(opts.out, { recursive: true });
      const dest = path.join(opts.out, path.basename(r.html));
      const tmpDest = `${dest}.tmp-${process.pid}`;
      fs.copyFileSync(r.html, tmpDest);
      fs.renameSync(tmpDest, dest);
      if (!opts.json) console.log(`  wrote ${path.relative(process.cwd(), dest)} (${(fs.statSync(dest).size / 1e6).toFixed(1)} MB)`);
    }
    if (!opts.keep) fs.rmSync(r.tmp, { recursive: true, force: true });
    else if (!opts.json) console.log(`  kept ${r.executed}`);
  }
  const failed = results.filter((r) => !r.ok);
  if (opts.json) {
    const summary = results.map((r) => ({
      notebook: r.notebook, ok: r.ok, seconds: r.seconds, cells: r.cells, failure: r.failure,
    }));
    console.log(JSON.stringify(summary));
  } else {
    console.log(`${results.length - failed.length}/${results.length} notebooks ran clean`);
  }
  return failed.length === 0 ? 0 : 1;
}

/** The first Jupyter front end found: JupyterLab, then the classic Notebook. */
function findJupyterApp() {
  for (const cmd of ['jupyter-lab', 'jupyter-notebook']) {
    const r = spawnSync(cmd, ['--version'], { stdio: 'ignore', env: jupyterEnv() });
    if (r.status === 0) return cmd;
  }
  return undefined;
}

function openMode(opts) {
  const app = findJupyterApp();
  if (!app) {
    throw new UsageError(
      'No Jupyter front end found (jupyter-lab or jupyter-notebook). Install one: ' +
        '`sudo apt-get install jupyter-notebook` (Debian/Ubuntu) or `pip install jupyterlab`. ' +
        'VS Code users: open a notebook and pick the "TypeScript (fer-lab, tslab)" kernel (see notebooks/README.md).',
    );
  }
  checkBuilt();
  console.log(`starting ${app} in ${NOTEBOOKS_DIR} with JUPYTER_PATH=${JUPYTER_DIR}`);
  const child = spawn(app, [`--notebook-dir=${NOTEBOOKS_DIR}`, ...opts.passthrough], {
    cwd: NOTEBOOKS_DIR,
    env: jupyterEnv(),
    stdio: 'inherit',
  });
  // Ctrl-C reaches Jupyter through the shared terminal (it asks to confirm); a SIGTERM to this process is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 0)));
}

async function main(argv) {
  const opts = parseArgs(argv);
  if (opts.mode === 'run' || opts.mode === 'html') return runMode(opts);
  if (opts.mode === 'open') return openMode(opts);
  throw new UsageError('usage: node scripts/notebooks.js run|html|open [notebooks...] [--timeout S] [--json] [--out DIR] [--keep]');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof UsageError ? `error: ${err.message}` : err);
      process.exit(2);
    },
  );
}

module.exports = { main, resolveNotebook, listNotebooks, JUPYTER_DIR, NOTEBOOKS_DIR };
