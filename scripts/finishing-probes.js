#!/usr/bin/env node
/**
 * Two test-time probes on a run's validation split (results/experiments/finishing-probes.md): does a vgg net score
 * higher at another input size (it ends in global average pooling, so its weights run at any size), or with its
 * batch-norm statistics re-estimated on 12,800 clean training images (fer.recomputeBatchNorm: one pass in training
 * mode)? Validation only. About 20 min on 2 cores (TF.js wasm).
 *
 *   node scripts/finishing-probes.js <run folder> <model folder> [dataset]
 */
'use strict';
const path = require('path');
const fer = require(path.join(__dirname, '..', 'lib', 'dist'));
const { tf } = fer;
async function main() {
  const [run, modelDir, data = '../shared/data/fer2013-archive.zip'] = process.argv.slice(2);
  if (!run || !modelDir) throw new Error('usage: node scripts/finishing-probes.js <run folder> <model folder> [dataset]');
  await fer.initBackend();
  const config = fer.readSavedConfig(run);
  if (!config) throw new Error(`${run} holds no training run (no config.json or last/state.json)`);
  const { train, val } = fer.prepareTrainingData(await fer.loadDataset(data), config);
  const { model, meta } = await fer.readCheckpoint(modelDir);
  const acc = (m, pixels, labels, size) => {
    let correct = 0; const n = labels.length; const B = 256;
    for (let s = 0; s < n; s += B) {
      const e = Math.min(n, s + B);
      const pred = tf.tidy(() => {
        let x = fer.pixelsToTensor(pixels.subarray(s * fer.PIXELS_PER_IMAGE, e * fer.PIXELS_PER_IMAGE));
        if (size !== 48) x = tf.image.resizeBilinear(x, [size, size], true);
        return m.predict(x).argMax(1).dataSync();
      });
      for (let i = 0; i < e - s; i++) if (pred[i] === labels[s + i]) correct++;
    }
    return correct / n;
  };
  console.log('base val', acc(model, val.pixels, val.labels, 48));
  for (const size of [44, 50, 52, 56]) {
    const m2 = fer.createModel(meta.arch, { inputSize: size });
    m2.setWeights(model.getWeights());
    console.log(`size ${size} val`, acc(m2, val.pixels, val.labels, size));
    m2.dispose();
  }
  // BN re-estimation on clean training images, as torch.optim.swa_utils.update_bn (lib/src/train/batchnorm.ts).
  const bns = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
  const orig = bns.map((l) => l.getWeights().map((w) => w.clone()));
  const used = fer.recomputeBatchNorm(model, train.pixels, { maxImages: 12800 });
  console.log(`bn re-estimated (${used} clean training images, training mode) val`, acc(model, val.pixels, val.labels, 48));
  bns.forEach((l, i) => l.setWeights(orig[i]));
  orig.flat().forEach((t) => t.dispose());
  console.log('restored val', acc(model, val.pixels, val.labels, 48));
  model.dispose();
}
main().catch((e) => { console.error(`finishing-probes: ${e.message}`); process.exit(1); });
