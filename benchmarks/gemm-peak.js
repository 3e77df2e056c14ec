#!/usr/bin/env node
/**
 * What onnxruntime's GEMM (MLAS) reaches on one core of this machine: GFLOP/s of a lone MatMul at a square size and at
 * two shapes from vgg-large's training step (block4's forward GEMM, block1's filter gradient). The ceiling against
 * which the training graph's speed is read (results/benchmarks/train-speed-vgg-large.md).
 *
 *   node benchmarks/gemm-peak.js [--threads 1]
 *
 * Not part of `npm run bench`.
 */
'use strict';
const path = require('path');
const { parseArgs } = require('util');
const ort = require('onnxruntime-node');

const { GraphBuilder, encodeModel } = require(path.join(__dirname, '..', 'lib', 'dist', 'export', 'graph'));

async function gflops(m, k, n, threads) {
  const b = new GraphBuilder('gemm', { name: 'a', shape: [m, k] }, { name: 'y', shape: [m, n] });
  b.graph.extraInputs = [{ name: 'b', shape: [k, n] }];
  b.node('MatMul', ['a', 'b']);
  b.graph.nodes[0].outputs = ['y'];
  const session = await ort.InferenceSession.create(encodeModel(b.graph, { producerVersion: 'gemm-peak', metadata: {} }), {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const feeds = {
    a: new ort.Tensor('float32', Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)), [m, k]),
    b: new ort.Tensor('float32', Float32Array.from({ length: k * n }, (_, i) => Math.cos(i)), [k, n]),
  };
  const ms = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  await session.release();
  ms.sort((p, q) => p - q);
  return (2 * m * k * n) / ms[3] / 1e6;
}

async function main() {
  const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' } } });
  const threads = Number(values.threads);
  for (const [m, k, n] of [[1024, 1024, 1024], [256, 2304, 4608], [576, 36864, 64]]) {
    console.log(`MatMul ${m}x${k} * ${k}x${n}, ${threads} thread(s): ${(await gflops(m, k, n, threads)).toFixed(1)} GFLOP/s (median of 7)`);
  }
}

main().catch((err) => {
  console.error(`gemm-peak: ${err.message}`);
  process.exit(1);
});
