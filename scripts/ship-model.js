#!/usr/bin/env node
/**
 * Turn a `fer train` run into the shipped default model, with its evaluation and model card:
 *
 *   node scripts/ship-model.js --run checkpoints/runs/fer-lab-v2 --data ../shared/data/fer2013-archive.zip
 *
 * 1. takes <run>/best (TF.js model folder) and the run's history/config into a new checkpoints/fer-lab-default,
 *    With --logit-adjust auto (the default), first chooses a post-hoc logit adjustment for the rare classes on the
 *    run's own validation split (lib/src/train/logit-adjust.ts; tau = 0 when it does not raise validation macro-F1)
 *    and folds it into the output bias; --logit-adjust <tau> folds in a tau fixed beforehand (a run without
 *    validation, such as a refit on every training image, cannot choose one),
 * 2. exports it with `fer export` to ONNX (checked against TF.js) and to the TF.js web format, both with the weights
 *    of --weights: float32 (default), float16, or int8 (per-channel int8 .onnx and uint8 TF.js, about a quarter of
 *    float32's size); the full-precision weights are not kept in the shipped folder,
 * 3. evaluates the ONNX model on the test split (FER2013 PublicTest) with and without flip TTA via `fer evaluate`
 *    (report, metrics and charts in results/fer-lab-default/), and the TF.js copy without TTA when its weights differ
 *    from the ONNX file's,
 * 4. writes MODEL_CARD.md from those numbers, then swaps the folder in atomically;
 * 5. keeps the run (best/, last/ and its history) in checkpoints/runs/<name>, where `fer train --resume --out
 *    checkpoints/runs/<name>` continues it and `--init checkpoints/runs/<name>/best` starts a new cycle (the repository
 *    commits last/ only for the runs before fer-lab-wide: see .gitignore).
 * Every figure in the card comes from the files this script writes.
 *
 * A weight average ("soup", scripts/average-weights.js or greedy-soup.js) ships the same way with --model:
 *
 *   node scripts/ship-model.js --model checkpoints/soups/greedy --run checkpoints/runs/fer-lab-wide-8b --data ...
 *
 * --run then names the run whose validation split the soup was checked on (for the logit adjustment and the card's
 * data row); the card lists the soup's members, the runs behind them and their commands, and soup.json replaces the
 * run's history/config. No last/ is kept: a soup is not resumed.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Command, Option } = require('commander');

const root = path.resolve(__dirname, '..');
const fer = path.join(root, 'lib', 'bin', 'fer.js');
const { replaceDirAtomic, writeFileAtomic } = require(path.join(root, 'lib', 'dist', 'util', 'fs'));
const { initIsOnnx } = require(path.join(root, 'lib', 'dist', 'config'));

/** `fer export` flags per --weights value (the TF.js copy gets the matching TF.js format: int8 -> uint8 per tensor). */
const WEIGHT_FLAGS = { float32: [], float16: ['--fp16'], int8: ['--int8'] };

function runFer(args, options = {}) {
  console.error(`$ fer ${args.join(' ')}`);
  return execFileSync(process.execPath, [fer, ...args], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', options.quiet ? 'pipe' : 'inherit'], maxBuffer: 64 << 20,
  });
}

/**
 * Choose tau on the run's validation split (rebuilt from its config: same seed, fraction and dropped images), or take
 * `fixedTau`, and when tau > 0 write the adjusted model into `outDir`. Returns what the model card reports.
 */
