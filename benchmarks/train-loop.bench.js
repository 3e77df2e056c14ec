#!/usr/bin/env node
/**
 * The training loop's parts, timed: the CPU data pipeline (gather + augmentation + normalise + MixUp/CutMix) per
 * preset, and fer-lab's own training step (lib/src/train/step: our Adam, label smoothing) per model, at batch 64.
 * Shows whether the data or the step is the bottleneck (the data side must be a small fraction of the step).
 * Also the weight average's per-step update (--ema), reading the weights back from the wasm heap or from the arrays
 * the onnxruntime step runner already holds (StepRunner.weightArrays, what `fer train` does).
 *
 *   node benchmarks/train-loop.bench.js [--models vgg-compact] [--workers 1,2] [--batch 64] [--steps 4] [--warmup 1]
 *        [--json out.json]
 * --workers: 1 = the step in this thread; 2 = data-parallel over 2 worker threads (train/parallel), same batch.
 *
 * Uses the built lib (lib/dist: run `npx tsc -p lib` first).
 */
'use strict';
const path = require('path');
const fs = require('fs');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const args = { models: ['vgg-compact'], workers: [1, 2], batch: 64, steps: 4, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--models') args.models = next().split(',');
    else if (a === '--workers') args.workers = next().split(',').map(Number);
    else if (a === '--batch') args.batch = Number(next());
    else if (a === '--steps') args.steps = Number(next());
    else if (a === '--warmup') args.warmup = Number(next());
    else if (a === '--json') args.json = next();
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function syntheticPixels(n, seed) {
  const lib = require(path.join(ROOT, 'lib', 'dist'));
  const r = lib.createRandom(seed);
  const px = new Uint8Array(n * 2304);
  for (let i = 0; i < px.length; i++) px[i] = (r() * 256) | 0;
  return px;
}

function timeDataPipeline(lib, preset, mix, batch, batches) {
  const pool = syntheticPixels(batch * 8, 1);
  const targets = new Float32Array(batch * 7);
  const aug = lib.createAugmenter(preset);
  const out = new Uint8Array(batch * 2304);
  const start = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    const offset = (b % 8) * batch * 2304;
    aug.apply(pool.subarray(offset, offset + batch * 2304), lib.streamFor(42, 'augment', 0, b), out);
    const x = lib.normalizePixels(out);
    targets.fill(0);
    for (let i = 0; i < batch; i++) targets[i * 7 + (i % 7)] = 1;
    lib.mixBatch(x, targets, 7, mix, lib.streamFor(42, 'mix', 0, b));
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { msPerBatch: (seconds / batches) * 1000, imgPerSec: (batch * batches) / seconds };
}

async function timeStep(lib, arch, workers, batch, steps, warmup) {
  await lib.initBackend('wasm');
  const model = lib.createModel(arch, {});
  const opt = lib.createOptimizer({ name: 'adam' });
  const loss = { labelSmoothing: 0.1, fromLogits: !lib.outputsProbabilities(model) };
  const runner = workers > 1
    ? await lib.parallelStepRunner(model, opt, loss, { workers, backend: 'wasm' })
    : lib.localStepRunner(model, opt, loss);
  const x = lib.normalizePixels(syntheticPixels(batch, 2));
  const y = new Float32Array(batch * 7);
  for (let i = 0; i < batch; i++) y[i * 7 + (i % 7)] = 1;
  for (let i = 0; i < warmup; i++) await runner.run(x, y, batch, 1e-3, i);
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) await runner.run(x, y, batch, 1e-3, i);
  const cpu = process.cpuUsage(cpu0);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await runner.close();
  opt.dispose();
  model.dispose();
  // CPU time of all threads of this process: on a busy machine wall time says little, CPU per image still tells
  // the cost, and with free cores a step runs in about (CPU per step / threads busy).
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { msPerStep: (seconds / steps) * 1000, imgPerSec: (batch * steps) / seconds, cpuMsPerImage: (cpuSeconds * 1000) / (batch * steps) };
}

/** ms per WeightEma.update of `arch`'s weights: read from the backend, and from arrays already at hand. */
async function timeEma(lib, arch, updates) {
  await lib.initBackend('wasm');
  const model = lib.createModel(arch, {});
  const ema = lib.WeightEma.start(model, 0.999, 0.75);
  const known = new Map(model.trainableWeights.map((w) => [w.read(), new Float32Array(w.read().dataSync())]));
  const time = (k) => {
    for (let i = 0; i < 3; i++) ema.update(model, k);
    const start = process.hrtime.bigint();
    for (let i = 0; i < updates; i++) ema.update(model, k);
    return Number(process.hrtime.bigint() - start) / 1e6 / updates;
  };
  const result = { backend: time(undefined), arrays: time(known) };
  model.dispose();
  return result;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const lib = require(path.join(ROOT, 'lib', 'dist'));
  const noMix = { mixupAlpha: 0, cutmixAlpha: 0, prob: 1, switchProb: 0.5 };
  const bothMix = { mixupAlpha: 0.2, cutmixAlpha: 1, prob: 1, switchProb: 0.5 };
  const rows = [];
  for (const preset of ['none', 'light', 'standard', 'strong']) {
    const r = timeDataPipeline(lib, preset, preset === 'strong' ? bothMix : noMix, args.batch, 60);
    rows.push({ part: `data: augment ${preset}${preset === 'strong' ? ' + mixup/cutmix' : ''}`, ...r });
    console.log(`${rows[rows.length - 1].part}: ${r.msPerBatch.toFixed(2)} ms/batch, ${r.imgPerSec.toFixed(0)} img/s`);
  }
  for (const arch of args.models) {
    for (const workers of args.workers) {
      const r = await timeStep(lib, arch, workers, args.batch, args.steps, args.warmup);
      const part = `step: ${arch} (wasm, Adam, ${workers > 1 ? `${workers} worker threads` : 'one thread'})`;
      rows.push({ part, msPerBatch: r.msPerStep, imgPerSec: r.imgPerSec, cpuMsPerImage: r.cpuMsPerImage });
      console.log(`${part}: ${r.msPerStep.toFixed(0)} ms/step, ${r.imgPerSec.toFixed(1)} img/s, ${r.cpuMsPerImage.toFixed(1)} CPU-ms/image`);
    }
  }
  for (const arch of args.models) {
    const e = await timeEma(lib, arch, 20);
    for (const [how, ms] of [['weights read back from the wasm heap', e.backend], ["the step runner's arrays", e.arrays]]) {
      rows.push({ part: `weight average update: ${arch}, ${how}`, msPerBatch: ms, imgPerSec: (args.batch * 1000) / ms });
      console.log(`${rows[rows.length - 1].part}: ${ms.toFixed(1)} ms/step`);
    }
  }
  const table = ['| part | ms per batch of ' + args.batch + ' | images/s | CPU-ms per image |', '|---|---:|---:|---:|']
    .concat(rows.map((r) => `| ${r.part} | ${r.msPerBatch.toFixed(2)} | ${r.imgPerSec.toFixed(1)} | ${r.cpuMsPerImage ? r.cpuMsPerImage.toFixed(1) : ''} |`))
    .join('\n');
  const result = {
    title: 'Training loop: data pipeline vs training step', table, rows, backend: 'wasm',
    notes: [`load average at the end: ${require('os').loadavg().map((v) => v.toFixed(1)).join(' ')}`],
  };
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(result, null, 2));
  console.log(table);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
