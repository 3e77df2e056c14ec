#!/usr/bin/env node
/**
 * Inference time of an int8-weight .onnx (`fer export --int8`, the shipped model.onnx) with onnxruntime's QDQ handling
 * on (its default) and off (what fer-lab's predictor sets for such files: lib/src/inference/onnx.ts), and of a
 * float32 .onnx for reference. Batch 1 and batch 64, 2 threads, medians; rounds alternate the variants.
 *
 *   node benchmarks/onnx-int8-load.js [--int8 checkpoints/fer-lab-default/model.onnx] [--float32 other.onnx]
 *        [--rounds 2]
 *
 * Not part of `npm run bench` (it explains one loading choice).
 */
'use strict';
const path = require('path');
const { parseArgs } = require('util');
const ort = require('onnxruntime-node');

const ROOT = path.resolve(__dirname, '..');

async function time(file, qdqOff) {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    ...(qdqOff ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
  });
  const out = {};
  try {
    for (const n of [1, 64]) {
      const x = new ort.Tensor('float32', Float32Array.from({ length: n * 48 * 48 }, (_, i) => ((i * 37) % 256) / 255), [n, 48, 48, 1]);
      const feeds = { [session.inputNames[0]]: x };
      for (let i = 0; i < 3; i++) await session.run(feeds);
      const ms = [];
      for (let i = 0; i < (n === 1 ? 40 : 8); i++) {
        const t0 = performance.now();
        await session.run(feeds);
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      out[`batch ${n}`] = ms[ms.length >> 1];
    }
  } finally {
    await session.release();
  }
  return out;
}

async function main() {
  const { values } = parseArgs({
    options: {
      int8: { type: 'string', default: path.join(ROOT, 'checkpoints', 'fer-lab-default', 'model.onnx') },
      float32: { type: 'string' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const variants = [['int8, QDQ handling on (onnxruntime default)', values.int8, false], ['int8, QDQ handling off (fer-lab)', values.int8, true]];
  if (values.float32) variants.push(['float32', values.float32, false]);
  for (let r = 1; r <= Number(values.rounds); r++) {
    for (const [label, file, off] of variants) {
      const t = await time(file, off);
      console.log(`round ${r}: ${label}: ${Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(', ')}`);
    }
  }
}

main().catch((err) => {
  console.error(`onnx-int8-load: ${err.message}`);
  process.exit(1);
});
