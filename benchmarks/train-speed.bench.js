#!/usr/bin/env node
/**
 * Training speed of fer-lab models: images/s of one Adam step (forward + backward + update) at batch 64 on 48x48x1
 * inputs, on the TF.js backend(s) asked for, and optionally PyTorch on the same architectures (benchmarks/pytorch_train.py)
 * for the ratio.
 *
 *   node benchmarks/train-speed.bench.js [--models <shipped arch>,vgg-compact,resnet18] [--backends wasm,onnxruntime,onnxruntime-x2] [--batch 64]
 *        [--steps 5] [--warmup 2] [--pytorch] [--rounds 1] [--json out.json]
 *
 * Uses the built lib (lib/dist: run `npx tsc -p lib` first; FER_DIST=<folder in lib> takes another build, e.g. one of
 * an earlier commit, to time two versions of the engine one after the other). Each model runs in its own child process so that one
 * model's wasm heap does not slow down the next. img/s is wall-clock; img/cpu-s is images per second of CPU time
 * (all threads), which holds up better when the machine is shared. 'vs pytorch' is the wall-clock ratio.
 * --rounds K measures everything K times, alternating which engine goes first (this shared VM's speed drifts by
 * 15-40% over minutes, PyTorch's more than ours): each row is then the median over the rounds, and 'vs pytorch' the
 * median of the rounds' own ratios (each round's engines ran back to back); every round is kept in the JSON.
 * Model specs: a registry name, or resnet18:cifar for the 3x3 stem.
 * Backends: a TF.js backend (wasm, cpu, tensorflow: tf.train.adam through the backend, one thread for wasm), or
 * 'onnxruntime': fer-lab's onnxruntime training engine (lib/src/train/ort, what `fer train` uses by default here)
 * with its array Adam, on every core; 'onnxruntime-x2': the same over 2 data-parallel worker threads (one
 * single-threaded session each, half of every batch; `fer train --workers 2`).
 */
'use strict';
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const { PYTHON, pytorchError } = require('./pytorch');

const ROOT = path.resolve(__dirname, '..');

/**
 * The shipped model's architecture, benchmarked first by default: from tfjs/meta.json, which every shipped model has
 * (a weight average ships soup.json instead of a run's config.json).
 */
function shippedArch() {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'checkpoints', 'fer-lab-default', 'tfjs', 'meta.json'), 'utf8')).arch;
  } catch {
    return undefined;
  }
}

