#!/usr/bin/env node
/**
 * Inference speed, side by side on this machine: latency at batch 1 and throughput at batch 64 for
 *   onnxruntime-node (fer-lab's default engine; the model exported by lib/src/export, batch norm folded),
 *   TF.js on the backend in use (wasm here: one thread in Node), and
 *   PyTorch CPU (benchmarks/pytorch_infer.py with /usr/bin/python3: the same architectures written in PyTorch),
 * at 2 threads and 1 thread (ratios compare equal thread counts), for vgg-compact and resnet18. Also the .onnx file
 * sizes for float32 / float16 / int8 weights, and their accuracy on data/sample for the shipped model (or
 * --accuracy-model DIR, any checkpoint) on data/sample (or --accuracy-data, e.g. the FER2013 archive with
 * --accuracy-split test = PublicTest): accuracy and agreement of the predicted class with float32.
 *
 *   node benchmarks/inference.bench.js [--models vgg-compact,resnet18] [--threads 2,1] [--rounds 2]
 *        [--iters1 30] [--iters64 5] [--no-pytorch] [--accuracy-model DIR] [--accuracy-data PATH]
 *        [--accuracy-split test] [--accuracy-only] [--json out.json]
 *
 * Times are the predictor's predict() on uint8 crops (normalisation included), median over iterations, best of
 * `rounds` alternating rounds (the machine is shared: the best round is the least disturbed one).
 * Uses the built lib (lib/dist): run `npm run build` first.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { PYTHON, pytorchError } = require('./pytorch');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const args = { models: ['vgg-compact', 'resnet18'], threads: [2, 1], rounds: 2, iters1: 30, iters64: 5, warmup: 3, pytorch: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--models') args.models = next().split(',');
    else if (a === '--threads') args.threads = next().split(',').map(Number);
    else if (a === '--rounds') args.rounds = Number(next());
    else if (a === '--iters1') args.iters1 = Number(next());
    else if (a === '--iters64') args.iters64 = Number(next());
    else if (a === '--warmup') args.warmup = Number(next());
    else if (a === '--no-pytorch') args.pytorch = false;
    else if (a === '--accuracy-model') args.accuracyModel = next();
    else if (a === '--accuracy-only') args.accuracyOnly = true;
    else if (a === '--accuracy-data') args.accuracyData = next();
    else if (a === '--accuracy-split') args.accuracySplit = next();
    else if (a === '--json') args.json = next();
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function crops(n, seed) {
  const out = new Uint8Array(n * 48 * 48);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

async function timePredict(predictor, batch, iters, warmup) {
  const px = crops(batch, batch);
  for (let i = 0; i < warmup; i++) await predictor.predict(px);
  const times = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await predictor.predict(px);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { batch, iters, medianMs: median, p90Ms: times[Math.floor(0.9 * (times.length - 1))], minMs: times[0], imgPerSec: (batch * 1000) / median };
}

function runPytorch(args, threads) {
  const script = path.join(__dirname, 'pytorch_infer.py');
  const out = spawnSync(PYTHON, [script, '--models', args.models.join(','), '--threads', String(threads), '--iters1', String(args.iters1),
    '--iters64', String(args.iters64), '--warmup', String(args.warmup)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = (out.stdout || '').trim().split('\n').pop() || '';
  try {
    return JSON.parse(line);
  } catch {
    return { error: pytorchError(((out.stderr || '') + (out.stdout || '')).trim().split('\n').slice(-2).join(' | ') || `exit ${out.status}`) };
  }
}

/** Keep the better (faster) of two measurements of the same thing. */
function best(a, b) {
  if (!a) return b;
  if (!b) return a;
  return b.medianMs < a.medianMs ? b : a;
}

