#!/usr/bin/env bash
# Re-measures the README figures that depend on the shipped model (run after scripts/ship-model.js, which writes
# the PublicTest evaluation itself): faces-london with both detectors, and PublicTest accuracy of the fp16, int8 and
# int8-dynamic exports.
#
#   scripts/measure-shipped-model.sh <fer2013 archive.zip>
set -euo pipefail
data=${1:?usage: scripts/measure-shipped-model.sh <fer2013 archive.zip>}
cd "$(dirname "$0")/.."
node benchmarks/faces-london.js --json results/faces-london.json
node benchmarks/faces-london.js --detector haar --json results/faces-london-haar.json
node benchmarks/inference.bench.js --accuracy-only --accuracy-data "$data" --accuracy-split test --json results/quantization/publictest.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx fer export --model checkpoints/fer-lab-default/tfjs --out "$tmp/int8-dynamic.onnx" --int8-dynamic
npx fer evaluate --model "$tmp/int8-dynamic.onnx" --data "$data" --split test --out results/eval-dyn
