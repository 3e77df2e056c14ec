#!/usr/bin/env node
/**
 * Peers on the same data: the JS ecosystem's emotion models (peer:human = Human's mini-Xception, peer:face-api =
 * face-api's expression model; see assets/peers/README.md) and, when installed, fer-lab's shipped model
 * (checkpoints/fer-lab-default), each evaluated on one dataset split with and without flip TTA.
 *
 *   node benchmarks/peers.js [--data PATH] [--split test] [--models peer:human,peer:face-api,default] [--out DIR]
 *
 *   --data    any dataset fer-lab reads (default data/sample); e.g. ../shared/data/fer2013-archive.zip, whose
 *             'test' split is FER2013 PublicTest (3,589 images)
 *   --split   train | val | test | private (default test)
 *   --models  comma list of peer:<name>, 'default' (the shipped model, skipped when not installed) or any model
 *             path loadPredictor takes (default: peer:human,peer:face-api,default)
 *   --out     folder for <data-name>.json and <data-name>.md (default results/peers)
 *
 * Not part of `npm run bench` (the full PublicTest run takes minutes). Uses the built lib (lib/dist): run
 * `npm run build` first.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const lib = require(path.join(ROOT, 'lib', 'dist'));

function parseArgs(argv) {
  const args = { data: path.join(ROOT, 'data', 'sample'), split: 'test', models: ['peer:human', 'peer:face-api', 'default'],
    out: path.join(ROOT, 'results', 'peers') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new lib.FerError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--data') args.data = next();
    else if (a === '--split') args.split = next();
    else if (a === '--models') args.models = next().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--out') args.out = next();
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new lib.FerError(`unknown option ${a}: see node benchmarks/peers.js --help`);
  }
  if (!lib.SPLIT_NAMES.includes(args.split)) {
    throw new lib.FerError(`--split ${args.split}: use one of ${lib.SPLIT_NAMES.join(', ')}`);
  }
  return args;
}

/** 'fer2013-archive.zip' -> 'fer2013-archive'; a folder -> its name; '-<split>' added unless the split is test. */
function dataName(dataPath, split) {
  const base = path.basename(path.resolve(dataPath)).replace(/\.(zip|csv)$/i, '').replace(/[^\w.-]+/g, '_') || 'data';
  return split === 'test' ? base : `${base}-${split}`;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** What a model spec means: label, where it comes from, and a provenance note. */
function describeModel(spec) {
  const peer = lib.parsePeerSpec(spec);
  if (peer) {
    const info = lib.PEERS[peer];
    return { spec, label: info.title, origin: `${info.package}@${info.version} (${info.licence})`,
      input: `${info.inputSize}x${info.inputSize}x${info.channels}, ${info.normalisation}` };
  }
  const target = spec === 'default' ? lib.defaultModelPath() : path.resolve(spec);
  const onnx = fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'model.onnx') : target;
  return { spec, label: spec === 'default' ? 'fer-lab (shipped default model)' : `fer-lab (${path.relative(ROOT, target)})`,
    origin: path.relative(ROOT, target), input: '48x48x1, x/255',
    sha256: fs.existsSync(onnx) && fs.statSync(onnx).isFile() ? sha256(onnx) : undefined };
}

function summarize(m) {
  const d = lib.EMOTIONS.indexOf('disgust');
  return {
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    disgustRecall: m.perClass[d].recall,
    recall: Object.fromEntries(m.classes.map((c, k) => [c, m.perClass[k].recall])),
  };
}

const pct = (v) => (v === undefined ? 'n/a' : `${(100 * v).toFixed(1)}%`);
const f3 = (v) => (v === undefined ? 'n/a' : v.toFixed(3));

