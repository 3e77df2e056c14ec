#!/usr/bin/env node
/**
 * `npm run bench`: runs every benchmarks/*.bench.js in turn, each in its own process, then prints a combined summary.
 *
 *   node benchmarks/run.js [name ...]     only the benches whose file name contains one of the names
 *   node benchmarks/run.js --list
 *
 * Contract for a bench file (benchmarks/<name>.bench.js): a Node script that accepts `--json <file>` and writes its
 * result there as JSON; everything it prints is shown live. Optional fields the runner uses:
 *   { title: string, table: string (markdown), summary: string[] (one line each), backend: string, notes: string[] }
 * Any other JSON is kept as is. The runner writes results/benchmarks/<name>.json = { name, machine, startedAt,
 * seconds, exitCode, result } and results/benchmarks/summary.md (all tables, with the machine they ran on).
 * Environment for the benches: FER_BENCH_RUNNER=1 (so a bench can pick its full `npm run bench` settings).
 * Uses the built lib (lib/dist): run `npm run build` first.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'results', 'benchmarks');

function writeAtomic(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

async function machineInfo() {
  const cpus = os.cpus();
  let backend = 'unknown';
  try {
    const lib = require(path.join(ROOT, 'lib', 'dist'));
    backend = lib.describeBackend(await lib.initBackend());
  } catch (err) {
    backend = `unavailable (${String(err.message || err).split('\n')[0]})`;
  }
  return {
    os: `${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    memoryGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    backend,
    loadAverage: os.loadavg().map((v) => +v.toFixed(2)),
  };
}

function runBench(file, jsonFile) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, '--json', jsonFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FER_BENCH_RUNNER: '1' },
    });
    let output = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      output += d;
    });
    child.stderr.on('data', (d) => {
      process.stderr.write(d);
      output += d;
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

async function main() {
  const argv = process.argv.slice(2);
  if (!fs.existsSync(path.join(ROOT, 'lib', 'dist', 'index.js'))) {
    console.error('benchmarks need the built lib: run `npm run build` first.');
    process.exit(1);
  }
  const all = fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.js')).sort();
  if (argv.includes('--list')) {
    for (const f of all) console.log(f.replace(/\.bench\.js$/, ''));
    return;
  }
  const wanted = argv.filter((a) => !a.startsWith('-'));
  const files = wanted.length ? all.filter((f) => wanted.some((w) => f.includes(w))) : all;
  if (!files.length) {
    console.error(`no benchmark matches ${wanted.join(', ')}; have: ${all.join(', ')}`);
    process.exit(1);
  }
  const machine = await machineInfo();
  console.log(`fer-lab benchmarks on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${machine.backend}`);
  const done = [];
  for (const f of files) {
    const name = f.replace(/\.bench\.js$/, '');
    console.log(`\n=== ${name} ===`);
    const jsonFile = path.join(os.tmpdir(), `fer-bench-${name}-${process.pid}.json`);
    const startedAt = new Date().toISOString();
    const t0 = Date.now();
    const { code, output } = await runBench(path.join(__dirname, f), jsonFile);
    const seconds = (Date.now() - t0) / 1000;
    let result = null;
    if (fs.existsSync(jsonFile)) {
      try {
        result = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
      } catch (err) {
        result = { error: `bad JSON from ${f}: ${err.message}` };
      }
      fs.rmSync(jsonFile, { force: true });
    }
    const entry = { name, machine, startedAt, seconds: +seconds.toFixed(1), exitCode: code, result };
    if (!result) entry.outputTail = output.trim().split('\n').slice(-40).join('\n');
    writeAtomic(path.join(OUT, `${name}.json`), JSON.stringify(entry, null, 2) + '\n');
    done.push(entry);
  }

  // Combined summary.
  const md = [`# fer-lab benchmarks`, '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, ${machine.os}, Node ${machine.node}, ${machine.backend}; ` +
      `load average at start ${machine.loadAverage.join(' / ')}. Command: \`npm run bench${wanted.length ? ' -- ' + wanted.join(' ') : ''}\`, ${new Date().toISOString()}.`, ''];
  console.log('\n=== summary ===');
  for (const e of done) {
    const r = e.result || {};
    const status = e.exitCode === 0 ? 'ok' : `FAILED (exit ${e.exitCode})`;
    console.log(`${e.name}: ${status}, ${e.seconds} s`);
    for (const line of Array.isArray(r.summary) ? r.summary : []) console.log(`  ${line}`);
    for (const line of Array.isArray(r.notes) ? r.notes : []) console.log(`  note: ${line}`);
    md.push(`## ${r.title || e.name}`, '', `\`benchmarks/${e.name}.bench.js\`: ${status}, ${e.seconds} s.`, '');
    if (typeof r.table === 'string') md.push(r.table, '');
    else if (e.outputTail || e.result) md.push('```', e.outputTail || JSON.stringify(e.result, null, 2).slice(0, 4000), '```', '');
  }
  // summary.md covers the benches of this run; each <name>.json keeps its own latest run.
  writeAtomic(path.join(OUT, wanted.length ? `summary-${wanted.join('-')}.md` : 'summary.md'), md.join('\n') + '\n');
  console.log(`\nResults in ${path.relative(ROOT, OUT)}/`);
  if (done.some((e) => e.exitCode !== 0)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
