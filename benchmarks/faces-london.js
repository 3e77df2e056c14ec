#!/usr/bin/env node
/**
 * Face detection (and, with a model, expression accuracy) on the Face Research Lab London Set photos
 * (../shared/data/faces-london/{neutral,happy}/*.jpg: 21 people x 2 expressions, CC BY 4.0).
 *
 *   node benchmarks/faces-london.js [--data DIR] [--detector blazeface|haar] [--model PATH | --no-model]
 *                                   [--detector-model back|front] [--json out.json]
 *
 * Prints faces found per photo (the goal: exactly one each), photos with extra boxes or none, detection time per
 * photo, and, when a model is given or the shipped default exists, the 7-way and neutral-vs-happy accuracy of the
 * largest face's predicted expression. `--detector haar` needs @u4/opencv4nodejs: without it the script says haar is
 * unavailable and exits 0 (nothing measured, no JSON written).
 * Uses the built lib (lib/dist): run `npm run build` first.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const faces = require(path.join(ROOT, 'lib', 'dist', 'faces'));
const apps = require(path.join(ROOT, 'lib', 'dist', 'apps'));
const inference = require(path.join(ROOT, 'lib', 'dist', 'inference'));

function parseArgs(argv) {
  const args = { data: path.join(ROOT, '..', 'shared', 'data', 'faces-london'), detector: 'blazeface', model: undefined, useModel: true, detectorModel: 'back', json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--data') args.data = argv[++i];
    else if (a === '--model') args.model = argv[++i];
    else if (a === '--no-model') args.useModel = false;
    else if (a === '--detector-model') args.detectorModel = argv[++i];
    else if (a === '--detector') args.detector = argv[++i];
    else if (a === '--json') args.json = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

(async () => {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.data)) {
    console.error(`faces-london: ${args.data} not found (pass --data DIR with neutral/ and happy/ subfolders)`);
    process.exit(2);
  }
  if (args.detector === 'haar' && !faces.hasOpenCv()) {
    let why = '';
    try {
      faces.requireOpenCv('The haar detector');
    } catch (err) {
      why = String(err.message).split(';')[0];
    }
    console.log(`faces-london: haar detector unavailable, nothing measured (${why})`);
    return;
  }
  const inner = await faces.createDetector(args.detector, args.detector === 'blazeface' ? { model: args.detectorModel } : {});
  const detectMs = [];
  // Time detection alone (decode and classification excluded).
  const detector = {
    name: inner.name,
    async detect(image) {
      const t = performance.now();
      const found = await inner.detect(image);
      detectMs.push(performance.now() - t);
      return found;
    },
    dispose: () => inner.dispose(),
  };
  const detectorName = args.detector === 'blazeface' ? `blazeface ${args.detectorModel}` : args.detector;
  let classifier;
  let modelName = 'none';
  if (args.useModel && (args.model || fs.existsSync(inference.defaultModelPath()))) {
    classifier = await inference.loadPredictor(args.model);
    modelName = args.model || 'shipped default model';
  }
  const t0 = performance.now();
  const s = await apps.evaluateLabelledFolder(args.data, detector, classifier);
  const ms = performance.now() - t0;
  detector.dispose();
  if (classifier) await classifier.dispose();
  const lines = s.photos.map((p) => `${path.relative(args.data, p.file)}\t${p.faces} face${p.faces === 1 ? '' : 's'}${p.predicted ? `\t${p.predicted}` : ''}${p.error ? `\tERROR ${p.error}` : ''}`);
  console.log(lines.join('\n'));
  const sorted = [...detectMs].sort((a, b) => a - b);
  const detect = { medianMs: sorted[Math.floor(sorted.length / 2)], meanMs: detectMs.reduce((a, b) => a + b, 0) / Math.max(1, detectMs.length) };
  const misses = s.photos.filter((p) => p.faces === 0).length;
  const extraPhotos = s.photos.filter((p) => p.faces > 1).length;
  const extraBoxes = s.photos.reduce((n, p) => n + Math.max(0, p.faces - 1), 0);
  const summary = [
    `faces-london: ${detectorName}: exactly one face in ${s.exactlyOne}/${s.photos.length} photos; ${misses} with none; ${extraPhotos} with extra boxes (${extraBoxes} extra); ` +
      `detection ${detect.medianMs.toFixed(1)} ms/photo median (${(ms / s.photos.length).toFixed(0)} ms/photo incl. decode and classification)`,
  ];
  if (s.accuracy !== undefined) {
    const per = Object.entries(s.perLabel).map(([l, [c, n]]) => `${l} ${c}/${n}`).join(', ');
    summary.push(`faces-london: ${detectorName} + model ${modelName}: 7-way accuracy ${(100 * s.accuracy).toFixed(1)}% (${per}); neutral-vs-happy ${(100 * s.accuracyAmongLabels).toFixed(1)}%`);
  }
  console.log(summary.join('\n'));
  if (args.json) {
    const table = ['| detector | photos | exactly one face | none | extra boxes | detect ms/photo (median) | 7-way accuracy | neutral vs happy |', '|---|---|---|---|---|---|---|---|',
      `| ${detectorName} | ${s.photos.length} | ${s.exactlyOne} | ${misses} | ${extraBoxes} in ${extraPhotos} photos | ${detect.medianMs.toFixed(1)} | ${s.accuracy === undefined ? 'n/a' : (100 * s.accuracy).toFixed(1) + '%'} | ${s.accuracyAmongLabels === undefined ? 'n/a' : (100 * s.accuracyAmongLabels).toFixed(1) + '%'} |`].join('\n');
    const command = `node benchmarks/faces-london.js ${process.argv.slice(2).join(' ')}`.trim();
    const result = { title: 'Faces: Face Research Lab London Set', command, detector: detectorName, table, summary, model: modelName, detect, misses, extraPhotos, extraBoxes,
      loadAverage: Number(os.loadavg()[0].toFixed(2)), ...s };
    const tmp = `${args.json}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(result, null, 2));
    fs.renameSync(tmp, args.json);
  }
  if (s.exactlyOne !== s.photos.length) process.exitCode = 1;
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
