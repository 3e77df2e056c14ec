#!/usr/bin/env node
/**
 * Greedy model soup (Wortsman et al. 2022, "greedy soup"): add candidate models one at a time, in the order given, to
 * a weight average, and keep each one only if the average's validation accuracy (single model, no TTA) does not drop.
 * Every average gets its batch-norm statistics re-estimated on the run's training images (recomputeBatchNorm), as
 * `scripts/average-weights.js --bn-run` does. Validation only: PublicTest chooses nothing.
 *
 *   node scripts/greedy-soup.js --run <run whose split to use> --data <dataset> --out <soup folder> --json <log.json>
 *     (--start <soup folder written by average-weights.js> | --first <model>) <candidate>...
 *
 * --start continues from an existing soup (its meta.json's averagedFrom lists its members); --first starts from one
 * model. The log is rewritten after every step, so an interrupted search keeps what it measured.
 *
 * Uses the built lib (lib/dist).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

async function main() {
  const { values, positionals } = parseArgs({
    options: {
      run: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, json: { type: 'string' },
      start: { type: 'string' }, first: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (!values.run || !values.data || !values.out || !values.json || !values.start === !values.first || positionals.length === 0) {
    throw new Error('usage: node scripts/greedy-soup.js --run <run> --data <dataset> --out <soup folder> --json <log.json> (--start <soup> | --first <model>) <candidate>...');
  }
  const out = path.resolve(values.out);
  const trial = `${out}.trial`;
  const modelFiles = ['model.json', 'weights.bin', 'meta.json'];
  // The soup folder is replaced as a whole: never let a mistyped --out (a run, a results folder) be wiped.
  const others = fs.existsSync(out) ? fs.readdirSync(out).filter((f) => !modelFiles.includes(f)) : [];
  if (others.length > 0) throw new Error(`--out ${values.out} holds ${others.slice(0, 3).join(', ')}: pick a new folder or an earlier soup`);
  const fer = require('../lib/dist');
  await fer.initBackend();
  const config = fer.readSavedConfig(values.run);
  if (!config) throw new Error(`${values.run} holds no training run (no config.json or last/state.json)`);
  const data = fer.prepareTrainingData(await fer.loadDataset(values.data), config);
  const score = async (model) => {
    const predictor = await fer.loadPredictor(model);
    try {
      const single = fer.computeMetrics(data.val.labels, await predictor.predict(data.val.pixels), data.classes).accuracy;
      const tta = await fer.predictWithTta(predictor, data.val.pixels, { mode: 'flip' });
      return { accuracy: single, flipTta: fer.computeMetrics(data.val.labels, tta, data.classes).accuracy };
    } finally {
      await predictor.dispose();
    }
  };
  const pct = (x) => `${(100 * x).toFixed(2)}%`;
  // Swapped in whole (replaceDirAtomic): an interrupted search leaves the last kept soup in --out, never half of one.
  const setSoup = (from) => fer.replaceDirAtomic(out, (tmp) => {
    for (const f of modelFiles) fs.copyFileSync(path.join(from, f), path.join(tmp, f));
  });
  let members;
  if (values.start) {
    const meta = JSON.parse(fs.readFileSync(path.join(values.start, 'meta.json'), 'utf8'));
    if (!Array.isArray(meta.averagedFrom) || !meta.batchNormImages) {
      throw new Error(`${values.start} is not a soup with re-estimated batch-norm statistics (no averagedFrom/batchNormImages in meta.json): build it with scripts/average-weights.js --bn-run`);
    }
    members = [...meta.averagedFrom];
    await setSoup(values.start);
  } else {
    members = [values.first];
    await fer.averageModelFolders(members, out, { batchNormImages: data.train.pixels });
  }
  let best = await score(out);
  const log = {
    command: `node scripts/greedy-soup.js ${process.argv.slice(2).join(' ')}`,
    valImages: data.val.size, batchNormImages: data.train.size,
    start: { members: [...members], ...best }, steps: [],
  };
  const save = () => {
    log.soup = { members: [...members], ...best };
    fs.mkdirSync(path.dirname(path.resolve(values.json)), { recursive: true });
    fer.writeFileAtomic(values.json, JSON.stringify(log, null, 2) + '\n');
  };
  save();
  console.log(`start: ${members.join(' + ')}: ${pct(best.accuracy)} (flip TTA ${pct(best.flipTta)})`);
  for (const candidate of positionals) {
    if (members.includes(candidate)) continue;
    const t0 = Date.now();
    await fer.averageModelFolders([...members, candidate], trial, { batchNormImages: data.train.pixels });
    const s = await score(trial);
    const kept = s.accuracy >= best.accuracy;
    log.steps.push({ candidate, ...s, kept, minutes: (Date.now() - t0) / 60000 });
    console.log(`+ ${candidate}: ${pct(s.accuracy)} (flip TTA ${pct(s.flipTta)}) ${kept ? 'kept' : `dropped (soup ${pct(best.accuracy)})`}`);
    if (kept) {
      members.push(candidate);
      best = s;
      await setSoup(trial);
    }
    fs.rmSync(trial, { recursive: true, force: true });
    save();
  }
  console.log(`soup: ${members.join(' + ')}: ${pct(best.accuracy)} (flip TTA ${pct(best.flipTta)}) in ${values.out}`);
}

main().catch((err) => {
  console.error(`greedy-soup: ${err.message}`);
  process.exit(1);
});