async function logitAdjust(run, best, outDir, dataPath, fixedTau) {
  const lib = require(path.join(root, 'lib', 'dist'));
  const { loadModelDir, writeModelFiles } = require(path.join(root, 'lib', 'dist', 'util', 'model-io'));
  await lib.initBackend('wasm');
  const config = lib.readSavedConfig(run);
  if (!config) throw new Error(`${run}/last has no training state: cannot rebuild its validation split`);
  const ds = await lib.loadDataset(dataPath);
  const data = lib.prepareTrainingData(ds, config);
  const counts = data.classes.map((_, k) => data.train.labels.reduce((n, y) => n + (y === k ? 1 : 0), 0));
  const { model, meta } = await loadModelDir(best);
  if (meta.classes.join() !== data.classes.join()) throw new Error(`model classes ${meta.classes} differ from the data's ${data.classes}`);
  const priors = lib.classPriors(counts);
  if (fixedTau !== undefined) {
    const offsets = lib.logitOffsets(priors, fixedTau);
    console.error(`logit adjustment: tau ${fixedTau}, fixed beforehand (priors from ${data.train.size} training images)`);
    if (fixedTau > 0) {
      lib.applyLogitAdjustment(model, offsets);
      await writeModelFiles(model, outDir, { ...meta, logitAdjustment: { tau: fixedTau, offsets, priors } });
    }
    model.dispose();
    return { tau: fixedTau, criterion: 'fixed', offsets, priors, trainImages: data.train.size };
  }
  if (data.val.size === 0) {
    model.dispose();
    throw new Error(`${run} has no validation split (valFraction 0) to choose a logit adjustment on: pass --logit-adjust <tau> (e.g. the tau chosen for the run it refits) or --logit-adjust off`);
  }
  const predictor = lib.createTfjsPredictor(model, meta.classes, best, {}, meta.preprocess);
  try {
    const probs = await predictor.predict(data.val.pixels);
    const choice = lib.chooseLogitAdjustment(data.val.labels, probs, data.classes, priors);
    const summary = {
      tau: choice.tau, criterion: choice.criterion, offsets: choice.offsets, priors: choice.priors, valImages: data.val.size, trainImages: data.train.size,
      val: { plain: choice.scores.find((x) => x.tau === 0), chosen: choice.scores.find((x) => x.tau === choice.tau) },
      scores: choice.scores,
    };
    console.error(`logit adjustment on ${data.val.size} validation images: tau ${choice.tau} ` +
      `(macro-F1 ${summary.val.plain.macroF1.toFixed(3)} -> ${summary.val.chosen.macroF1.toFixed(3)}, ` +
      `accuracy ${pct(summary.val.plain.accuracy)} -> ${pct(summary.val.chosen.accuracy)})`);
    if (choice.tau > 0) {
      lib.applyLogitAdjustment(model, choice.offsets);
      await writeModelFiles(model, outDir, { ...meta, logitAdjustment: { tau: choice.tau, offsets: choice.offsets, priors: choice.priors } });
    }
    return summary;
  } finally {
    await predictor.dispose();
  }
}

function logitAdjustCard(la, classes, config) {
  if (!la) return 'Logit adjustment: off.';
  if (la.criterion === 'fixed' && la.tau === 0) return 'Logit adjustment: none (`--logit-adjust 0`).';
  if (la.criterion === 'fixed') {
    return `Logit adjustment (Menon et al. 2021): logits + ${la.tau} x -log(training class prior), folded into the output bias; ` +
      `tau fixed before the run (\`--logit-adjust ${la.tau}\`), not chosen on this run's data; the priors are this run's ${la.trainImages} training images'.`;
  }
  const d = classes.indexOf('disgust');
  const v = la.val;
  const line = (x) => `accuracy ${pct(x.accuracy)}, macro-F1 ${x.macroF1.toFixed(3)}${d >= 0 ? `, disgust recall ${pct(x.recall[d])}` : ''}`;
  if (la.tau === 0) return `Logit adjustment: none (no tau in 0-2 raised validation macro-F1 over the plain model: ${line(v.plain)}).`;
  return `Logit adjustment (Menon et al. 2021): logits + ${la.tau} x -log(training class prior), folded into the output bias; ` +
    `tau chosen on the ${la.valImages} validation images by ${la.criterion}, without TTA (plain: ${line(v.plain)}; adjusted: ${line(v.chosen)}). ` +
    ((config.drop || []).includes('cross-split')
      ? 'The test split played no part in the choice (and the run left the training copies of test images out).'
      : 'The test split itself played no part in the choice, but the validation images come from FER2013 Training, which holds copies of some PublicTest images (`--drop cross-split` leaves them out).');
}

const pct = (x) => `${(100 * x).toFixed(2)}%`;
const rel = (p) => path.relative(root, path.resolve(p));

