#!/usr/bin/env bash
# The logged training accuracy of wide-7's weights on three sets of training images, at lr 1e-12 (the weights do not
# move), without teachers: results/experiments/replayed-views.md. Each run is stopped with SIGINT after SECONDS_PER_RUN
# of steps; its last/state.json holds the partial epoch's counts. Then the same weights' clean accuracy on 3,000 images
# of each set. About 12 min on 2 cores.
#   bash scripts/replayed-views.sh [--data ../shared/data/fer2013-archive.zip]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data/fer2013-archive.zip
[ "${1:-}" = "--data" ] && DATA=$2
SECONDS_PER_RUN=${SECONDS_PER_RUN:-120}
WORK=$(mktemp -d)
node -e "
const c = require('./checkpoints/recipes/fer-lab-wide-8b.json');
for (const k of ['teachers', 'ferplusVotes', 'ferplusVoteWeight', 'teacherWeight']) delete c[k];
Object.assign(c, { lr: 1e-12, epochs: 1 });
require('fs').writeFileSync('$WORK/config.json', JSON.stringify(c));"
measure() { # name extra-flags...
  local name=$1; shift
  node lib/bin/fer.js train --data "$DATA" --config "$WORK/config.json" --out "$WORK/$name" "$@" > "$WORK/$name.log" 2>&1 &
  local pid=$!
  until grep -q "Training steps" "$WORK/$name.log"; do
    kill -0 $pid 2>/dev/null || { cat "$WORK/$name.log"; exit 1; }
    sleep 5
  done
  sleep "$SECONDS_PER_RUN"; kill -INT $pid; wait $pid || true
  node -e "const p = require('$WORK/$name/last/state.json').partial; console.log('$name: logged accuracy ' + (100 * p.correct / p.seen).toFixed(1) + '% over ' + p.seen + ' augmented images')"
}
measure split
measure split-12k --max-train 12000
measure all-faces --val-fraction 0
node -e "
const fer = require('./lib/dist');
(async () => {
  await fer.initBackend();
  const ds = await fer.loadDataset('$DATA');
  const config = require('$WORK/split/config.json');
  const predictor = await fer.loadPredictor('checkpoints/runs/fer-lab-wide-7/best');
  for (const [name, over] of [['split', {}], ['split-12k', { maxTrain: 12000 }], ['all-faces', { valFraction: 0 }]]) {
    const { train, classes } = fer.prepareTrainingData(ds, { ...config, ...over });
    const order = fer.permutation(train.size, fer.streamFor(config.seed, 'shuffle', 0));
    const n = 3000, pixels = new Uint8Array(n * fer.PIXELS_PER_IMAGE);
    for (let k = 0; k < n; k++) pixels.set(train.pixels.subarray(order[k] * fer.PIXELS_PER_IMAGE, (order[k] + 1) * fer.PIXELS_PER_IMAGE), k * fer.PIXELS_PER_IMAGE);
    const probs = await predictor.predict(pixels);
    let right = 0;
    for (let k = 0; k < n; k++) if (fer.argmaxRow(probs, k, classes.length) === train.labels[order[k]]) right++;
    console.log(name + ': clean accuracy ' + (100 * right / n).toFixed(1) + '% on ' + n + ' of ' + train.size + ' images');
  }
  await predictor.dispose();
})().catch((e) => { console.error(e); process.exit(1); });"
rm -rf "$WORK"
