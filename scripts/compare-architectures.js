#!/usr/bin/env node
/**
 * Which architecture buys the most accuracy per CPU-second here? Every architecture gets the same wall-clock budget
 * of training steps on this machine: its training speed is probed first (a few steps on a synthetic batch, as
 * `fer train` would run them), then it trains for `--epochs` epochs on a seeded random subset of the FER2013
 * training split sized so that the steps take about `--minutes`. Same recipe, split and seed for all; validation
 * accuracy is what to choose by, PublicTest accuracy is reported alongside and chooses nothing.
 *
 *   node scripts/compare-architectures.js --data <fer2013 archive.zip> [--archs vgg-small,vgg-compact,...]
 *        [--minutes 5] [--epochs 3] [--out runs/arch-compare] [--json results/experiments/architectures.json]
 *
 * Writes the JSON (rewritten after every architecture, with the command) and a Markdown table next to it (.md).
 * Uses the built lib (lib/dist).
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');

/** Training images per second of `arch` on the engine `fer train` picks, from a few steps on a synthetic batch. */
async function probeSpeed(fer, arch, batch) {
  const model = fer.createModel(arch);
  const workers = fer.trainWorkers({ workers: 0, batchSize: batch, threads: 0 }, 'onnxruntime');
  const runner = await fer.OrtStepRunner.create(model, fer.createOptimizer({ name: 'adam' }), { fromLogits: false }, { workers });
  try {
    const x = new Float32Array(batch * 48 * 48).map((_, i) => 0.5 + 0.5 * Math.sin(i * 0.37));
    const t = new Float32Array(batch * 7);
    for (let i = 0; i < batch; i++) t[i * 7 + (i % 7)] = 1;
    for (let i = 0; i < 2; i++) await runner.run(x, t, batch, 1e-3, i);
    const steps = 4;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await runner.run(x, t, batch, 1e-3, 10 + i);
    return (steps * batch * 1000) / (performance.now() - t0);
  } finally {
    await runner.close();
    model.dispose();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      archs: { type: 'string', default: 'vgg-small,vgg-compact,vgg-wide,mini-xception,mini-xception-wide,resnet18' },
      minutes: { type: 'string', default: '5' },
      epochs: { type: 'string', default: '3' },
      out: { type: 'string', default: path.join(ROOT, 'runs', 'arch-compare') },
      json: { type: 'string', default: path.join(ROOT, 'results', 'experiments', 'architectures.json') },
    },
  });
  if (!values.data) throw new Error('--data <fer2013 archive.zip> is required');
  const fer = require(path.join(ROOT, 'lib', 'dist'));
  const { writeJsonAtomic, writeFileAtomic } = require(path.join(ROOT, 'lib', 'dist', 'util', 'fs'));
  await fer.initBackend('wasm'); // holds the variables; steps and evaluation run on onnxruntime
  const minutes = Number(values.minutes);
  const epochs = Number(values.epochs);
  const recipe = {
    data: values.data, epochs, batchSize: 64, optimizer: 'adam', lr: 1e-3, labelSmoothing: 0.1, weightInit: 'torch',
    augment: 'light', schedule: { name: 'cosine', warmupEpochs: 0, minLr: 1e-5 }, drop: ['cross-split'],
    valFraction: 0.1, seed: 42, earlyStopping: 0, checkpointMinutes: 0, engine: 'onnxruntime', overwrite: true,
  };
  const dataset = await fer.loadDataset(values.data);
  const test = fer.takeSplit(dataset, 'test');
  const models = new Map(fer.listModels().map((m) => [m.name, m]));
  const rows = [];
  const report = () => ({
    command: `node scripts/compare-architectures.js ${process.argv.slice(2).join(' ')}`,
    machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}`,
    budget: { minutesOfSteps: minutes, epochs },
    recipe: { ...recipe, data: path.basename(values.data) },
    rows,
  });
  for (const arch of values.archs.split(',')) {
    const info = models.get(arch);
    if (!info) throw new Error(`unknown architecture ${arch}: use one of ${[...models.keys()].join(', ')}`);
    const probe = await probeSpeed(fer, arch, recipe.batchSize);
    const maxTrain = Math.floor((probe * minutes * 60) / epochs);
    console.log(`${arch}: ${probe.toFixed(1)} img/s on synthetic steps -> ${maxTrain} training images x ${epochs} epochs`);
    const config = fer.resolveTrainConfig({ flags: { ...recipe, arch, maxTrain, out: path.join(values.out, arch) }, archs: [...models.keys()] });
    const result = await fer.train(config, { dataset, onLog: (m) => console.log(`  ${m}`) });
    // the last weights (the end of the cosine schedule) and their validation accuracy
    const predictor = await fer.createOnnxPredictor(fer.exportOnnx(result.model), `${arch} last epoch`);
    let evaluation;
    try {
      evaluation = await fer.evaluate(predictor, test, { tta: 'flip' });
    } finally {
      await predictor.dispose();
      result.model.dispose();
    }
    const { metrics, tta } = evaluation;
    const valAcc = result.history[result.history.length - 1].valAcc;
    const trainSeconds = result.history.reduce((s, h) => s + h.seconds, 0);
    // the images it really trained on (maxTrain is only a cap: the training split may be smaller)
    const trainImages = JSON.parse(fs.readFileSync(path.join(result.bestDir, 'meta.json'), 'utf8')).training?.trainImages ?? maxTrain;
    rows.push({
      arch, params: info.params, mflops: Number((info.flops / 1e6).toFixed(1)), probeImagesPerSecond: Number(probe.toFixed(1)),
      trainImages, epochs: result.history.length, trainMinutes: Number((trainSeconds / 60).toFixed(2)),
      imagesPerSecond: Number(result.imagesPerSecond.toFixed(1)), engine: result.engine,
      valAcc: Number(valAcc.toFixed(4)), testAcc: Number(metrics.accuracy.toFixed(4)),
      testAccFlip: Number(tta.metrics.accuracy.toFixed(4)), testMacroF1: Number(metrics.macroF1.toFixed(4)),
    });
    writeJsonAtomic(values.json, report());
    console.log(`${arch}: val ${(valAcc * 100).toFixed(2)}%, PublicTest ${(metrics.accuracy * 100).toFixed(2)}% in ${(trainSeconds / 60).toFixed(1)} min`);
  }
  const pct = (v) => `${(v * 100).toFixed(1)}%`;
  const md = [
    `# Architectures at the same CPU budget`,
    '',
    `Each architecture trained for about ${minutes} min of steps on this machine (${report().machine}): ${epochs} epochs`,
    `(cosine schedule) on as many FER2013 training images as its probed speed allows, the same recipe otherwise`,
    `(Adam 1e-3, batch 64, label smoothing 0.1, flips and 4-pixel crops, PyTorch-style init, onnxruntime engine).`,
    `Numbers are the last epoch's. Choose by validation accuracy; PublicTest (${test.size} images) is reported only.`,
    '',
    '| arch | params | MFLOPs/image | img/s (training) | training images | minutes (with validation) | val acc | PublicTest | + flip TTA | macro-F1 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.arch} | ${(r.params / 1e6).toFixed(2)} M | ${r.mflops} | ${r.imagesPerSecond} | ${r.trainImages} | ${r.trainMinutes} | ` +
      `${pct(r.valAcc)} | ${pct(r.testAcc)} | ${pct(r.testAccFlip)} | ${r.testMacroF1.toFixed(3)} |`),
    '',
    `Command: \`${report().command}\``,
    '',
  ].join('\n');
  writeFileAtomic(values.json.replace(/\.json$/, '') + '.md', md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