/** Which engine computed which epochs (history rows written before engines were recorded ran on TF.js wasm). */
function engineSummary(history, config) {
  const spans = [];
  for (const h of history) {
    const engine = h.engine ?? `tfjs-wasm${config.workers > 1 ? ` x${config.workers} workers` : ''}`;
    const last = spans[spans.length - 1];
    if (last && last.engine === engine) last.to = h.epoch;
    else spans.push({ engine, from: h.epoch, to: h.epoch });
  }
  const minutes = (s) => history.filter((h) => h.epoch >= s.from && h.epoch <= s.to).reduce((t, h) => t + h.seconds, 0) / 60;
  return 'Steps computed by: ' + spans.map((s) => `epochs ${s.from}-${s.to} ${s.engine} (${minutes(s).toFixed(0)} min)`).join(', ') + '.';
}

/**
 * The runs a run started from (`init` = <run>/best, <run>/last or a run folder; see `fer train --init`), earliest
 * first, each with its history, config and recipe (checkpoints/recipes/<run name>.json when it exists).
 */
function earlierRuns(config, seen = new Set()) {
  if (!config.init || initIsOnnx(config.init)) return [];
  const dir = path.resolve(root, config.init); // fer train ran from the repository root
  const runDir = ['best', 'last'].includes(path.basename(dir)) ? path.dirname(dir) : dir;
  if (seen.has(runDir)) throw new Error(`the runs started from each other in a loop (${runDir})`);
  seen.add(runDir);
  const described = describeRun(runDir, config.init);
  return [...earlierRuns(described.config, seen), described];
}

/** The run directory behind a model folder: <run>/best, <run>/last, <run>/<snapshot> (e.g. epoch3-ema) or the run. */
function runOf(modelDir) {
  const dir = path.resolve(root, modelDir);
  if (fs.existsSync(path.join(dir, 'history.json'))) return dir;
  // <run>/best, <run>/last, or an epoch kept by --snapshots-from: <run>/snapshots/epoch-NN
  const parent = path.dirname(dir);
  return path.basename(parent) === 'snapshots' ? path.dirname(parent) : parent;
}

/** A run as earlierRuns describes one: its history, config and recipe. */
function describeRun(runDir, init) {
  const read = (f) => JSON.parse(fs.readFileSync(path.join(runDir, f), 'utf8'));
  if (!fs.existsSync(path.join(runDir, 'history.json')) || !fs.existsSync(path.join(runDir, 'config.json'))) {
    throw new Error(`${runDir} has no history.json/config.json to describe it${init ? ` (a run started from ${init})` : ''}`);
  }
  const recipe = path.join(root, 'checkpoints', 'recipes', `${path.basename(runDir)}.json`);
  return { run: runDir, init, history: read('history.json'), config: read('config.json'), recipe: fs.existsSync(recipe) ? recipe : undefined };
}

const minutesOf = (h) => h.reduce((s, r) => s + r.seconds, 0) / 60;
const trainCommand = (b, data) => `npx fer train --data ${data} ${b.recipe ? `--config ${rel(b.recipe)}` : '<its settings>'} --out ${rel(b.run)}`;
const machineLine = () => `Machine: ${require('os').cpus().length} cores (${require('os').cpus()[0].model}), no GPU.`;

