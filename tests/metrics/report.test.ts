import { computeMetrics } from '../../lib/src/metrics/classification';
import { classificationReport } from '../../lib/src/metrics/report';

function oneHot(preds: number[], c: number): Float32Array {
  const out = new Float32Array(preds.length * c);
  preds.forEach((p, i) => (out[i * c + p] = 1));
  return out;
}

describe('classificationReport', () => {
  it("matches scikit-learn's documented example character for character", () => {
    // sklearn docs: y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1]
    const m = computeMetrics([0, 1, 2, 2, 2], oneHot([0, 0, 2, 2, 1], 3), ['class 0', 'class 1', 'class 2']);
    const expected =
      '              precision    recall  f1-score   support\n' +
      '\n' +
      '     class 0       0.50      1.00      0.67         1\n' +
      '     class 1       0.00      0.00      0.00         1\n' +
      '     class 2       1.00      0.67      0.80         3\n' +
      '\n' +
      '    accuracy                           0.60         5\n' +
      '   macro avg       0.50      0.56      0.49         5\n' +
      'weighted avg       0.70      0.60      0.61         5\n';
    expect(classificationReport(m)).toBe(expected);
  });

  it('widens the name column for long class names and takes digits', () => {
    const m = computeMetrics([0, 1], oneHot([0, 1], 2), ['a-very-long-class-name', 'b']);
    const text = classificationReport(m, { digits: 4 });
    const lines = text.split('\n');
    expect(lines[2]).toBe('a-very-long-class-name     1.0000    1.0000    1.0000         1');
    expect(lines[6].startsWith(' '.repeat(13) + 'macro avg     1.0000')).toBe(true);
  });
});