function parseArgs(argv) {
  // Under `npm run bench` (FER_BENCH_RUNNER=1) the PyTorch reference runs too, for the ratio.
  const args = {
    // the shipped architecture, the issue's compact VGG and ResNet-18
    models: [...new Set([shippedArch(), 'vgg-compact', 'resnet18'].filter(Boolean))],
    backends: ['wasm', 'onnxruntime', 'onnxruntime-x2'],
    batch: 64,
    steps: 5,
    warmup: 2,
    pytorch: process.env.FER_BENCH_RUNNER === '1',
    rounds: process.env.FER_BENCH_RUNNER === '1' ? 3 : 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--models') args.models = next().split(',');
    else if (a === '--backends') args.backends = next().split(',');
    else if (a === '--batch') args.batch = Number(next());
    else if (a === '--steps') args.steps = Number(next());
    else if (a === '--warmup') args.warmup = Number(next());
    else if (a === '--pytorch') args.pytorch = true;
    else if (a === '--no-pytorch') args.pytorch = false;
    else if (a === '--rounds') args.rounds = Math.max(1, Math.round(Number(next())) || 1);
    else if (a === '--json') args.json = next();
    else if (a === '--child') args.child = JSON.parse(next());
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

/** One model on one backend, in this process: returns { imgPerSec, msPerStep, loss0, loss1 }. */
async function measureOnnxruntime({ model: arch, batch, steps, warmup, stem, workers }) {
  const lib = require(path.join(ROOT, 'lib', process.env.FER_DIST ?? 'dist'));
  await lib.initBackend('wasm'); // holds the variables; the steps run on onnxruntime
  const model = lib.createModel(arch, stem ? { stem } : {});
  const runner = await lib.OrtStepRunner.create(model, lib.createOptimizer({ name: 'adam' }), { fromLogits: false }, { workers });
  const x = new Float32Array(batch * 48 * 48).map((_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1 + 0.5);
  const t = new Float32Array(batch * 7);
  for (let i = 0; i < batch; i++) t[i * 7 + (i % 7)] = 1;
  let k = 0;
  const step = async () => (await runner.run(x, t, batch, 1e-3, k++)).loss;
  let loss0 = NaN;
  for (let i = 0; i < warmup; i++) loss0 = await step();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let loss1 = NaN;
  for (let i = 0; i < steps; i++) loss1 = await step();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1e3 / steps;
  await runner.close();
  return { imgPerSec: (batch * 1000) / ms, msPerStep: ms, imgPerCpuSec: (batch * 1000) / cpuMs, loss0, loss1 };
}

async function measure({ model: arch, backend, batch, steps, warmup, stem }) {
  const ort = /^onnxruntime(?:-x(\d+))?$/.exec(backend);
  if (ort) return measureOnnxruntime({ model: arch, batch, steps, warmup, stem, workers: Number(ort[1] ?? 1) });
  const lib = require(path.join(ROOT, 'lib', process.env.FER_DIST ?? 'dist'));
  const tf = lib.tf;
  await lib.initBackend(backend);
  const model = lib.createModel(arch, stem ? { stem } : {});
  const optimizer = tf.train.adam(1e-3);
  // Fixed random batch: speed does not depend on the pixel values.
  const x = tf.randomUniform([batch, 48, 48, 1], 0, 1, 'float32', 1);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 7, 'int32', 2), 7).toFloat();
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }).log()), true);
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  };
  // (model outputs softmax probabilities; log-probs fed as logits give the same cross-entropy.)
  let loss0 = NaN;
  for (let i = 0; i < warmup; i++) loss0 = step();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let loss1 = NaN;
  for (let i = 0; i < steps; i++) loss1 = step();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1e3 / steps;
  return { imgPerSec: (batch * 1000) / ms, msPerStep: ms, imgPerCpuSec: (batch * 1000) / cpuMs, loss0, loss1 };
}