/** The card's training rows, commands and recipe line for a model that is one run's best/. */
function runCardParts({ run, data, recipe, config, history, meta, keepRun, shipFlags }) {
  const trainSeconds = history.reduce((s, h) => s + h.seconds, 0);
  const before = earlierRuns(config);
  const allMinutes = trainSeconds / 60 + before.reduce((m, b) => m + minutesOf(b.history), 0);
  const allEpochs = history.length + before.reduce((n, b) => n + b.history.length, 0);
  const startedFrom = before.length
    ? ` It started from \`${before[before.length - 1].init}\`: ${before.map((b) => `\`${rel(b.run)}\` (${b.history.length} epochs, ${minutesOf(b.history).toFixed(0)} min)`).join(', then ')}; ${allEpochs} epochs and ${allMinutes.toFixed(0)} min in all.`
    : '';
  const validated = history.every((h) => typeof h.valAcc === 'number');
  const best = validated ? history.reduce((b, h) => (h.valAcc > b.valAcc ? h : b), history[0]) : undefined;
  const dataRow = validated
    ? `${meta.training?.trainImages ?? '?'} images for training, a seeded stratified ${pct(config.valFraction)} (${meta.training?.valImages ?? '?'} images) for validation`
    : `all ${meta.training?.trainImages ?? '?'} images for training (\`valFraction\` 0, a refit: no validation split)`;
  const trainedRow = (best
    ? `${history.length} epoch(s), best validation accuracy ${pct(best.valAcc)} at epoch ${best.epoch}`
    : `${history.length} epoch(s), a number fixed before the run (no validation)`) +
    `; ${(trainSeconds / 60).toFixed(0)} min on the machine below, ${Math.min(...history.map((h) => h.imagesPerSecond)).toFixed(1)}-${Math.max(...history.map((h) => h.imagesPerSecond)).toFixed(1)} images/s per epoch (lower where other work shared the cores).${startedFrom}`;
  const commands = before.map((b) => trainCommand(b, data) + '\n').join('') +
    `npx fer train --data ${data} --config ${rel(recipe)} --out ${rel(run)}   # add --resume to continue\n` +
    `node scripts/ship-model.js --run ${rel(run)} --data ${data} --recipe ${rel(recipe)}${shipFlags}`;
  const kept = `The run's best weights are kept in \`${rel(keepRun)}/best\`: a further cycle starts from them with
\`--init ${rel(keepRun)}/best\` (the recipes of the later runs do). Its last checkpoint (weights, Adam state, epoch and
batch) is written to \`${rel(keepRun)}/last\` on the machine that trained it, which continues the run with
\`npx fer train --resume --out ${rel(keepRun)} --data ${data}\`; the repository keeps \`last/\` only for the runs
before fer-lab-wide (.gitignore), to stay small.`;
  const recipeLine = `Recipe (\`config.json\`): ${config.optimizer} lr ${config.lr}, batch ${config.batchSize}${config.workers > 1 ? ` (data-parallel over ${config.workers} worker threads)` : ''}, label smoothing ${config.labelSmoothing}, schedule ${config.schedule.name}${config.schedule.name === 'exponential' ? ` (x${config.schedule.gamma} per epoch)` : ''}, augmentation: crop ${config.augment.crop} px, flip ${config.augment.flip}, rotate ${config.augment.rotate} deg, scale ${config.augment.scale}, erasing ${config.augment.erasing}; class weights ${config.classWeights}${config.weightDecay > 0 ? `; weight decay ${config.weightDecay} (${config.optimizer === 'adam' ? 'AdamW' : 'L2'}, kernels only)` : ''}${config.ema > 0 ? `; the model is the moving average of the weights (decay ${config.ema} per step, batch-norm statistics included: \`--ema\`)` : ''}${config.teachers?.length ? `; distilled from ${config.teachers.map((t) => `\`${t}\``).join(', ')} (training targets ${1 - config.teacherWeight} x label + ${config.teacherWeight} x the teachers' flip-averaged probabilities${config.teacherTemperature !== 1 ? ` at temperature ${config.teacherTemperature}` : ''}: \`--teachers\`)` : ''}${config.ferplusVotes ? `; FER+'s human votes on the training faces (\`${config.ferplusVotes}\`, FER2013Train only, matched by pixels) are ${config.teachers?.length ? `${config.ferplusVoteWeight} of the teacher probabilities` : `the teacher`} where a face has votes (\`--ferplus-votes\`)` : ''}; ${config.epochs} epochs${config.scheduleEpochs > config.epochs ? ` (the first ${config.epochs} of a ${config.scheduleEpochs}-epoch schedule: \`scheduleEpochs\`)` : ''}; seed ${config.seed}.
${machineLine()} ${engineSummary(history, config)}`;
  return { dataRow, trainedRow, commands, kept, recipeLine, extraFiles: '`history.json`, `config.json`' };
}

/**
 * The runs behind a weight average's members, once each, earliest first: each member's run and the runs it started
 * from. Every one must have trained on `config`'s split (what lib/src/train/data.ts builds it from): a member trained
 * on another split may have seen the validation images the soup was checked on.
 */
function soupRuns(members, config, run) {
  const splitOf = (c) => JSON.stringify([c.valFraction, c.splitSeed ?? c.seed, [...(c.drop ?? [])].sort(), c.maxTrain ?? 0]);
  const runs = [];
  for (const member of members) {
    const memberRun = describeRun(runOf(member));
    for (const r of [...earlierRuns(memberRun.config), memberRun]) {
      if (runs.some((x) => x.run === r.run)) continue;
      if (splitOf(r.config) !== splitOf(config)) {
        throw new Error(`${rel(r.run)} (behind ${member}) trained on another split than ${rel(run)} (valFraction, splitSeed/seed, drop or maxTrain differ): check the soup on a split that every run behind it shares`);
      }
      runs.push(r);
    }
  }
  return runs;
}

/** The card's parts for a weight average: its members (meta.averagedFrom), the runs behind them, the commands. */
function soupCardParts({ run, data, runs, meta, modelDir, logitAdjustment, shipFlags }) {
  const members = meta.averagedFrom;
  const epochs = runs.reduce((n, r) => n + r.history.length, 0);
  const minutes = runs.reduce((m, r) => m + minutesOf(r.history), 0);
  const dataRow = logitAdjustment?.valImages
    ? `${logitAdjustment.trainImages} images for training, ${logitAdjustment.valImages} for validation (the split of \`${rel(run)}\`, which every member shares)`
    : `the split of \`${rel(run)}\`, which every member shares`;
  const bn = meta.batchNormImages
    ? `batch-norm statistics re-estimated on the ${meta.batchNormImages} training images (one training-mode pass, as PyTorch's \`update_bn\`)`
    : 'batch-norm statistics averaged with the other weights';
  // one run's --snapshots-from epochs (stochastic weight averaging) or the best/ of several runs of one --init chain
  const epochSnapshots = members.every((m) => path.basename(path.dirname(m)) === 'snapshots') && new Set(members.map(runOf)).size === 1;
  const origin = epochSnapshots
    ? `epochs of one run (stochastic weight averaging, a model soup: ${members.map((m) => `\`${m}\``).join(', ')})`
    : `models of one \`--init\` chain (a model soup: ${members.map((m) => `\`${m}\``).join(', ')})`;
  const trainedRow = `the mean of the weights of ${members.length} ${origin}, ${bn}. ` +
    `The runs behind them: ${runs.map((r) => `\`${rel(r.run)}\` (${r.history.length} epochs, ${minutesOf(r.history).toFixed(0)} min)`).join(', ')}; ${epochs} epochs and ${minutes.toFixed(0)} min in all.`;
  const commands = runs.map((r) => trainCommand(r, data) + '\n').join('') +
    `node scripts/average-weights.js --out ${rel(modelDir)}${meta.batchNormImages ? ` --bn-run ${rel(run)} --data ${data}` : ''} ${members.join(' ')}\n` +
    `node scripts/ship-model.js --model ${rel(modelDir)} --run ${rel(run)} --data ${data}${shipFlags}`;
  const kept = (epochSnapshots
    ? `The epoch snapshots (\`<run>/snapshots/\`, kept by \`--snapshots-from\`) stay on the machine that trained the run; rerunning it with \`--snapshots-from ${runs[runs.length - 1].config.snapshotsFrom ?? '<epoch>'}\` rebuilds them; `
    : 'Each member run keeps its best weights in `<run>/best`; ') +
    `the soup is not a training run and is not resumed.
\`soup.json\` lists its members; each run's recipe is \`checkpoints/recipes/<run name>.json\`.`;
  return { dataRow, trainedRow, commands, kept, recipeLine: machineLine(), extraFiles: '`soup.json`' };
}

