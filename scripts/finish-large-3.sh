#!/usr/bin/env bash
# The steps results/experiments/large-3.md fixed for the end of fer-lab-large-3, in order, so none is chosen after
# seeing a number: (1) the mean of the epoch-31..45 snapshots with batch-norm statistics re-estimated, (2) both
# candidates (best/ and that mean) scored on the run's validation split, (3) the higher one ships if it is above
# 69.92% (a tie goes to best/), then PublicTest is measured once. Nothing ships otherwise.
#
#   scripts/finish-large-3.sh <fer2013 archive.zip>
set -euo pipefail
data=${1:?usage: scripts/finish-large-3.sh <fer2013 archive.zip>}
cd "$(dirname "$0")/.."
[ -e "$data" ] || { echo "finish-large-3: $data not found (give it relative to the repository root)" >&2; exit 1; }
run=checkpoints/runs/fer-lab-large-3
swa=checkpoints/soups/large-3-swa
val=results/experiments/large-3-swa-val.json

epochs=$(node -e "console.log(require('./$run/history.json').length)")
if [ "$epochs" -lt 45 ]; then
  echo "finish-large-3: $run has $epochs of 45 epochs: resume it first (node lib/bin/fer.js train --resume --out $run --data $data)" >&2
  exit 1
fi
snapshots=()
for e in $(seq 31 45); do
  dir="$run/snapshots/epoch-$e"
  [ -f "$dir/model.json" ] || { echo "finish-large-3: $dir is missing (the run was not resumed with --snapshots-from 31?)" >&2; exit 1; }
  snapshots+=("$dir")
done

node scripts/average-weights.js --out "$swa" --bn-run "$run" --data "$data" "${snapshots[@]}"
node scripts/ensemble-val.js --run "$run" --data "$data" --json "$val" "$swa"

# Decide: validation accuracy without flips, as every bar so far; best/'s is the run's own record (the original rule)
choice=$(node -e "
const best = Math.max(...require('./$run/history.json').map((r) => r.valAcc));
const swa = require('./$val').models.find((x) => x.model === '$swa').accuracy;
const [pick, a] = swa > best ? ['$swa', swa] : ['$run/best', best];
console.error('best/ ' + (100 * best).toFixed(2) + '%, SWA mean ' + (100 * swa).toFixed(2) + '%: higher is ' + pick);
console.log(a > 0.6992 ? pick : 'none');
")
if [ "$choice" = none ]; then
  echo "finish-large-3: neither candidate is above 69.92% on validation: nothing ships and PublicTest stays unused."
  exit 0
fi
if [ "$choice" = "$swa" ]; then
  node scripts/ship-model.js --model "$swa" --run "$run" --data "$data"
else
  node scripts/ship-model.js --run "$run" --data "$data"
fi
bash scripts/measure-shipped-model.sh "$data"
echo "finish-large-3: shipped $choice; update README and results/experiments/large-3.md with results/fer-lab-default/."
