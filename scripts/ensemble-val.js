#!/usr/bin/env node
/**
 * Validation accuracy of trained models, alone and averaged (flip TTA), on a run's validation split: is an ensemble
 * of them a better teacher (`fer train --teachers`) than the best one alone? Validation only: PublicTest chooses
 * nothing.
 *
 *   node scripts/ensemble-val.js --run <run folder whose split to use> --data <dataset> [--json out.json] <model>...
 *
 * Uses the built lib (lib/dist).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

async function main() {
  const { values, positionals } = parseArgs({
    options: { run: { type: 'string' }, data: { type: 'string' }, json: { type: 'string' } },
    allowPositionals: true,
  });
  if (!values.run || !values.data || positionals.length === 0) {
    throw new Error('usage: node scripts/ensemble-val.js --run <run folder> --data <dataset> [--json out.json] <model>...');
  }
  const fer = require('../lib/dist');
  const config = fer.readSavedConfig(values.run);
  if (!config) throw new Error(`${values.run} holds no training run (no last/state.json)`);
  const { val, classes } = fer.prepareTrainingData(await fer.loadDataset(values.data), config);
  const K = classes.length;
  const accuracy = (probs) => {
    let correct = 0;
    for (let i = 0; i < val.size; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (probs[i * K + k] > probs[i * K + best]) best = k;
      if (best === val.labels[i]) correct++;
    }
    return correct / val.size;
  };
  const sum = new Float32Array(val.size * K);
  const models = [];
  for (const model of positionals) {
    const predictor = await fer.loadPredictor(model);
    try {
      const single = accuracy(await predictor.predict(val.pixels));
      const probs = await fer.predictWithTta(predictor, val.pixels, { mode: 'flip' });
      probs.forEach((p, i) => (sum[i] += p));
      models.push({ model, accuracy: single, flipTta: accuracy(probs) });
      console.log(`${model}: ${(100 * single).toFixed(2)}%, with flip TTA ${(100 * accuracy(probs)).toFixed(2)}%`);
    } finally {
      await predictor.dispose();
    }
  }
  const ensemble = accuracy(sum);
  console.log(`mean of the ${positionals.length} (flip TTA): ${(100 * ensemble).toFixed(2)}% on ${val.size} validation images`);
  if (values.json) {
    const out = {
      command: `node scripts/ensemble-val.js ${process.argv.slice(2).join(' ')}`,
      date: new Date().toISOString(), valImages: val.size, models, ensembleFlipTta: ensemble,
    };
    fs.mkdirSync(path.dirname(values.json), { recursive: true });
    fs.writeFileSync(`${values.json}.tmp`, JSON.stringify(out, null, 2) + '\n');
    fs.renameSync(`${values.json}.tmp`, values.json);
  }
}

main().catch((err) => {
  console.error(`ensemble-val: ${err.message}`);
  process.exit(1);
});
