#!/usr/bin/env node
/**
 * Paired before/after timing of the onnxruntime training graph: builds the graph of each given build of lib (folders
 * under lib/, e.g. dist and a dist-old compiled from the previous commit's sources) in one process and runs them in
 * turn, alternating the order every round, so that every variant sees the same machine. This shared VM's speed drifts
 * by 15-40% within minutes; separate runs (or onnxruntime's profiler, whose per-node overhead reorders variants)
 * cannot resolve a 5% change, the median of paired ratios can.
 *
 *   node benchmarks/train-graph-ab.js <build> <build>... [--arch vgg-wide] [--batch 32] [--threads 1] [--rounds 12]
 *
 * A build may carry graph options: `dist:winogradMinChannels=128,gemmConvMaxPixels=36` (TrainingGraphOptions,
 * numbers), so one build can be compared with itself under other options. The first build is the reference.
 * Batch 32 on 1 thread is one worker's share of `fer train`'s default step.
 * Not part of `npm run bench` (it compares code, not a goal).
 */
'use strict';
const path = require('path');
const { parseArgs } = require('util');
const ort = require('onnxruntime-node');

const ROOT = path.resolve(__dirname, '..');

async function variant(spec, arch, n, threads) {
  const [build, optionList] = spec.split(':');
  const options = Object.fromEntries((optionList ? optionList.split(',') : []).map((kv) => {
    const [key, value] = kv.split('=');
    return [key, Number(value)];
  }));
  const dir = path.join(ROOT, 'lib', build);
  const lib = require(dir);
  const { buildTrainingGraph, DEFAULT_TRAINING_GRAPH_OPTIONS } = require(path.join(dir, 'train', 'ort', 'graph'));
  // A mistyped option would compare a graph with itself (ratio ~1) without a word: refuse it.
  for (const [key, value] of Object.entries(options)) {
    if (!(key in DEFAULT_TRAINING_GRAPH_OPTIONS)) throw new Error(`${spec}: ${build} has no graph option "${key}" (it has ${Object.keys(DEFAULT_TRAINING_GRAPH_OPTIONS).join(', ')})`);
    if (!Number.isFinite(value)) throw new Error(`${spec}: option ${key} needs a number`);
  }
  const { encodeModel } = require(path.join(dir, 'export', 'graph'));
  await lib.initBackend('cpu'); // only holds the initial weights
  const g = buildTrainingGraph(lib.createModel(arch), options);
  const session = await ort.InferenceSession.create(encodeModel(g.graph, { producerVersion: 'ab', metadata: {} }), {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const x = new Float32Array(n * 48 * 48).map((_, i) => 0.5 + 0.5 * Math.sin(i * 0.37));
  const feeds = {
    x: new ort.Tensor('float32', x, [n, 48, 48, 1]),
    targets: new ort.Tensor('float32', new Float32Array(n * 7).fill(1 / 7), [n, 7]),
    weights: new ort.Tensor('float32', new Float32Array(n).fill(1 / n), [n]),
  };
  for (const p of g.params) feeds[p.input] = new ort.Tensor('float32', p.variable.read().dataSync(), p.shape);
  for (const d of g.dropouts) {
    feeds[d.input] = new ort.Tensor('float32', new Float32Array(n * d.shape.reduce((a, b) => a * b, 1)).fill(1), [n, ...d.shape]);
  }
  await session.run(feeds); // warm-up: first runs allocate and plan
  await session.run(feeds);
  return { build: spec, session, feeds, times: [] };
}

const median = (values) => {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

async function main() {
  const { values, positionals } = parseArgs({
    options: {
      arch: { type: 'string', default: 'vgg-wide' },
      batch: { type: 'string', default: '32' },
      threads: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '12' },
    },
    allowPositionals: true,
  });
  if (positionals.length < 2) throw new Error('usage: node benchmarks/train-graph-ab.js <build> <build>... (folders under lib/)');
  const variants = [];
  for (const build of positionals) variants.push(await variant(build, values.arch, Number(values.batch), Number(values.threads)));
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const v of r % 2 ? [...variants].reverse() : variants) {
      const t = performance.now();
      await v.session.run(v.feeds);
      v.times.push(performance.now() - t);
    }
  }
  console.log(`${values.arch}, batch ${values.batch}, ${values.threads} thread(s), ${values.rounds} rounds:`);
  for (const v of variants) console.log(`  ${v.build}: median ${median(v.times).toFixed(1)} ms, fastest ${Math.min(...v.times).toFixed(1)} ms`);
  const ref = variants[0];
  for (const v of variants.slice(1)) {
    console.log(`  ${v.build} / ${ref.build}: median paired ratio ${median(v.times.map((t, k) => t / ref.times[k])).toFixed(3)}`);
  }
  for (const v of variants) await v.session.release();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
