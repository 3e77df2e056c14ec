#!/usr/bin/env node
/**
 * Average the weights of trained models of one architecture into one model (a uniform "model soup"): for runs that
 * share a parent, e.g. a `fer train --init` chain. Score the result on validation with scripts/ensemble-val.js.
 *
 *   node scripts/average-weights.js --out <new model folder> [--bn-run <run> --data <dataset>] <model folder or run>...
 *
 * --bn-run re-estimates the average's batch-norm statistics on that run's training images (its split rebuilt from its
 * config and --data; lib/src/train/batchnorm.ts) instead of averaging them: one more forward pass over those images.
 *
 * Uses the built lib (lib/dist; averageModelFolders in lib/src/train/average.ts).
 */
'use strict';
const { parseArgs } = require('util');

async function main() {
  const { values, positionals } = parseArgs({
    options: { out: { type: 'string' }, 'bn-run': { type: 'string' }, data: { type: 'string' } },
    allowPositionals: true,
  });
  if (!values.out || positionals.length < 2 || !values['bn-run'] !== !values.data) {
    throw new Error('usage: node scripts/average-weights.js --out <new model folder> [--bn-run <run> --data <dataset>] <model folder or run> <model folder or run>...');
  }
  const fer = require('../lib/dist');
  await fer.initBackend();
  let batchNormImages;
  if (values['bn-run']) {
    const config = fer.readSavedConfig(values['bn-run']);
    if (!config) throw new Error(`${values['bn-run']} holds no training run (no config.json or last/state.json)`);
    batchNormImages = fer.prepareTrainingData(await fer.loadDataset(values.data), config).train.pixels;
  }
  const meta = await fer.averageModelFolders(positionals, values.out, { batchNormImages });
  const bn = meta.batchNormImages ? `, batch-norm statistics re-estimated on ${meta.batchNormImages} training images` : '';
  console.log(`${values.out}: the mean of ${positionals.length} models' weights (${meta.arch})${bn}`);
}

main().catch((err) => {
  console.error(`average-weights: ${err.message}`);
  process.exit(1);
});
