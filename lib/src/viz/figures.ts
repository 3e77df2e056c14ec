/** Data -> figure specs. The same functions feed notebooks (Plotly), the CLI and results/ (PNG). */
import { classCounts, Dataset, SPLIT_NAMES, SplitName, splitIndices } from '../data/dataset';
import { EMOTION_COLORS } from '../emotions';
import type { Calibration } from '../metrics/calibration';
import type { Metrics } from '../metrics/classification';
import type { ChartFigure, Figure, HeatmapFigure, Series } from './spec';

export const SPLIT_COLORS: Record<SplitName, string> = {
  train: '#4c78a8',
  val: '#f58518',
  test: '#54a24b',
  private: '#b279a2',
};
const PRF_COLORS = ['#4c78a8', '#f58518', '#54a24b'];
const NEUTRAL = '#888888';

export interface FigureOptions {
  title?: string;
  width?: number;
  height?: number;
}

/** The colour of a class name (grey for names outside the emotion list). */
export function classColor(name: string): string {
  return (EMOTION_COLORS as Record<string, string>)[name] ?? NEUTRAL;
}

/** A class colour dark enough for text on white (light colours such as happy's yellow are darkened). */
export function classTextColor(name: string): string {
  const hex = classColor(name);
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => parseInt(h, 16));
  const luminance = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  if (luminance <= 0.55) return hex;
  const f = 0.55 / luminance;
  return '#' + [r, g, b].map((v) => Math.round(v * f).toString(16).padStart(2, '0')).join('');
}

const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;

/** Images per class, one bar group per class and one bar per split present in the data. */
export function classDistributionFigure(ds: Dataset, options: FigureOptions = {}): ChartFigure {
  const splits = SPLIT_NAMES.filter((s) => ds.split.includes(s));
  const series: Series[] = splits.map((s) => {
    const counts = classCounts(ds, splitIndices(ds, s));
    return { name: s, kind: 'bar', x: [...ds.classes], y: counts, color: SPLIT_COLORS[s], labels: counts.map(String) };
  });
  return {
    kind: 'chart',
    title: options.title ?? `Class distribution (${ds.size} images)`,
    width: options.width ?? 900,
    height: options.height ?? 450,
    panels: [{ x: { type: 'category', title: 'class' }, y: { type: 'value', title: 'images' }, series }],
    showLegend: true,
  };
}

/** One row of a training history (checkpoint state.json, TrainResult). */
export interface HistoryEntry {
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  valLoss?: number;
  valAcc?: number;
  lr?: number;
}

/** Loss, accuracy and learning rate per epoch, three panels side by side. */
export function trainingCurvesFigure(history: readonly HistoryEntry[], options: FigureOptions = {}): ChartFigure {
  const epochs = history.map((h) => h.epoch);
  const line = (name: string, values: Array<number | undefined>, color: string): Series[] =>
    values.every((v) => v === undefined || !Number.isFinite(v))
      ? []
      : [{ name, kind: 'line', x: epochs, y: values.map((v) => (v === undefined ? NaN : v)), color, markers: true }];
  const best = history.reduce<HistoryEntry | undefined>(
    (b, h) => (h.valAcc !== undefined && (b === undefined || h.valAcc > (b.valAcc ?? -1)) ? h : b),
    undefined,
  );
  const epochAxis = {
    type: 'value' as const,
    title: 'epoch',
    integer: true,
    min: epochs.length ? Math.min(...epochs) : undefined,
    max: epochs.length ? Math.max(...epochs) : undefined,
  };
  return {
    kind: 'chart',
    title:
      options.title ??
      (best?.valAcc !== undefined ? `Training (best val accuracy ${pct(best.valAcc)} at epoch ${best.epoch})` : 'Training'),
    width: options.width ?? 1200,
    height: options.height ?? 400,
    panels: [
      {
        title: 'loss',
        x: epochAxis,
        y: { type: 'value' },
        series: [
          ...line('train loss', history.map((h) => h.trainLoss), '#4c78a8'),
          ...line('val loss', history.map((h) => h.valLoss), '#f58518'),
        ],
      },
      {
        title: 'accuracy',
        x: epochAxis,
        y: { type: 'value', percent: true },
        series: [
          ...line('train acc', history.map((h) => h.trainAcc), '#54a24b'),
          ...line('val acc', history.map((h) => h.valAcc), '#e45756'),
        ],
      },
      {
        title: 'learning rate',
        x: epochAxis,
        y: { type: 'log' },
        series: line('lr', history.map((h) => h.lr), '#72b7b2'),
      },
    ],
    showLegend: true,
  };
}

/** Confusion matrix heatmap: colour = share of the true class (row-normalised), text = share and count. */
export function confusionMatrixFigure(metrics: Metrics, options: FigureOptions = {}): HeatmapFigure {
  const classes = [...metrics.classes];
  return {
    kind: 'heatmap',
    title: options.title ?? `Confusion matrix (n=${metrics.n}, accuracy ${pct(metrics.accuracy)})`,
    width: options.width ?? 720,
    height: options.height ?? 640,
    xLabels: classes,
    yLabels: classes,
    xTitle: 'predicted',
    yTitle: 'true',
    values: metrics.confusionNormalized.map((r) => [...r]),
    text: metrics.confusionNormalized.map((r, i) => r.map((v, j) => `${pct(v, 0)}\n(${metrics.confusion[i][j]})`)),
    min: 0,
    max: 1,
    colors: ['#f7fbff', '#08306b'],
    valueTitle: 'share of true class',
  };
}

