#!/usr/bin/env node
/**
 * Where one `fer train` step on the onnxruntime engine goes, outside the graph: the workers' gradients (the training
 * graph on each share of the batch, weights in and gradients out of shared memory, their sum), the optimizer (Adam on
 * Float32Arrays in this thread) and the copy of the weights into the TF.js variables. Medians over the steps after
 * two warm-up steps.
 *
 *   node benchmarks/train-step-parts.js [--arch vgg-large] [--batch 64] [--workers 2] [--steps 8]
 *
 * Uses the built lib (lib/dist). Not part of `npm run bench` (it measures parts, not a goal).
 */
'use strict';
const path = require('path');
const { parseArgs } = require('util');

async function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'vgg-large' },
      batch: { type: 'string', default: '64' },
      workers: { type: 'string', default: '2' },
      steps: { type: 'string', default: '8' },
    },
  });
  const lib = require(path.join(__dirname, '..', 'lib', 'dist'));
  const tf = lib.tf;
  await lib.initBackend('wasm'); // holds the variables, as in `fer train`
  const batch = Number(values.batch);
  const optimizer = lib.createOptimizer({ name: 'adam' });
  const runner = await lib.OrtStepRunner.create(lib.createModel(values.arch), optimizer, { fromLogits: false },
    { workers: Number(values.workers) });
  const x = new Float32Array(batch * 48 * 48).map((_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1 + 0.5);
  const t = new Float32Array(batch * 7);
  for (let i = 0; i < batch; i++) t[i * 7 + (i % 7)] = 1;
  // runner.run() is these three parts (plus batch-norm moving averages on a few hundred values)
  const times = { gradients: [], optimizer: [], 'TF.js variables': [], step: [] };
  const variables = [...runner.weightArrays().keys()];
  const params = [...runner.weightArrays().values()];
  const shapes = variables.map((v) => v.shape);
  for (let s = 0; s < Number(values.steps) + 2; s++) {
    const t0 = performance.now();
    const r = await runner.gradients(x, t, batch, s);
    const t1 = performance.now();
    optimizer.applyToArrays(params, r.grads, shapes, 1e-3);
    const t2 = performance.now();
    tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(params[i], shapes[i], 'float32'))));
    const t3 = performance.now();
    if (s < 2) continue;
    times.gradients.push(t1 - t0);
    times.optimizer.push(t2 - t1);
    times['TF.js variables'].push(t3 - t2);
    times.step.push(t3 - t0);
  }
  await runner.close();
  const median = (a) => a.slice().sort((p, q) => p - q)[a.length >> 1];
  console.log(`${values.arch}, batch ${batch}, ${values.workers} worker(s), median of ${values.steps} steps:`);
  for (const [part, list] of Object.entries(times)) console.log(`  ${part.padEnd(16)} ${median(list).toFixed(1)} ms`);
  console.log(`  => ${((batch * 1000) / median(times.step)).toFixed(1)} img/s`);
}

main().catch((err) => {
  console.error(`train-step-parts: ${err.message}`);
  process.exit(1);
});
