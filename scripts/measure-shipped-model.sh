#!/usr/bin/env bash
# Re-measures the README figures that depend on the shipped model (run after scripts/ship-model.js, which writes
# the PublicTest evaluation itself): faces-london with both detectors (Haar only where the OpenCV bindings are
# installed), and PublicTest accuracy of the fp16, int8 and int8-dynamic exports of the full-precision weights.
#
#   scripts/measure-shipped-model.sh <fer2013 archive.zip> [full-precision model folder]
#
# The quantization table starts from float32 weights: a model shipped with `ship-model.js --weights int8` keeps none,
# so pass the folder it was shipped from (e.g. checkpoints/soups/large-3-swa); the default is the shipped TF.js copy.
set -euo pipefail
data=${1:?usage: scripts/measure-shipped-model.sh <fer2013 archive.zip> [full-precision model folder]}
full=${2:-checkpoints/fer-lab-default/tfjs}
cd "$(dirname "$0")/.."
[ -f "$full/model.json" ] || { echo "measure-shipped-model: $full has no model.json" >&2; exit 1; }
if grep -q '"quantization"' "$full/model.json"; then
  echo "measure-shipped-model: $full stores quantized weights: pass the full-precision folder it was shipped from" >&2
  exit 1
fi
# ship-model.js folds a logit adjustment (tau > 0) into the shipped weights only: the folder it shipped from lacks it
if [ "$full" != checkpoints/fer-lab-default/tfjs ] && [ -f results/fer-lab-default/logit-adjustment.json ] &&
  node -e "process.exit(require('./results/fer-lab-default/logit-adjustment.json').tau > 0 ? 0 : 1)"; then
  echo "measure-shipped-model: the shipped model has a logit adjustment (tau > 0) that $full lacks: ship it as float32 to measure the table" >&2
  exit 1
fi
node benchmarks/faces-london.js --json results/faces-london.json
# Haar needs the optional OpenCV bindings (12-25 min to build here): without them its figure is left as it was, and
# this says so.
if node -e "require('@u4/opencv4nodejs')" >/dev/null 2>&1; then
  node benchmarks/faces-london.js --detector haar --json results/faces-london-haar.json
else
  echo "measure-shipped-model: @u4/opencv4nodejs is not installed: results/faces-london-haar.json NOT re-measured (see README: OpenCV)" >&2
fi
node benchmarks/inference.bench.js --accuracy-only --accuracy-model "$full" --accuracy-data "$data" --accuracy-split test --json results/quantization/publictest.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx fer export --model "$full" --out "$tmp/int8-dynamic.onnx" --int8-dynamic
npx fer evaluate --model "$tmp/int8-dynamic.onnx" --data "$data" --split test --out results/eval-dyn
