import { calibration, expectedCalibrationError } from '../../lib/src/metrics/calibration';

describe('calibration', () => {
  // confidences 0.9 (right), 0.88 (right), 0.82 (wrong), 0.7 (right), 0.56 (wrong)
  const probs = new Float32Array([0.9, 0.1, 0.88, 0.12, 0.82, 0.18, 0.3, 0.7, 0.44, 0.56]);
  const labels = [0, 0, 1, 1, 0];
  const cal = calibration(labels, probs, ['x', 'y']);

  it('computes ECE over 15 equal bins by hand', () => {
    // bin 13 (0.867, 0.933]: 0.9 and 0.88, both right -> gap |1 - 0.89| = 0.11, weight 2/5
    // bins 12, 10, 8: single examples with gaps 0.82, 0.3, 0.56
    expect(cal.ece).toBeCloseTo((2 * 0.11 + 0.82 + 0.3 + 0.56) / 5, 5);
    expect(cal.mce).toBeCloseTo(0.82, 5);
    expect(expectedCalibrationError(labels, probs, ['x', 'y'])).toBeCloseTo(cal.ece, 10);
  });

  it('reports each bin (reliability diagram data)', () => {
    expect(cal.bins).toHaveLength(15);
    expect(cal.bins[0].lower).toBe(0);
    expect(cal.bins[14].upper).toBe(1);
    expect(cal.bins.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 2, 0]);
    expect(cal.bins[13].confidence).toBeCloseTo(0.89, 5);
    expect(cal.bins[13].accuracy).toBe(1);
    expect(cal.bins[12].accuracy).toBe(0);
    expect(cal.bins[0]).toEqual({ lower: 0, upper: 1 / 15, count: 0, confidence: 0, accuracy: 0 });
  });

  it('is 0 for a perfectly calibrated bin and honours the bin count', () => {
    // confidence 0.75 (float32-exact), 3 of 4 right
    const p = new Float32Array([0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.25, 0.75]);
    const c = calibration([0, 0, 0, 0], p, ['x', 'y'], { bins: 10 });
    expect(c.bins).toHaveLength(10);
    expect(c.ece).toBeCloseTo(0, 6);
  });
});
