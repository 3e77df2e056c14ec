import type { Dataset } from '../../lib/src/data/dataset';
import { EMOTIONS, EMOTION_COLORS, PIXELS_PER_IMAGE } from '../../lib/src/emotions';
import { calibration } from '../../lib/src/metrics/calibration';
import { computeMetrics } from '../../lib/src/metrics/classification';
import {
  classDistributionFigure, comparisonFigure, confusionMatrixFigure, perClassFigure, probabilityBarsFigure,
  reliabilityFigure, trainingCurvesFigure, classTextColor,
} from '../../lib/src/viz/figures';
import type { ChartFigure } from '../../lib/src/viz/spec';

const oneHot = (preds: number[], c: number) => {
  const out = new Float32Array(preds.length * c);
  preds.forEach((p, i) => (out[i * c + p] = 1));
  return out;
};

describe('figure specs', () => {
  const m = computeMetrics([0, 0, 1, 2], oneHot([0, 1, 1, 2], 3), ['angry', 'disgust', 'fear']);

  it('confusion matrix: row-normalised colours, share and count as text', () => {
    const f = confusionMatrixFigure(m);
    expect(f.kind).toBe('heatmap');
    expect(f.xLabels).toEqual(['angry', 'disgust', 'fear']);
    expect(f.values[0]).toEqual([0.5, 0.5, 0]);
    expect(f.text[0][1]).toBe('50%\n(1)');
    expect(f.text[2][2]).toBe('100%\n(1)');
    expect(f.title).toContain('75.0%');
  });

  it('per-class bars: precision, recall and F1 per class', () => {
    const f = perClassFigure(m);
    const s = f.panels[0].series;
    expect(s.map((x) => x.name)).toEqual(['precision', 'recall', 'F1']);
    expect(s[1].y).toEqual([0.5, 1, 1]);
    expect(s[0].y[1]).toBeCloseTo(0.5, 10);
    expect(s[2].labels?.[0]).toBe('0.67');
  });

  it('class distribution: one series per split present, counts per class', () => {
    const n = 6;
    const ds: Dataset = {
      format: 'kaggle-folder', source: 'x', classes: EMOTIONS, size: n, pixels: new Uint8Array(n * PIXELS_PER_IMAGE),
      labels: Uint8Array.from([0, 0, 3, 3, 3, 6]), split: ['train', 'train', 'train', 'test', 'test', 'test'],
      files: [], bad: [],
    };
    const f = classDistributionFigure(ds);
    expect(f.panels[0].series.map((s) => s.name)).toEqual(['train', 'test']);
    expect(f.panels[0].series[0].y).toEqual([2, 0, 0, 1, 0, 0, 0]);
    expect(f.panels[0].series[1].y).toEqual([0, 0, 0, 2, 0, 0, 1]);
  });

  it('training curves: loss, accuracy and lr panels; missing validation leaves its line out', () => {
    const h = [
      { epoch: 1, trainLoss: 1.5, trainAcc: 0.4, valLoss: 1.4, valAcc: 0.45, lr: 1e-3 },
      { epoch: 2, trainLoss: 1.2, trainAcc: 0.5, valLoss: 1.3, valAcc: 0.52, lr: 8e-4 },
      { epoch: 3, trainLoss: 1.0, trainAcc: 0.6, valLoss: 1.35, valAcc: 0.5, lr: 6.4e-4 },
    ];
    const f = trainingCurvesFigure(h);
    expect(f.panels.map((p) => p.title)).toEqual(['loss', 'accuracy', 'learning rate']);
    expect(f.panels[0].series.map((s) => s.name)).toEqual(['train loss', 'val loss']);
    expect(f.panels[1].series[1].y).toEqual([0.45, 0.52, 0.5]);
    expect(f.panels[2].y.type).toBe('log');
    expect(f.title).toContain('52.0% at epoch 2');
    const noVal = trainingCurvesFigure(h.map(({ epoch, trainLoss, trainAcc }) => ({ epoch, trainLoss, trainAcc })));
    expect(noVal.panels[0].series.map((s) => s.name)).toEqual(['train loss']);
    expect(noVal.panels[2].series).toEqual([]);
  });

  it('probability bars: horizontal, class colours, top class in the title', () => {
    const f = probabilityBarsFigure([0.1, 0.05, 0.05, 0.6, 0.1, 0.05, 0.05], EMOTIONS);
    expect(f.panels[0].horizontal).toBe(true);
    expect(f.title).toBe('Prediction: happy (60.0%)');
    expect(f.panels[0].series[0].colors?.[3]).toBe(EMOTION_COLORS.happy);
    expect(f.panels[0].series[0].labels?.[3]).toBe('60.0%');
  });

  it('reliability diagram: accuracy per bin against the diagonal', () => {
    const cal = calibration([0, 1], new Float32Array([0.9, 0.1, 0.8, 0.2]), ['a', 'b']);
    const f = reliabilityFigure(cal) as ChartFigure;
    const [acc, conf, diag] = f.panels[0].series;
    expect(acc.y).toHaveLength(15);
    expect(acc.y[13]).toBe(1);
    expect(Number.isNaN(conf.y[0])).toBe(true); // empty bin: no point
    expect(diag.dashed).toBe(true);
    expect(diag.y[0]).toBeCloseTo(1 / 30, 10);
    expect(f.title).toContain('ECE');
  });

  it('comparison: a bar group per model with extra numbers', () => {
    const f = comparisonFigure([
      { name: 'ours', accuracy: 0.68, macroF1: 0.66, extra: { TTA: 0.7 } },
      { name: 'peer', accuracy: 0.65, macroF1: 0.6 },
    ]);
    expect(f.panels[0].series.map((s) => s.name)).toEqual(['accuracy', 'macro F1', 'TTA']);
    expect(Number.isNaN(f.panels[0].series[2].y[1])).toBe(true);
    expect(f.panels[0].series[2].labels).toEqual(['70.0%', '']);
  });

  it('darkens light class colours for text only', () => {
    expect(classTextColor('sad')).toBe(EMOTION_COLORS.sad);
    const happy = classTextColor('happy');
    expect(happy).not.toBe(EMOTION_COLORS.happy);
    expect(parseInt(happy.slice(1, 3), 16)).toBeLessThan(parseInt(EMOTION_COLORS.happy.slice(1, 3), 16));
    expect(classTextColor('unknown')).toBe('#888888');
  });
});
