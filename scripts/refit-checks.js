#!/usr/bin/env node
/**
 * The checks behind results/experiments/refit.md, after the refit was shipped:
 *
 *   node scripts/refit-checks.js --data ../shared/data/fer2013-archive.zip --json results/experiments/refit-checks.json
 *
 * 1. wide-7's best and the refit's best on the split wide-7 trained with (rebuilt from its config.json): accuracy on
 *    its 25,520 training faces and its 2,838 validation faces (which the refit trained on), no augmentation.
 * 2. The shipped refit against wide-7 as it was shipped (its best + the tau 0.2 logit adjustment) on PublicTest,
 *    image by image: how many only one of them gets right, and the exact two-sided McNemar p-value of that split.
 *    This reports a difference after the fact; it chooses nothing.
 */
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const fer = require(path.join(ROOT, 'lib', 'dist'));
const { loadModelDir } = require(path.join(ROOT, 'lib', 'dist', 'util', 'model-io'));
const { evaluateSplitOnnx } = require(path.join(ROOT, 'lib', 'dist', 'train', 'ort'));
const { writeJsonAtomic } = require(path.join(ROOT, 'lib', 'dist', 'util', 'fs'));

const WIDE7 = 'checkpoints/runs/fer-lab-wide-7';
const REFIT = 'checkpoints/runs/fer-lab-wide-7-refit';
const SHIPPED = 'checkpoints/fer-lab-default/model.onnx';
const WIDE7_TAU = 'results/candidates/fer-lab-wide-7-logit-adjustment.json';

function argmaxRows(probs, classes) {
  return Int32Array.from({ length: probs.length / classes }, (_, i) => fer.argmaxRow(probs, i, classes));
}

/** Exact two-sided McNemar test: P(X <= min(b, c)) * 2 for X ~ Binomial(b + c, 1/2), capped at 1. */
function mcnemarExact(b, c) {
  const n = b + c;
  let logTerm = -n * Math.log(2); // log C(n, 0) / 2^n
  let tail = 0;
  for (let k = 0; k <= Math.min(b, c); k++) {
    tail += Math.exp(logTerm);
    logTerm += Math.log(n - k) - Math.log(k + 1);
  }
  return Math.min(1, 2 * tail);
}

async function main() {
  const { values } = parseArgs({ options: { data: { type: 'string' }, json: { type: 'string' } } });
  if (!values.data) throw new Error('--data <fer2013 archive.zip> is required');
  await fer.initBackend('wasm');
  const ds = await fer.loadDataset(values.data);

  const split = fer.prepareTrainingData(ds, JSON.parse(fs.readFileSync(path.join(ROOT, WIDE7, 'config.json'), 'utf8')));
  const onSplit = {};
  for (const run of [WIDE7, REFIT]) {
    const { model } = await loadModelDir(path.join(ROOT, run, 'best'));
    const train = await evaluateSplitOnnx(model, split.train, split.classes.length, 256);
    const val = await evaluateSplitOnnx(model, split.val, split.classes.length, 256);
    model.dispose();
    onSplit[path.basename(run)] = { splitTrainAccuracy: train.acc, splitValAccuracy: val.acc };
    console.log(`${run}/best: ${(100 * train.acc).toFixed(2)}% on the ${split.train.size} split-train faces, ${(100 * val.acc).toFixed(2)}% on the ${split.val.size} validation faces`);
  }

  const test = fer.takeSplit(ds, 'test');
  const C = test.classes.length;
  const shipped = await fer.loadOnnxPredictor(path.join(ROOT, SHIPPED));
  const refitPred = argmaxRows(await shipped.predict(test.pixels), C);
  await shipped.dispose();
  const { model, meta } = await loadModelDir(path.join(ROOT, WIDE7, 'best'));
  const wide7 = await fer.createOnnxPredictor(fer.exportOnnx(model, { classes: meta.classes, preprocess: meta.preprocess }), `${WIDE7}/best`);
  model.dispose();
  const offsets = JSON.parse(fs.readFileSync(path.join(ROOT, WIDE7_TAU), 'utf8')).offsets;
  const wide7Pred = argmaxRows(fer.adjustProbabilities(await wide7.predict(test.pixels), offsets), C);
  await wide7.dispose();
  let both = 0, onlyRefit = 0, onlyWide7 = 0, neither = 0;
  for (let i = 0; i < test.size; i++) {
    const r = refitPred[i] === test.labels[i], w = wide7Pred[i] === test.labels[i];
    if (r && w) both++; else if (r) onlyRefit++; else if (w) onlyWide7++; else neither++;
  }
  const paired = {
    images: test.size, both, onlyRefit, onlyWide7, neither,
    refitAccuracy: (both + onlyRefit) / test.size, wide7Accuracy: (both + onlyWide7) / test.size,
    mcnemarExactP: mcnemarExact(onlyRefit, onlyWide7),
  };
  console.log(`PublicTest: refit ${both + onlyRefit}, wide-7 (tau 0.2) ${both + onlyWide7} of ${test.size} right; ` +
    `only the refit ${onlyRefit}, only wide-7 ${onlyWide7}; exact McNemar p = ${paired.mcnemarExactP.toFixed(3)}`);
  if (values.json) {
    writeJsonAtomic(values.json, {
      command: `node scripts/refit-checks.js ${process.argv.slice(2).join(' ')}`, onSplit, publicTestPaired: paired,
    });
  }
}

main().catch((err) => {
  console.error(`refit-checks: ${err.message}`);
  process.exitCode = 1;
});