/** The card's words for how each file stores its weights. */
const WEIGHT_WORDS = {
  float32: { onnx: 'float32 weights', tfjs: 'float32 weights' },
  float16: { onnx: 'float16 weights', tfjs: 'float16 weights' },
  int8: { onnx: 'int8 weights, one scale per output channel; activations float32', tfjs: 'uint8 weights, one affine map per tensor' },
};

function modelCard({ config, meta, evalJson, onnxBytes, tfjsBytes, weights, audit, logitAdjustment, parts }) {
  const recall = (k) => evalJson.perClass[k].recall;
  const weakest = Object.entries(evalJson.perClass).reduce((a, b) => (b[1].recall < a[1].recall ? b : a));
  const rows = Object.entries(evalJson.perClass)
    .map(([k, v]) => `| ${k} | ${v.precision.toFixed(3)} | ${v.recall.toFixed(3)} | ${v.f1.toFixed(3)} | ${v.support} |`)
    .join('\n');
  const tta = evalJson.tta;
  return `# fer-lab default model: ${meta.arch}

The model every fer-lab command and notebook uses unless told otherwise (\`fer.defaultModelPath()\`).

| | |
|---|---|
| architecture | \`${meta.arch}\` (${meta.params.toLocaleString('en-US')} parameters; see lib/src/models/README.md) |
| input | 48x48 grayscale face crop, pixel / 255, NHWC \`[N,48,48,1]\` |
| output | probabilities for ${meta.classes.join(', ')} |
| files | \`model.onnx\` (${(onnxBytes / 1e6).toFixed(2)} MB, ${WEIGHT_WORDS[weights.format].onnx}; onnxruntime; classes and preprocessing in its metadata), \`tfjs/\` (${(tfjsBytes / 1e6).toFixed(2)} MB, ${WEIGHT_WORDS[weights.format].tfjs}; TF.js layers model, web format), ${parts.extraFiles} |
| data | FER2013 (Kaggle layout) training split: ${parts.dataRow}; the test split (PublicTest, ${evalJson.n} images) was used only for the numbers below |
| training | ${parts.trainedRow} |

## Results on FER2013 PublicTest (${evalJson.n} images)

| | accuracy | macro-F1 | disgust recall |
|---|---|---|---|
| single model | ${pct(evalJson.accuracy)} | ${evalJson.macroF1.toFixed(3)} | ${pct(recall('disgust'))} |
${tta ? `| with flip TTA | ${pct(tta.accuracy)} | ${tta.macroF1.toFixed(3)} | (see report) |\n` : ''}${weights.tfjsEval ? `| \`tfjs/\` (uint8), single model | ${pct(weights.tfjsEval.accuracy)} | ${weights.tfjsEval.macroF1.toFixed(3)} | ${pct(weights.tfjsEval.perClass.disgust.recall)} |\n` : ''}
${weights.format === 'float32' ? '' : `Measured on the shipped files: \`model.onnx\` (the rows above, ${weights.format} weights)${weights.tfjsEval ? ' and `tfjs/` (its own row)' : ''}. `}Per class (single model${weights.format === 'float32' ? '' : ', `model.onnx`'}):

