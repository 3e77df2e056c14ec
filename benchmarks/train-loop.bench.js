#!/usr/bin/env node
/**
 * The training loop's parts, timed: the CPU data pipeline (gather + augmentation + normalise + MixUp/CutMix) per
 * preset, and fer-lab's own training step (lib/src/train/step: our Adam, label smoothing) per model, at batch 64.
 * Shows whether the data or the step is the bottleneck (the data side must be a small fraction of the step).
 *
 *   node benchmarks/train-loop.bench.js [--models vgg-compact] [--batch 64] [--steps 4] [--warmup 1] [--json out.json]
 *
 * Uses the built lib (lib/dist: run `npx tsc -p lib` first).
 */
'use strict';
const path = require('path');
const fs = require('fs');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const args = { models: ['vgg-compact'], batch: 64, steps: 4, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--models') args.models = next().split(',');
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

async function timeStep(lib, arch, batch, steps, warmup) {
  await lib.initBackend('wasm');
  const model = lib.createModel(arch, {});
  const opt = lib.createOptimizer({ name: 'adam' });
  const step = lib.createTrainStep(model, opt, { labelSmoothing: 0.1, fromLogits: !lib.outputsProbabilities(model) });
  const x = lib.normalizePixels(syntheticPixels(batch, 2));
  const y = new Float32Array(batch * 7);
  for (let i = 0; i < batch; i++) y[i * 7 + (i % 7)] = 1;
  for (let i = 0; i < warmup; i++) step(x, y, batch, 1e-3);
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) step(x, y, batch, 1e-3);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  opt.dispose();
  model.dispose();
  return { msPerStep: (seconds / steps) * 1000, imgPerSec: (batch * steps) / seconds };
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
    const r = await timeStep(lib, arch, args.batch, args.steps, args.warmup);
    rows.push({ part: `step: ${arch} (wasm, Adam)`, msPerBatch: r.msPerStep, imgPerSec: r.imgPerSec });
    console.log(`step ${arch}: ${r.msPerStep.toFixed(0)} ms/step, ${r.imgPerSec.toFixed(1)} img/s`);
  }
  const table = ['| part | ms per batch of ' + args.batch + ' | images/s |', '|---|---:|---:|']
    .concat(rows.map((r) => `| ${r.part} | ${r.msPerBatch.toFixed(2)} | ${r.imgPerSec.toFixed(1)} |`))
    .join('\n');
  const result = { title: 'Training loop: data pipeline vs training step', table, rows, backend: 'wasm' };
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(result, null, 2));
  console.log(table);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
