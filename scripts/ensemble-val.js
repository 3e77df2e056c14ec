#!/usr/bin/env node
/**
 * Validation accuracy of trained models, alone and averaged (flip TTA; every subset of two or more), on a run's
 * validation split: which ensemble of them is the best teacher (`fer train --teachers`)? Validation only: PublicTest
 * chooses nothing.
 *
 *   node scripts/ensemble-val.js --run <run folder whose split to use> --data <dataset> [--json out.json]
 *     [--ferplus-votes <FER+ folder or zip>] <model>...
 *
 * With --ferplus-votes, the best subset and the best single model are also scored with FER+'s human votes mixed in,
 * (1 - w) * models + w * votes for several w (`fer train --ferplus-votes --ferplus-vote-weight w`): how much of the
 * teacher the votes should be.
 *
 * Uses the built lib (lib/dist).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

async function main() {
  const { values, positionals } = parseArgs({
    options: { run: { type: 'string' }, data: { type: 'string' }, json: { type: 'string' }, 'ferplus-votes': { type: 'string' } },
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
  const models = [];
  const tta = []; // each model's flip-averaged probabilities, for the subset ensembles below
  for (const model of positionals) {
    const predictor = await fer.loadPredictor(model);
    try {
      const single = accuracy(await predictor.predict(val.pixels));
      const probs = await fer.predictWithTta(predictor, val.pixels, { mode: 'flip' });
      tta.push(probs);
      models.push({ model, accuracy: single, flipTta: accuracy(probs) });
      console.log(`${model}: ${(100 * single).toFixed(2)}%, with flip TTA ${(100 * accuracy(probs)).toFixed(2)}%`);
    } finally {
      await predictor.dispose();
    }
  }
  // The mean of some models' flip-averaged probabilities (indices into positionals).
  const meanOf = (members) => {
    const mean = new Float32Array(val.size * K);
    for (const j of members) tta[j].forEach((p, i) => (mean[i] += p / members.length));
    return mean;
  };
  // Every subset of two or more models: which teachers to combine is itself a validation-only choice.
  const subsets = [];
  for (let mask = 1; mask < 1 << tta.length; mask++) {
    const members = tta.map((_, j) => j).filter((j) => mask & (1 << j));
    if (members.length < 2) continue;
    const subset = { models: members.map((j) => positionals[j]), flipTta: accuracy(meanOf(members)) };
    subsets.push(subset);
    console.log(`mean of ${subset.models.join(' + ')} (flip TTA): ${(100 * subset.flipTta).toFixed(2)}%`);
  }
  const ensemble = subsets.length ? subsets[subsets.length - 1].flipTta : models[0].flipTta;
  console.log(`mean of all ${positionals.length} (flip TTA): ${(100 * ensemble).toFixed(2)}% on ${val.size} validation images`);
  let votes;
  if (values['ferplus-votes']) {
    const v = await fer.ferplusVotesFor(values['ferplus-votes'], val, classes, console.log, 'validation images');
    const best = (list) => list.reduce((a, b) => (b.flipTta > a.flipTta ? b : a));
    const bestSubset = subsets.length ? best(subsets) : undefined;
    const bestSingle = best(models);
    const indices = (names) => names.map((name) => positionals.indexOf(name));
    const scored = [];
    for (const weight of [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1]) {
      const row = { weight, bestSingle: accuracy(fer.withVotes(meanOf(indices([bestSingle.model])), val.targets, { ...v, weight })) };
      if (bestSubset) row.bestSubset = accuracy(fer.withVotes(meanOf(indices(bestSubset.models)), val.targets, { ...v, weight }));
      scored.push(row);
      console.log(`votes weight ${weight}: ${bestSubset ? `best subset ${(100 * row.bestSubset).toFixed(2)}%, ` : ''}best single ${(100 * row.bestSingle).toFixed(2)}%`);
    }
    votes = { source: values['ferplus-votes'], matched: v.matched, bestSubset: bestSubset && bestSubset.models, bestSingle: bestSingle.model, scored };
  }
  if (values.json) {
    const out = {
      command: `node scripts/ensemble-val.js ${process.argv.slice(2).join(' ')}`,
      date: new Date().toISOString(), valImages: val.size, models, subsets, ensembleFlipTta: ensemble, votes,
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
