#!/usr/bin/env node
/**
 * Average the weights of trained models of one architecture into one model (a uniform "model soup"): for runs that
 * share a parent, e.g. a `fer train --init` chain. Score the result on validation with scripts/ensemble-val.js.
 *
 *   node scripts/average-weights.js --out <new model folder> <model folder or run>...
 *
 * Uses the built lib (lib/dist; averageModelFolders in lib/src/train/average.ts).
 */
'use strict';
const { parseArgs } = require('util');

async function main() {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
  if (!values.out || positionals.length < 2) {
    throw new Error('usage: node scripts/average-weights.js --out <new model folder> <model folder or run> <model folder or run>...');
  }
  const fer = require('../lib/dist');
  await fer.initBackend();
  const meta = await fer.averageModelFolders(positionals, values.out);
  console.log(`${values.out}: the mean of ${positionals.length} models' weights (${meta.arch})`);
}

main().catch((err) => {
  console.error(`average-weights: ${err.message}`);
  process.exit(1);
});
