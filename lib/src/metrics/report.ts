/** A text classification report laid out like scikit-learn's classification_report. */
import type { Metrics } from './classification';

export interface ReportOptions {
  /** Decimals (default 2, as scikit-learn). */
  digits?: number;
}

const padLeft = (s: string, w: number) => (s.length >= w ? s : ' '.repeat(w - s.length) + s);

export function classificationReport(metrics: Metrics, options: ReportOptions = {}): string {
  const digits = options.digits ?? 2;
  const width = Math.max('weighted avg'.length, digits, ...metrics.classes.map((c) => c.length));
  const num = (v: number) => padLeft(v.toFixed(digits), 9);
  const int = (v: number) => padLeft(String(v), 9);
  const row = (name: string, cells: string[]) => `${padLeft(name, width)} ${cells.map((s) => ' ' + s).join('')}\n`;
  let out = row('', ['precision', 'recall', 'f1-score', 'support'].map((h) => padLeft(h, 9))) + '\n';
  metrics.classes.forEach((name, k) => {
    const m = metrics.perClass[k];
    out += row(name, [num(m.precision), num(m.recall), num(m.f1), int(m.support)]);
  });
  out += '\n';
  out += row('accuracy', [padLeft('', 9), padLeft('', 9), num(metrics.accuracy), int(metrics.n)]);
  out += row('macro avg', [num(metrics.macroPrecision), num(metrics.macroRecall), num(metrics.macroF1), int(metrics.n)]);
  out += row('weighted avg', [
    num(metrics.weightedPrecision),
    num(metrics.weightedRecall),
    num(metrics.weightedF1),
    int(metrics.n),
  ]);
  return out;
}