/** Precision, recall and F1 per class (grouped bars). */
export function perClassFigure(metrics: Metrics, options: FigureOptions = {}): ChartFigure {
  const names = [...metrics.classes];
  const keys = ['precision', 'recall', 'f1'] as const;
  return {
    kind: 'chart',
    title: options.title ?? `Per-class metrics (macro F1 ${metrics.macroF1.toFixed(3)}, accuracy ${pct(metrics.accuracy)})`,
    width: options.width ?? 900,
    height: options.height ?? 450,
    panels: [
      {
        x: { type: 'category', title: 'class' },
        y: { type: 'value', min: 0, max: 1 },
        series: keys.map((k, i) => ({
          name: k === 'f1' ? 'F1' : k,
          kind: 'bar',
          x: names,
          y: metrics.perClass.map((m) => m[k]),
          color: PRF_COLORS[i],
          labels: metrics.perClass.map((m) => m[k].toFixed(2)),
        })),
      },
    ],
    showLegend: true,
  };
}

/** One prediction: a horizontal bar per class, in class colours, with percentages. */
export function probabilityBarsFigure(
  probs: ArrayLike<number>,
  classes: readonly string[],
  options: FigureOptions = {},
): ChartFigure {
  const values = Array.from(probs).slice(0, classes.length);
  const top = values.indexOf(Math.max(...values));
  return {
    kind: 'chart',
    title: options.title ?? `Prediction: ${classes[top]} (${pct(values[top])})`,
    width: options.width ?? 600,
    height: options.height ?? 340,
    panels: [
      {
        horizontal: true,
        x: { type: 'value', min: 0, max: 1, percent: true },
        y: { type: 'category' },
        series: [
          {
            name: 'probability',
            kind: 'bar',
            x: [...classes],
            y: values,
            colors: classes.map(classColor),
            labels: values.map((v) => pct(v)),
          },
        ],
      },
    ],
    showLegend: false,
  };
}

/** Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration. */
export function reliabilityFigure(cal: Calibration, options: FigureOptions = {}): ChartFigure {
  const names = cal.bins.map((b) => b.upper.toFixed(2));
  const used = cal.bins.map((b) => b.count > 0);
  return {
    kind: 'chart',
    title: options.title ?? `Reliability (ECE ${pct(cal.ece)}, ${cal.bins.length} bins)`,
    width: options.width ?? 700,
    height: options.height ?? 500,
    panels: [
      {
        x: { type: 'category', title: 'confidence (bin upper edge)' },
        y: { type: 'value', min: 0, max: 1, title: 'accuracy' },
        series: [
          {
            name: 'accuracy',
            kind: 'bar',
            x: names,
            y: cal.bins.map((b) => b.accuracy),
            color: '#4c78a8',
            labels: cal.bins.map((b) => (b.count ? String(b.count) : '')),
          },
          {
            name: 'mean confidence',
            kind: 'line',
            x: names,
            y: cal.bins.map((b, i) => (used[i] ? b.confidence : NaN)),
            color: '#e45756',
            markers: true,
          },
          {
            name: 'perfect calibration',
            kind: 'line',
            x: names,
            y: cal.bins.map((b) => (b.lower + b.upper) / 2),
            color: '#555555',
            dashed: true,
          },
        ],
      },
    ],
    showLegend: true,
  };
}

/** A result row for comparing models or runs. */
export interface ComparisonRow {
  name: string;
  accuracy: number;
  macroF1: number;
  /** e.g. accuracy with TTA, disgust recall: extra bars. */
  extra?: Record<string, number>;
}

/** Models side by side: accuracy, macro F1 and any extra numbers, one bar group per model. */
export function comparisonFigure(rows: readonly ComparisonRow[], options: FigureOptions = {}): ChartFigure {
  const extraKeys = [...new Set(rows.flatMap((r) => Object.keys(r.extra ?? {})))];
  const palette = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6'];
  const keys = ['accuracy', 'macro F1', ...extraKeys];
  const value = (r: ComparisonRow, k: string) =>
    k === 'accuracy' ? r.accuracy : k === 'macro F1' ? r.macroF1 : (r.extra?.[k] ?? NaN);
  return {
    kind: 'chart',
    title: options.title ?? 'Model comparison',
    width: options.width ?? Math.max(700, 160 * rows.length),
    height: options.height ?? 450,
    panels: [
      {
        x: { type: 'category' },
        y: { type: 'value', min: 0, max: 1, percent: true },
        series: keys.map((k, i) => ({
          name: k,
          kind: 'bar',
          x: rows.map((r) => r.name),
          y: rows.map((r) => value(r, k)),
          color: palette[i % palette.length],
          labels: rows.map((r) => (Number.isFinite(value(r, k)) ? pct(value(r, k)) : '')),
        })),
      },
    ],
    showLegend: true,
  };
}

export type { Figure };
