#!/usr/bin/env node
/**
 * Average the weights of trained models of one architecture into one model (a uniform "model soup"): for runs that
 * share a parent, e.g. a `fer train --init` chain. Score the result on validation with scripts/ensemble-val.js.
 *
 *   node scripts/average-weights.js --out <model folder> <model folder or run>...
 *
 * Uses the built lib (lib/dist). meta.json is the first model's, with `averagedFrom` listing the inputs.
 */
'use strict';
const { parseArgs } = require('util');

async function main() {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
  if (!values.out || positionals.length < 2) {
    throw new Error('usage: node scripts/average-weights.js --out <model folder> <model folder or run> <model folder or run>...');
  }
  const fer = require('../lib/dist');
  await fer.initBackend();
  const loaded = [];
  for (const dir of positionals) loaded.push(await fer.loadCheckpoint(dir));
  const averaged = fer.averageWeights(loaded.map((c) => c.model), positionals);
  const { model, meta } = loaded[0];
  model.setWeights(averaged);
  averaged.forEach((t) => t.dispose());
  const { training, ...rest } = meta; // the first input's training record does not describe the average
  await fer.saveCheckpoint(values.out, { model, meta: { ...rest, averagedFrom: positionals } });
  loaded.forEach((c) => c.model.dispose());
  console.log(`${values.out}: the mean of ${positionals.length} models' weights (${meta.arch})`);
}

main().catch((err) => {
  console.error(`average-weights: ${err.message}`);
  process.exit(1);
});
