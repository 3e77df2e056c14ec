/** The model registry: every architecture builds with its documented size and cost, and behaves as a classifier. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { FerError } from '../../lib/src/errors';
import { countParams, createModel, listModels, modelFlops } from '../../lib/src/models';

beforeAll(async () => {
  await initBackend('wasm');
});

function firstKernel(model: tf.LayersModel): Float32Array {
  const conv = model.layers.find((l) => l.getClassName() === 'Conv2D');
  return conv!.getWeights()[0].dataSync() as Float32Array;
}

describe('listModels', () => {
  it('lists the shipped architectures with description, params and FLOPs', () => {
    const names = listModels().map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['resnet18', 'vgg-compact']));
    for (const m of listModels()) {
      expect(m.description.length).toBeGreaterThan(10);
      expect(m.params).toBeGreaterThan(1000);
      expect(m.flops).toBeGreaterThan(m.params);
    }
  });
});

describe.each(listModels().map((m) => [m.name, m] as const))('%s', (name, info) => {
  let model: tf.LayersModel;
  beforeAll(() => {
    model = createModel(name);
  });
  afterAll(() => model.dispose());

  it('has the documented parameter count and FLOPs', () => {
    expect(countParams(model)).toBe(info.params);
    expect(modelFlops(model)).toBe(info.flops);
  });

  it('maps [n,48,48,1] to softmax rows over 7 classes', () => {
    tf.tidy(() => {
      const x = tf.randomUniform([3, 48, 48, 1], 0, 1, 'float32', 7);
      const y = model.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([3, 7]);
      const sums = y.sum(1).dataSync();
      sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
      expect(y.min().dataSync()[0]).toBeGreaterThanOrEqual(0);
    });
  });

  it('uses only layers that serialise to model.json and load back', async () => {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    tf.tidy(() => {
      const x = tf.randomUniform([2, 48, 48, 1], 0, 1, 'float32', 3);
      const d = tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor).abs().max().dataSync()[0];
      expect(d).toBeLessThan(1e-5);
    });
    loaded.dispose();
  });
});

describe('createModel options', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = createModel('vgg-small', { seed: 1 });
    const b = createModel('vgg-small', { seed: 1 });
    const c = createModel('vgg-small', { seed: 2 });
    expect(Array.from(firstKernel(a))).toEqual(Array.from(firstKernel(b)));
    expect(Array.from(firstKernel(a))).not.toEqual(Array.from(firstKernel(c)));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('honours inputChannels, numClasses and dropout', () => {
    const m = createModel('vgg-small', { inputChannels: 3, numClasses: 5, dropout: 0 });
    expect(m.inputs[0].shape).toEqual([null, 48, 48, 3]);
    expect(m.outputs[0].shape).toEqual([null, 5]);
    expect(m.layers.some((l) => l.getClassName() === 'Dropout')).toBe(false);
    m.dispose();
  });

  it('builds the resnet18 cifar stem (3x3, stride 1, no pool) with 2.5 GFLOPs per image', () => {
    const m = createModel('resnet18', { stem: 'cifar' });
    const stem = m.getLayer('stem_conv');
    expect((stem.getConfig().kernelSize as number[])[0]).toBe(3);
    expect(m.layers.some((l) => l.name === 'stem_pool')).toBe(false);
    expect(modelFlops(m)).toBe(2_494_336_512);
    m.dispose();
  });

  it('rejects unknown architectures and bad options with FerError', () => {
    expect(() => createModel('resnet50')).toThrow(FerError);
    expect(() => createModel('resnet50')).toThrow(/vgg-compact/);
    expect(() => createModel('vgg-compact', { dropout: 1 })).toThrow(FerError);
    expect(() => createModel('vgg-compact', { inputChannels: 0 })).toThrow(FerError);
    expect(() => createModel('vgg-compact', { stem: 'cifar' })).toThrow(/resnet18/);
    expect(() => createModel('resnet18', { stem: 'big' as 'cifar' })).toThrow(FerError);
  });
});

describe('training on wasm', () => {
  it('Adam steps on a fixed batch lower the loss (vgg-small) without leaking tensors', () => {
    const model = createModel('vgg-small', { dropout: 0 });
    const opt = tf.train.adam(1e-3);
    const x = tf.randomUniform([16, 48, 48, 1], 0, 1, 'float32', 5);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 3, 3], 'int32'), 7);
    const step = (): number => {
      const loss = opt.minimize(
        () => tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar,
        true,
      )!;
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    };
    const first = step();
    const tensors = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 6; i++) last = step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(last).toBeLessThan(first * 0.9);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });
});
