#!/usr/bin/env node
/**
 * Time to accuracy: train with a recipe and, after every epoch, report PublicTest accuracy (single view and flip
 * TTA) against the training wall time so far. The test numbers are only reported: model selection and the learning
 * rate schedule see validation data only, exactly as in `fer train`.
 *
 *   node scripts/time-to-accuracy.js --data <fer2013 archive.zip> [--config checkpoints/recipes/fer-lab-default.json]
 *        [--epochs 10] [--engine auto] [--out runs/time-to-accuracy] [--target 0.63] [--resume]
 *        [--json results/time-to-accuracy/fer-lab.json]
 *
 * Uses the built lib (lib/dist). The JSON (rewritten after every epoch) holds the commands (each --resume appends its own), the machine and one row
 * per epoch: { epoch, trainMinutes, valAcc, testAcc, testAccFlip }; trainMinutes is the run's cumulative epoch time
 * (training steps and validation; the PublicTest evaluations here are not counted).
 */
'use strict';
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      config: { type: 'string', default: path.join(ROOT, 'checkpoints', 'recipes', 'fer-lab-default.json') },
      epochs: { type: 'string', default: '10' },
      engine: { type: 'string', default: 'auto' },
      out: { type: 'string', default: path.join(ROOT, 'runs', 'time-to-accuracy') },
      target: { type: 'string', default: '0.63' },
      resume: { type: 'boolean', default: false },
      json: { type: 'string', default: path.join(ROOT, 'results', 'time-to-accuracy', 'fer-lab.json') },
    },
  });
  if (!values.data) throw new Error('--data <fer2013 archive.zip> is required');
  const fer = require(path.join(ROOT, 'lib', 'dist'));
  const { writeJsonAtomic } = require(path.join(ROOT, 'lib', 'dist', 'util', 'fs'));
  const config = fer.resolveTrainConfig({
    file: values.config,
    flags: { data: values.data, out: values.out, epochs: Number(values.epochs), engine: values.engine, resume: values.resume },
  });
  const dataset = await fer.loadDataset(config.data);
  const test = fer.takeSplit(dataset, 'test');
  const target = Number(values.target);
  const previous = values.resume ? safeRead(values.json) : undefined;
  const rows = previous?.rows ?? [];
  let minutes = rows.length ? rows[rows.length - 1].trainMinutes : 0;
  // Every invocation that wrote rows (the first run, then each --resume), oldest first.
  const command = `node scripts/time-to-accuracy.js ${process.argv.slice(2).join(' ')}`;
  const commands = [...(previous?.commands ?? (previous?.command ? [previous.command] : [])), command];
  const report = () => ({
    commands,
    recipe: path.relative(ROOT, values.config),
    config: { ...config, data: path.basename(config.data) },
    machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`,
    testImages: test.size,
    target,
    reachedAt: rows.find((r) => r.testAccFlip >= target) ?? null,
    rows,
  });
  const result = await fer.train(config, {
    dataset,
    onLog: (m) => console.log(m),
    onEpoch: async ({ record, model }) => {
      minutes += record.seconds / 60;
      const predictor = await fer.createOnnxPredictor(fer.exportOnnx(model), `epoch ${record.epoch}`);
      try {
        const { metrics, tta } = await fer.evaluate(predictor, test, { tta: 'flip' });
        const row = {
          epoch: record.epoch,
          trainMinutes: Number(minutes.toFixed(2)),
          valAcc: record.valAcc === undefined ? null : Number(record.valAcc.toFixed(4)),
          testAcc: Number(metrics.accuracy.toFixed(4)),
          testAccFlip: Number(tta.metrics.accuracy.toFixed(4)),
        };
        rows.push(row);
        writeJsonAtomic(values.json, report());
        console.log(`epoch ${row.epoch}: ${row.trainMinutes.toFixed(1)} min, val ${row.valAcc === null ? 'none' : `${(row.valAcc * 100).toFixed(2)}%`}, ` +
          `PublicTest ${(row.testAcc * 100).toFixed(2)}% (flip TTA ${(row.testAccFlip * 100).toFixed(2)}%)`);
      } finally {
        await predictor.dispose();
      }
    },
  });
  result.model.dispose();
  const reached = report().reachedAt;
  console.log(reached
    ? `Reached ${(target * 100).toFixed(0)}% PublicTest (flip TTA) after ${reached.trainMinutes.toFixed(1)} min, epoch ${reached.epoch}.`
    : `Did not reach ${(target * 100).toFixed(0)}% PublicTest (flip TTA) in ${rows.length} epochs.`);
}

function safeRead(file) {
  try {
    return JSON.parse(require('fs').readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

main().catch((err) => {
  console.error(err.message ?? err);
  process.exit(1);
});