| class | precision | recall | F1 | support |
|---|---|---|---|---|
${rows}

Confusion matrix, per-class chart, mistakes, reliability and training curves: \`results/fer-lab-default/publictest/\`.

## How it was made

\`\`\`bash
${parts.commands}
\`\`\`

${parts.kept}

${parts.recipeLine}
${logitAdjustCard(logitAdjustment, meta.classes, config)}

## Known limits

- Trained on FER2013${config.ferplusVotes ? " (FER+'s annotator votes on the same training faces shaped the targets)" : ''}: 48x48 grayscale web images, mostly frontal faces, noisy labels (human accuracy on FER2013 is
  about 65%); expect lower accuracy on other faces, poses, lighting and cultures.
- FER2013 repeats images: \`fer data\` finds ${audit.crossSplitDuplicates} images that are exact copies of an image in
  another split (mostly training copies of PublicTest images) and ${audit.conflictingLabels} duplicate groups with
  conflicting labels. ${(config.drop || []).includes('cross-split') ? 'This run left the cross-split copies out of training (`--drop cross-split`).' : 'This run trained on them (as the peer models did), which flatters PublicTest slightly; `fer train --drop cross-split` leaves them out.'}
- Classes are imbalanced (disgust is 1.5% of FER2013's training images, 436 of 28,709); the weakest recall here is ${weakest[0]} (${pct(weakest[1].recall)}); see the per-class table.
- Classifies the expression shown, not the emotion felt. Not for decisions about people.
`;
}

