#!/usr/bin/env node
/**
 * Where one onnxruntime training step spends its time: runs the training graph of a model (lib/src/train/ort) with
 * onnxruntime's profiler on and prints milliseconds per step by op type and the slowest nodes.
 *
 *   node benchmarks/train-profile.js [--arch vgg-compact] [--batch 64] [--threads 2] [--runs 4] [--top 25]
 *        [--gemm-max-pixels 36] (convolutions with at most this many output pixels as im2col + GEMM)
 *        [--winograd-min-channels 192] (3x3 'same' convolutions with this many channels in and out as Winograd; 0 = none)
 *        [--opt-level all] (onnxruntime graph optimisation: disabled, basic, extended or all)
 *        [--wall-only] (no profiler: the median wall time of `runs` steps, for before/after comparisons; the
 *        profiler's per-node overhead inflates whole steps and can rank graph variants differently)
 *
 * Uses the built lib (lib/dist; FER_DIST=<folder in lib> takes another build, e.g. one of the previous commit for a
 * before/after pair). Not part of `npm run bench` (it measures parts, not a goal).
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const ort = require('onnxruntime-node');

const ROOT = path.resolve(__dirname, '..');

async function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'vgg-compact' },
      batch: { type: 'string', default: '64' },
      threads: { type: 'string', default: String(os.cpus().length) },
      runs: { type: 'string', default: '4' },
      top: { type: 'string', default: '25' },
      'gemm-max-pixels': { type: 'string' },
      'winograd-min-channels': { type: 'string' },
      'opt-level': { type: 'string', default: 'all' },
      'wall-only': { type: 'boolean', default: false },
    },
  });
  const lib = require(path.join(ROOT, 'lib', process.env.FER_DIST ?? 'dist'));
  const { buildTrainingGraph } = require(path.join(ROOT, 'lib', process.env.FER_DIST ?? 'dist', 'train', 'ort', 'graph'));
  const { encodeModel } = require(path.join(ROOT, 'lib', process.env.FER_DIST ?? 'dist', 'export', 'graph'));
  await lib.initBackend('wasm');
  const n = Number(values.batch);
  const runs = Number(values.runs);
  const model = lib.createModel(values.arch);
  const g = buildTrainingGraph(model, {
    ...(values['gemm-max-pixels'] ? { gemmConvMaxPixels: Number(values['gemm-max-pixels']) } : {}),
    ...(values['winograd-min-channels'] ? { winogradMinChannels: Number(values['winograd-min-channels']) } : {}),
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-profile-'));
  const session = await ort.InferenceSession.create(encodeModel(g.graph, { producerVersion: 'profile', metadata: {} }), {
    intraOpNumThreads: Number(values.threads), interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: values['opt-level'],
    ...(values['wall-only'] ? {} : { enableProfiling: true, profileFilePrefix: path.join(dir, 'profile') }),
  });
  const x = new Float32Array(n * 48 * 48).map((_, i) => 0.5 + 0.5 * Math.sin(i * 0.37));
  const targets = new Float32Array(n * 7).fill(1 / 7);
  const feeds = {
    x: new ort.Tensor('float32', x, [n, 48, 48, 1]),
    targets: new ort.Tensor('float32', targets, [n, 7]),
    weights: new ort.Tensor('float32', new Float32Array(n).fill(1 / n), [n]),
  };
  for (const p of g.params) feeds[p.input] = new ort.Tensor('float32', p.variable.read().dataSync(), p.shape);
  for (const d of g.dropouts) {
    feeds[d.input] = new ort.Tensor('float32', new Float32Array(n * d.shape.reduce((a, b) => a * b, 1)).fill(1), [n, ...d.shape]);
  }
  await session.run(feeds); // warm-up (also profiled; excluded below by taking the last `runs` runs)
  if (values['wall-only']) {
    await session.run(feeds);
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`${values.arch}, batch ${n}, ${values.threads} threads, no profiler: median ${times[times.length >> 1].toFixed(1)} ms per step, fastest ${times[0].toFixed(1)}`);
    await session.release();
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feeds);
  const wall = (performance.now() - t0) / runs;
  session.endProfiling();
  const file = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.endsWith('.json'));
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const runStarts = events.filter((e) => e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
  const firstTimed = runStarts[runStarts.length - runs] ?? 0;
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= firstTimed);
  const byOp = new Map();
  const byNode = new Map();
  for (const e of kernels) {
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur);
    const node = `${e.args.op_name} ${e.name.replace('_kernel_time', '')}`;
    byNode.set(node, (byNode.get(node) ?? 0) + e.dur);
  }
  const ms = (us) => (us / runs / 1000).toFixed(1).padStart(7);
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  console.log(`${values.arch}, batch ${n}, ${values.threads} threads: ${wall.toFixed(1)} ms per step wall, ${ms(total).trim()} ms kernel time`);
  console.log('\nby op type (ms/step):');
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) if (us / runs >= 100) console.log(`${ms(us)}  ${op}`);
  console.log(`\nslowest ${values.top} nodes (ms/step):`);
  for (const [node, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${ms(us)}  ${node}`);
  await session.release();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
