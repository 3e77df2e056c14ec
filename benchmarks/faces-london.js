#!/usr/bin/env node
/**
 * Face detection (and, with a model, expression accuracy) on the Face Research Lab London Set photos
 * (../shared/data/faces-london/{neutral,happy}/*.jpg: 21 people x 2 expressions, CC BY 4.0).
 *
 *   node benchmarks/faces-london.js [--data DIR] [--model PATH | --no-model] [--detector-model back|front] [--json out.json]
 *
 * Prints faces found per photo (the goal: exactly one each) and, when a model is given or the shipped default
 * exists, the 7-way accuracy and the neutral-vs-happy accuracy of the predicted expression.
 * Uses the built lib (lib/dist): run `npm run build` first.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const faces = require(path.join(ROOT, 'lib', 'dist', 'faces'));
const apps = require(path.join(ROOT, 'lib', 'dist', 'apps'));
const inference = require(path.join(ROOT, 'lib', 'dist', 'inference'));

function parseArgs(argv) {
  const args = { data: path.join(ROOT, '..', 'shared', 'data', 'faces-london'), model: undefined, useModel: true, detectorModel: 'back', json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--data') args.data = argv[++i];
    else if (a === '--model') args.model = argv[++i];
    else if (a === '--no-model') args.useModel = false;
    else if (a === '--detector-model') args.detectorModel = argv[++i];
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
  const detector = await faces.createDetector('blazeface', { model: args.detectorModel });
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
  const summary = [`faces-london: exactly one face in ${s.exactlyOne}/${s.photos.length} photos (blazeface ${args.detectorModel}; ${(ms / s.photos.length).toFixed(0)} ms/photo incl. decode)`];
  if (s.accuracy !== undefined) {
    const per = Object.entries(s.perLabel).map(([l, [c, n]]) => `${l} ${c}/${n}`).join(', ');
    summary.push(`faces-london: model ${modelName}: 7-way accuracy ${(100 * s.accuracy).toFixed(1)}% (${per}); neutral-vs-happy ${(100 * s.accuracyAmongLabels).toFixed(1)}%`);
  }
  console.log(summary.join('\n'));
  if (args.json) {
    const table = ['| photos | exactly one face | 7-way accuracy | neutral vs happy |', '|---|---|---|---|',
      `| ${s.photos.length} | ${s.exactlyOne} | ${s.accuracy === undefined ? 'n/a' : (100 * s.accuracy).toFixed(1) + '%'} | ${s.accuracyAmongLabels === undefined ? 'n/a' : (100 * s.accuracyAmongLabels).toFixed(1) + '%'} |`].join('\n');
    fs.writeFileSync(args.json, JSON.stringify({ title: 'Faces: Face Research Lab London Set', table, summary, model: modelName, ...s }, null, 2));
  }
  if (s.exactlyOne !== s.photos.length) process.exitCode = 1;
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