async function main() {
  const program = new Command('ship-model')
    .requiredOption('--run <dir>', 'a `fer train` output folder (uses <run>/best); with --model, the run whose split the model was checked on')
    .option('--model <dir>', 'ship this weight average (scripts/average-weights.js, greedy-soup.js) instead of <run>/best')
    .requiredOption('--data <path>', 'the FER2013 dataset the model was trained on (for the test split)')
    .option('--out <dir>', 'where the shipped model goes', path.join(root, 'checkpoints', 'fer-lab-default'))
    .option('--results <dir>', 'where its evaluation goes', path.join(root, 'results', 'fer-lab-default'))
    .option('--recipe <file>', 'the settings file the run was trained with, named in the model card (default checkpoints/recipes/<run name>.json)')
    .option('--logit-adjust <mode>', 'auto: choose a logit adjustment for rare classes on the validation split; off; or a tau in 0-2 fixed beforehand', 'auto')
    .addOption(new Option('--weights <format>', 'how the shipped files store the weights (int8: .onnx int8 per channel, TF.js uint8)')
      .choices(Object.keys(WEIGHT_FLAGS)).default('float32'))
    .option('--keep-run <dir>', "where the run's last checkpoint is kept for --resume (default checkpoints/runs/<run name>)")
    .parse(process.argv);
  const o = program.opts();
  const run = path.resolve(o.run);
  const soup = o.model !== undefined;
  if (soup && (o.recipe || o.keepRun)) throw new Error('--recipe and --keep-run describe a run: a --model soup has neither');
  o.recipe = path.resolve(o.recipe ?? path.join(root, 'checkpoints', 'recipes', `${path.basename(run)}.json`));
  o.keepRun = path.resolve(o.keepRun ?? path.join(root, 'checkpoints', 'runs', path.basename(run)));
  if (!soup && !fs.existsSync(o.recipe)) throw new Error(`recipe ${o.recipe} not found: pass --recipe <the settings file of the run>`);
  const fixedTau = ['auto', 'off'].includes(o.logitAdjust) ? undefined : Number(o.logitAdjust);
  if (fixedTau !== undefined && !(o.logitAdjust.trim() !== '' && fixedTau >= 0 && fixedTau <= 2)) {
    throw new Error(`--logit-adjust must be auto, off or a tau in 0-2, got ${o.logitAdjust}`);
  }
  let logitAdjustment;
  const shipFlags = (o.logitAdjust === 'auto' ? '' : ` --logit-adjust ${o.logitAdjust}`) +
    (o.weights === 'float32' ? '' : ` --weights ${o.weights}`);
  const best = soup ? path.resolve(o.model) : path.join(run, 'best');
  if (!fs.existsSync(path.join(best, 'model.json'))) throw new Error(`${best} has no model.json: ${soup ? 'pass a model folder' : `is ${run} a fer train run?`}`);
  if (!fs.existsSync(path.join(run, 'config.json'))) throw new Error(`${run} has no config.json: is it a fer train run?`);
  const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
  const history = soup ? undefined : JSON.parse(fs.readFileSync(path.join(run, 'history.json'), 'utf8'));
  const meta = JSON.parse(fs.readFileSync(path.join(best, 'meta.json'), 'utf8'));
  if (soup && !Array.isArray(meta.averagedFrom)) {
    throw new Error(`${best}/meta.json lists no averagedFrom: --model ships weight averages; ship a run's best/ with --run alone`);
  }
  const behindSoup = soup ? soupRuns(meta.averagedFrom, config, run) : undefined; // checked before anything is written
  const shipCommand = soup
    ? `node scripts/ship-model.js --model ${rel(best)} --run ${rel(run)} --data ${o.data}${shipFlags}`
    : `node scripts/ship-model.js --run ${rel(run)} --data ${o.data} --recipe ${rel(o.recipe)}${shipFlags}`;

  await replaceDirAtomic(o.out, async (tmp) => {
    // The full-precision model (logit adjustment folded in) is exported from here, then left out of the shipped folder.
    const full = path.join(tmp, 'float32');
    fs.mkdirSync(full);
    for (const f of ['model.json', 'weights.bin', 'meta.json']) fs.copyFileSync(path.join(best, f), path.join(full, f));
    logitAdjustment = o.logitAdjust === 'off' ? undefined : await logitAdjust(run, best, full, o.data, fixedTau);
    if (soup) {
      writeFileAtomic(path.join(tmp, 'soup.json'), JSON.stringify({
        members: meta.averagedFrom, batchNormImages: meta.batchNormImages, splitOf: rel(run), command: shipCommand,
      }, null, 2) + '\n');
    } else {
      for (const f of ['history.json', 'history.csv', 'config.json']) fs.copyFileSync(path.join(run, f), path.join(tmp, f));
    }
    runFer(['export', '--model', full, '--out', path.join(tmp, 'model.onnx'), '--web', path.join(tmp, 'tfjs'), ...WEIGHT_FLAGS[o.weights]]);
    fs.rmSync(full, { recursive: true });
    const evalOut = path.join(o.results, 'publictest');
    const evalJson = JSON.parse(
      runFer(['evaluate', '--model', path.join(tmp, 'model.onnx'), '--data', o.data, '--split', 'test', '--tta', '--out', evalOut, '--json']),
    );
    // int8 .onnx (per channel) and uint8 TF.js (per tensor) round differently: the TF.js copy gets its own number.
    // Its report goes to a scratch folder: publictest.json keeps its figures under "tfjs".
    let tfjsEval;
    if (o.weights === 'int8') {
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ship-tfjs-'));
      try {
        tfjsEval = JSON.parse(runFer(['evaluate', '--model', path.join(tmp, 'tfjs'), '--engine', 'tfjs', '--data', o.data,
          '--split', 'test', '--out', scratch, '--json']));
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    }
    const weights = { format: o.weights, tfjsEval };
    writeFileAtomic(path.join(o.results, 'publictest.json'), JSON.stringify({
      command: shipCommand, model: meta.arch, weights: o.weights, ...evalJson, tfjs: tfjsEval && { accuracy: tfjsEval.accuracy, macroF1: tfjsEval.macroF1, perClass: tfjsEval.perClass },
    }, null, 2) + '\n');
    const audit = JSON.parse(runFer(['data', o.data, '--json'])).audit;
    const onnxBytes = fs.statSync(path.join(tmp, 'model.onnx')).size;
    const tfjsBytes = fs.readdirSync(path.join(tmp, 'tfjs')).filter((f) => f.endsWith('.bin'))
      .reduce((n, f) => n + fs.statSync(path.join(tmp, 'tfjs', f)).size, 0);
    const parts = soup
      ? soupCardParts({ run, data: o.data, runs: behindSoup, meta, modelDir: best, logitAdjustment, shipFlags })
      : runCardParts({ run, data: o.data, recipe: o.recipe, config, history, meta, keepRun: o.keepRun, shipFlags });
    fs.writeFileSync(path.join(tmp, 'MODEL_CARD.md'), modelCard({ config, meta, evalJson, onnxBytes, tfjsBytes, weights, audit, logitAdjustment, parts }));
  });
  // Written only once the model is in place, so it always describes the shipped model.
  const laFile = path.join(o.results, 'logit-adjustment.json');
  if (logitAdjustment) writeFileAtomic(laFile, JSON.stringify(logitAdjustment, null, 2) + '\n');
  else fs.rmSync(laFile, { force: true });
  if (!soup && path.resolve(o.keepRun) !== run) {
    await replaceDirAtomic(o.keepRun, (tmp) => {
      fs.cpSync(path.join(run, 'last'), path.join(tmp, 'last'), { recursive: true });
      fs.mkdirSync(path.join(tmp, 'best')); // the best weights only: resuming needs the optimizer state of last/ alone
      for (const f of ['model.json', 'weights.bin', 'meta.json']) fs.copyFileSync(path.join(best, f), path.join(tmp, 'best', f));
      for (const f of ['config.json', 'history.json', 'history.csv']) fs.copyFileSync(path.join(run, f), path.join(tmp, f));
    });
  }
  console.error(`Shipped ${rel(o.out)} (model card: ${rel(path.join(o.out, 'MODEL_CARD.md'))}); evaluation in ${rel(o.results)}`);
}

main().catch((err) => {
  console.error(`ship-model: ${err.message}`);
  process.exitCode = 1;
});