function markdown(report) {
  const lines = [
    `# Peers on ${report.data.name} (split ${report.data.split}, ${report.data.n} images)`,
    '',
    `Command: \`${report.command}\``,
    '',
    `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.backend}; ${report.createdAt}`,
    '',
    '| model | accuracy | + flip TTA | macro-F1 | + flip TTA | disgust recall | + flip TTA | images/s (both passes) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of report.results) {
    lines.push(`| ${r.label} (\`${r.spec}\`) | ${pct(r.plain.accuracy)} | ${pct(r.tta.accuracy)} | ${f3(r.plain.macroF1)} | ` +
      `${f3(r.tta.macroF1)} | ${pct(r.plain.disgustRecall)} | ${pct(r.tta.disgustRecall)} | ${r.imagesPerSecond.toFixed(0)} |`);
  }
  lines.push('', 'Per-class recall without TTA:', '',
    `| model | ${lib.EMOTIONS.join(' | ')} |`, `|---|${lib.EMOTIONS.map(() => '---:').join('|')}|`);
  for (const r of report.results) lines.push(`| \`${r.spec}\` | ${lib.EMOTIONS.map((c) => pct(r.plain.recall[c])).join(' | ')} |`);
  lines.push('', 'Models:', '');
  for (const r of report.results) {
    lines.push(`- \`${r.spec}\`: ${r.origin}; input ${r.input}${r.sha256 ? `; model.onnx sha256 ${r.sha256.slice(0, 16)}…` : ''}`);
  }
  if (report.skipped.length) lines.push('', ...report.skipped.map((s) => `Skipped \`${s.spec}\`: ${s.reason}`));
  lines.push('', ...report.notes.map((n) => `Note: ${n}`), '');
  return lines.join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const backend = await lib.initBackend();
  console.log(lib.describeBackend(backend));
  const full = await lib.loadDataset(args.data);
  const ds = lib.takeSplit(full, args.split);
  if (ds.size === 0) throw new lib.FerError(`${args.data} has no '${args.split}' images: pick another --split`);
  const name = dataName(args.data, args.split);
  console.log(`data: ${ds.source}, split ${args.split}, ${ds.size} images`);

  const results = [];
  const skipped = [];
  for (const spec of args.models) {
    if (spec === 'default' && !fs.existsSync(lib.defaultModelPath())) {
      skipped.push({ spec, reason: `${path.relative(ROOT, lib.defaultModelPath())} is not installed` });
      console.log(`skip ${spec}: not installed`);
      continue;
    }
    const info = describeModel(spec);
    const predictor = await lib.loadPredictor(spec === 'default' ? undefined : spec);
    try {
      const t0 = performance.now();
      const r = await lib.evaluate(predictor, ds, { tta: 'flip' });
      const seconds = (performance.now() - t0) / 1000;
      const row = { ...info, engine: predictor.engine, source: predictor.source, seconds,
        imagesPerSecond: (2 * ds.size) / seconds, plain: summarize(r.metrics), tta: summarize(r.tta.metrics),
        confusion: r.metrics.confusion };
      results.push(row);
      console.log(`${spec}: accuracy ${pct(row.plain.accuracy)} (TTA ${pct(row.tta.accuracy)}), macro-F1 ` +
        `${f3(row.plain.macroF1)} (TTA ${f3(row.tta.macroF1)}), disgust recall ${pct(row.plain.disgustRecall)} ` +
        `(TTA ${pct(row.tta.disgustRecall)}), ${seconds.toFixed(0)} s`);
    } finally {
      await predictor.dispose();
    }
  }

  const cpus = os.cpus();
  const report = {
    command: ['node', 'benchmarks/peers.js', ...process.argv.slice(2)].join(' '),
    createdAt: new Date().toISOString(),
    machine: { cpu: cpus[0] ? cpus[0].model.trim() : 'unknown', cores: cpus.length, node: process.version,
      backend: lib.describeBackend(backend) },
    data: { name, path: args.data, split: args.split, n: ds.size, counts: lib.classCounts(ds) },
    classes: [...lib.EMOTIONS],
    results,
    skipped,
    notes: [
      'Each model gets the 48x48 crops through its own input size, normalisation and class order (assets/peers/README.md); ' +
        'probabilities are reordered to angry, disgust, fear, happy, neutral, sad, surprise. TTA = mean of the image and its mirror.',
      "Human's model (oarriaga/face_classification) was trained on the first 80% of fer2013.csv (= the Training rows) and " +
        'its checkpoint chosen by validation loss on the last 20% (PublicTest + PrivateTest): its PublicTest score is ' +
        'slightly optimistic.',
      "face-api's expression model was trained on \"a variety of images from publicly available datasets as well as " +
        'images scraped from the web" (face-api.js docs); whether FER2013 test images were among them is not documented.',
    ],
  };
  fs.mkdirSync(args.out, { recursive: true });
  lib.writeJsonAtomic(path.join(args.out, `${name}.json`), report);
  lib.writeFileAtomic(path.join(args.out, `${name}.md`), markdown(report));
  console.log(`wrote ${path.join(args.out, `${name}.json`)} and ${name}.md`);
}

main().catch((err) => {
  console.error(err instanceof lib.FerError ? `error: ${err.message}` : err);
  process.exit(1);
});