function runChild(job) {
  const out = spawnSync(process.execPath, [__filename, '--child', JSON.stringify(job)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = (out.stdout || '').split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) return { error: ((out.stderr || '') + (out.stdout || '')).trim().split('\n').slice(-3).join(' | ') };
  return JSON.parse(line.slice(7));
}

function runPytorch(models, batch, steps, warmup) {
  const script = path.join(__dirname, 'pytorch_train.py');
  try {
    const out = execFileSync(PYTHON, [script, '--models', models.join(','), '--batch', String(batch), '--steps', String(steps),
      '--warmup', String(warmup), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').pop());
  } catch (err) {
    return { error: pytorchError(String(err.stderr || err.message).trim().split('\n').pop()) };
  }
}

function loadNote() {
  const [l1] = require('os').loadavg();
  return `load average ${l1.toFixed(2)} on ${require('os').cpus().length} cores`;
}

/**
 * The CPU as the VM reports it: model, family/model/stepping (AMD family 25 is Zen 3/4, 26 is Zen 5), L2 cache,
 * clock and widest SIMD. The same VM has run on hosts where our engine and
 * PyTorch trade places (results/benchmarks/train-speed-vgg-large.md), so every result records which one it saw.
 */
function cpuNote() {
  let info = '';
  try {
    info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return `CPU ${require('os').cpus()[0]?.model ?? 'unknown'}`;
  }
  const field = (name) => (new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info) || [])[1] || '';
  const flags = new Set(field('flags').split(/\s+/));
  const simd = flags.has('avx512f') ? `AVX-512${flags.has('avx512_bf16') ? ' (with BF16)' : ''}` : flags.has('avx2') ? 'AVX2' : 'no AVX2';
  const family = `family ${field('cpu family') || '?'} model ${field('model') || '?'} stepping ${field('stepping') || '?'}`;
  return `CPU ${field('model name') || 'unknown'} (${family}, ${field('cache size') || '?'} cache), ${simd}, ${field('cpu MHz') || '?'} MHz`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    const r = await measure(args.child);
    console.log('RESULT ' + JSON.stringify(r));
    return;
  }
  console.log(`Training speed, batch ${args.batch}, 48x48x1, Adam, ${args.steps} timed steps after ${args.warmup} warm-up` +
    `${args.rounds > 1 ? `, median of ${args.rounds} rounds` : ''} (${loadNote()})`);
  const measureOurs = () => {
    const rows = [];
    for (const spec of args.models) {
      const [model, stem] = spec.split(':'); // resnet18:cifar selects the stem
      for (const backend of args.backends) {
        const r = runChild({ model, stem, backend, batch: args.batch, steps: args.steps, warmup: args.warmup });
        rows.push({ model: spec, backend, ...r });
      }
    }
    return rows;
  };
  const measurePytorch = () => {
    if (!args.pytorch) return [];
    const pt = runPytorch(args.models, args.batch, args.steps, args.warmup);
    return args.models.map((spec) => ({ model: spec, backend: 'pytorch', ...(pt.error ? { error: pt.error } : pt[spec] || { error: 'not measured' }) }));
  };
  const rounds = [];
  for (let k = 0; k < args.rounds; k++) {
    const pytorchFirst = k % 2 === 1;
    const ours = pytorchFirst ? undefined : measureOurs();
    const pytorch = measurePytorch();
    const roundRows = [...(ours ?? measureOurs()), ...pytorch];
    rounds.push(roundRows);
    if (args.rounds > 1) console.log(`round ${k + 1}${pytorchFirst ? ' (PyTorch first)' : ''}: ${roundRows.map((r) => `${r.model} ${r.backend} ${r.error ? 'error' : r.imgPerSec.toFixed(1)}`).join(', ')}`);
  }
  const median = (values) => {
    const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (v.length === 0) return NaN;
    return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const ptIn = (roundRows, m) => roundRows.find((r) => r.backend === 'pytorch' && r.model === m && r.imgPerSec)?.imgPerSec;
  // one row per model and engine: the median over the rounds (one round: that round's row)
  const rows = rounds[0].map((first, i) => {
    const runs = rounds.map((rr) => rr[i]).filter((r) => !r.error);
    if (runs.length === 0) return first;
    const ratios = first.backend === 'pytorch' ? [] : rounds.map((rr) => rr[i].imgPerSec / ptIn(rr, first.model)).filter((x) => Number.isFinite(x));
    return {
      model: first.model, backend: first.backend,
      imgPerSec: median(runs.map((r) => r.imgPerSec)), msPerStep: median(runs.map((r) => r.msPerStep)),
      imgPerCpuSec: median(runs.map((r) => r.imgPerCpuSec)), loss0: runs[0].loss0, loss1: runs[runs.length - 1].loss1,
      ...(ratios.length ? { vsPytorch: median(ratios), vsPytorchRounds: ratios.map((x) => +x.toFixed(3)) } : {}),
    };
  });
  const header = ['model', 'backend', 'img/s', 'ms/step', 'img/cpu-s', 'vs pytorch'];
  const cells = rows.map((r) => {
    if (r.error) return [r.model, r.backend, 'error', '', '', r.error];
    const ratio = r.vsPytorch ? r.vsPytorch.toFixed(2) + 'x' : '';
    return [r.model, r.backend, r.imgPerSec.toFixed(1), r.msPerStep.toFixed(0), r.imgPerCpuSec.toFixed(1), ratio];
  });
  const widths = [16, 11, 8, 9, 10, 11];
  for (const line of [header, ...cells]) {
    console.log(line.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' '));
  }
  if (args.json) {
    const table = [
      `| ${header.join(' | ')} |`,
      `|${header.map(() => '---').join('|')}|`,
      ...cells.map((c) => `| ${c.join(' | ')} |`),
    ].join('\n');
    const summary = cells
      .filter((c) => c[1] !== 'pytorch' && c[2] !== 'error')
      .map((c) => `train ${c[0]} on ${c[1]}: ${c[2]} img/s${c[5] ? ` (${c[5]} PyTorch)` : ''}`);
    const result = {
      title: `Training speed (batch ${args.batch}, 48x48x1, Adam)`,
      table,
      summary,
      backend: args.backends.join(','),
      notes: [`${loadNote()} at the end of the run; the machine may be shared: compare rows of one run.`, cpuNote()],
      rows,
      ...(args.rounds > 1 ? { rounds } : {}),
    };
    const tmp = `${args.json}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(result, null, 2));
    fs.renameSync(tmp, args.json);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