function fmtBytes(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MB` : `${(n / 1024).toFixed(1)} KB`;
}

/** Accuracy of the shipped model on data/sample for each weight format, if both exist and the data loader is built. */
async function quantizedAccuracy(lib, modelDir, args) {
  const sample = args.accuracyData || path.join(ROOT, 'data', 'sample');
  if (!fs.existsSync(modelDir) || !fs.existsSync(sample) || typeof lib.loadDataset !== 'function') {
    return { note: `skipped: needs a model at ${path.relative(ROOT, modelDir)} (the shipped one unless --accuracy-model), data/sample and loadDataset` };
  }
  const source = lib.resolveModelSource(modelDir, 'tfjs');
  const { loadModelDir } = require(path.join(ROOT, 'lib', 'dist', 'util', 'model-io'));
  const { model, meta, quantized } = await loadModelDir(source.dir);
  let ds = await lib.loadDataset(sample);
  if (args.accuracySplit) ds = lib.takeSplit(ds, args.accuracySplit);
  const n = ds.labels.length;
  const rows = {};
  let reference;
  const k = meta.classes.length;
  const argmaxes = (probs) => Uint8Array.from({ length: n }, (_, i) => {
    let arg = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + arg]) arg = c;
    return arg;
  });
  try {
    for (const weights of ['float32', 'float16', 'int8']) {
      const bytes = lib.exportOnnx(model, { weights, arch: meta.arch, classes: meta.classes, preprocess: meta.preprocess });
      const p = await lib.createOnnxPredictor(bytes, `${weights}.onnx`);
      const probs = await p.predict(ds.pixels);
      await p.dispose();
      const pred = argmaxes(probs);
      reference = reference || pred;
      let correct = 0;
      let agree = 0;
      for (let i = 0; i < n; i++) {
        if (pred[i] === ds.labels[i]) correct++;
        if (pred[i] === reference[i]) agree++;
      }
      rows[weights] = { bytes: bytes.length, accuracy: correct / n, agreement: agree / n };
    }
  } finally {
    model.dispose();
  }
  // A quantized folder (the shipped uint8 TF.js copy) has no float32 weights: "float32" is its weights as decoded.
  const stored = quantized.length ? quantized.join('/') : undefined;
  return { images: n, data: sample + (args.accuracySplit ? ` (${args.accuracySplit})` : ''), model: path.relative(ROOT, source.dir), stored, rows };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const lib = require(path.join(ROOT, 'lib', 'dist'));
  const backend = await lib.initBackend();
  const load0 = os.loadavg()[0];
  console.log(`Inference speed (${lib.describeBackend(backend)}; load average ${load0.toFixed(2)} on ${os.cpus().length} cores)`);

  if (args.accuracyOnly) {
    const accuracy = await quantizedAccuracy(lib, args.accuracyModel || lib.defaultModelPath(), args);
    console.log(JSON.stringify(accuracy, null, 2));
    if (args.json) fs.writeFileSync(args.json, JSON.stringify({ title: 'Quantized accuracy', results: { accuracy } }, null, 2));
    return;
  }
  // Build the models and the predictors once.
  const engines = {};
  const sizes = {};
  for (const arch of args.models) {
    const model = lib.createModel(arch);
    const params = model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    const f32 = lib.exportOnnx(model, { arch });
    sizes[arch] = { params, float32: f32.length };
    for (const weights of ['float16', 'int8']) sizes[arch][weights] = lib.exportOnnx(model, { arch, weights }).length;
    engines[arch] = { tfjs: lib.createTfjsPredictor(model, lib.EMOTIONS, arch) };
    for (const t of args.threads) engines[arch][`onnx:${t}`] = await lib.createOnnxPredictor(f32, `${arch}.onnx`, { threads: t });
  }

  const results = {}; // key `${arch}|${engine}|${threads}` -> { latency, throughput }
  const record = (arch, engine, threads, r) => {
    const key = `${arch}|${engine}|${threads}`;
    const prev = results[key] || {};
    results[key] = { arch, engine, threads, latency: best(prev.latency, r.latency), throughput: best(prev.throughput, r.throughput), params: r.params };
  };
  let pytorchNote = null;
  for (let round = 0; round < args.rounds; round++) {
    for (const arch of args.models) {
      for (const [name, predictor] of Object.entries(engines[arch])) {
        const [engine, t] = name === 'tfjs' ? [`tfjs-${backend.name}`, 1] : ['onnxruntime', Number(name.split(':')[1])];
        const latency = await timePredict(predictor, 1, args.iters1, args.warmup);
        const throughput = await timePredict(predictor, 64, args.iters64, 1);
        record(arch, engine, t, { latency, throughput });
        process.stdout.write('.');
      }
    }
    if (args.pytorch && pytorchNote === null) {
      for (const t of args.threads) {
        const pt = runPytorch(args, t);
        if (pt.error) {
          pytorchNote = `PyTorch skipped: ${pt.error}`;
          break;
        }
        for (const [arch, r] of Object.entries(pt.models)) {
          if (r.error) continue;
          record(arch, 'pytorch', t, { latency: r.latency, throughput: r.throughput, params: r.params });
          results[`${arch}|pytorch|${t}`].torch = pt.torch;
        }
        process.stdout.write('.');
      }
    }
  }
  process.stdout.write('\n');
  for (const engines2 of Object.values(engines)) for (const p of Object.values(engines2)) await p.dispose();
  if (!args.pytorch) pytorchNote = 'PyTorch skipped (--no-pytorch)';
  if (pytorchNote) console.log(pytorchNote);

  // Table: ratios against PyTorch at the same thread count (>1 = faster than PyTorch).
  const lines = [];
  const header = ['model', 'engine', 'threads', 'batch-1 ms', 'batch-64 img/s', 'latency vs PyTorch', 'throughput vs PyTorch'];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  const rows = Object.values(results).sort((a, b) => a.arch.localeCompare(b.arch) || b.threads - a.threads || a.engine.localeCompare(b.engine));
  for (const r of rows) {
    const pt = results[`${r.arch}|pytorch|${r.threads}`];
    const lat = pt && r.engine !== 'pytorch' ? `${(pt.latency.medianMs / r.latency.medianMs).toFixed(2)}x` : '';
    const thr = pt && r.engine !== 'pytorch' ? `${(r.throughput.imgPerSec / pt.throughput.imgPerSec).toFixed(2)}x` : '';
    lines.push(`| ${r.arch} | ${r.engine} | ${r.threads} | ${r.latency.medianMs.toFixed(2)} | ${r.throughput.imgPerSec.toFixed(0)} | ${lat} | ${thr} |`);
  }
  const sizeLines = ['| model | trainable params | .onnx float32 | float16 | int8 |', '|---|---|---|---|---|'];
  for (const [arch, s] of Object.entries(sizes)) {
    const pt = Object.values(results).find((r) => r.arch === arch && r.engine === 'pytorch');
    const check = pt && pt.params !== undefined ? (pt.params === s.params ? ' (= PyTorch)' : ` (PyTorch: ${pt.params})`) : '';
    sizeLines.push(`| ${arch} | ${s.params.toLocaleString('en')}${check} | ${fmtBytes(s.float32)} | ${fmtBytes(s.float16)} | ${fmtBytes(s.int8)} |`);
  }
  const accuracy = await quantizedAccuracy(lib, args.accuracyModel || lib.defaultModelPath(), args);
  const accLines = [];
  if (accuracy.rows) {
    const storedNote = accuracy.stored ? ` (it stores ${accuracy.stored} weights: each row re-exports them as decoded, so "float32" is not the full-precision model)` : '';
    accLines.push(`Model ${accuracy.model}${storedNote} on ${accuracy.data} (${accuracy.images} images):`,
      '| weights | .onnx size | accuracy | same class as float32 |', '|---|---|---|---|');
    for (const [w, r] of Object.entries(accuracy.rows)) {
      accLines.push(`| ${w} | ${fmtBytes(r.bytes)} | ${(100 * r.accuracy).toFixed(2)}% | ${(100 * r.agreement).toFixed(2)}% |`);
    }
  } else accLines.push(`Quantized accuracy ${accuracy.note}`);
  const load1 = os.loadavg()[0];
  const table = [...lines, '', ...sizeLines, '', ...accLines, '',
    `Load average ${load0.toFixed(2)} -> ${load1.toFixed(2)} on ${os.cpus().length} cores; median of ${args.iters1} (batch 1) / ${args.iters64} (batch 64) runs, best of ${args.rounds} rounds.`,
  ].join('\n');
  console.log(table);

  const find = (arch, engine, t) => results[`${arch}|${engine}|${t}`];
  const summary = [];
  for (const arch of args.models) {
    const o = find(arch, 'onnxruntime', args.threads[0]);
    const pt = find(arch, 'pytorch', args.threads[0]);
    if (o) {
      summary.push(`${arch}: onnxruntime ${o.latency.medianMs.toFixed(2)} ms @1, ${o.throughput.imgPerSec.toFixed(0)} img/s @64` +
        (pt ? ` (${(pt.latency.medianMs / o.latency.medianMs).toFixed(2)}x / ${(o.throughput.imgPerSec / pt.throughput.imgPerSec).toFixed(2)}x PyTorch, ${args.threads[0]} threads)` : ''));
    }
  }
  const report = {
    title: 'Inference: onnxruntime-node vs TF.js vs PyTorch CPU',
    backend: lib.describeBackend(backend),
    table,
    summary,
    notes: pytorchNote ? [pytorchNote] : [],
    results: { rows, sizes, accuracy, args, loadAverage: [load0, load1] },
  };
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(report, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
