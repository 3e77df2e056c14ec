import { createSchedule, DEFAULT_SCHEDULE } from '../../lib/src/train/schedules';

describe('schedules', () => {
  test('cosine: linear warm-up, peak at the end of warm-up, minLr at the end', () => {
    const s = createSchedule({ ...DEFAULT_SCHEDULE, name: 'cosine', warmupEpochs: 2, minLr: 0 }, 0.1, 10);
    expect(s.lrAt(0, 0.5)).toBeCloseTo(0.025, 10);
    expect(s.lrAt(1, 0)).toBeCloseTo(0.05, 10);
    expect(s.lrAt(2, 0)).toBeCloseTo(0.1, 10);
    expect(s.lrAt(6, 0)).toBeCloseTo(0.05, 10); // half-way through the decay
    expect(s.lrAt(9, 1)).toBeCloseTo(0, 10);
    expect(s.lrAt(0, 0)).toBeGreaterThan(0);
  });

  test('plateau: reduces after `patience` epochs without improvement, state survives a round trip', () => {
    const s = createSchedule({ ...DEFAULT_SCHEDULE, name: 'plateau', factor: 0.5, patience: 2 }, 0.01, 20);
    const losses = [1.0, 0.9, 0.95, 0.92, 0.91];
    losses.forEach((l, e) => s.epochEnd(e, l));
    expect(s.lrAt(5, 0)).toBeCloseTo(0.005, 12);
    const copy = createSchedule({ ...DEFAULT_SCHEDULE, name: 'plateau', factor: 0.5, patience: 2 }, 0.01, 20);
    copy.restore(s.state());
    [0.95, 0.96, 0.97].forEach((l, e) => {
      s.epochEnd(5 + e, l);
      copy.epochEnd(5 + e, l);
    });
    expect(copy.lrAt(8, 0)).toBe(s.lrAt(8, 0));
    expect(s.lrAt(8, 0)).toBeCloseTo(0.0025, 12);
  });

  test('exponential and none', () => {
    expect(createSchedule({ ...DEFAULT_SCHEDULE, name: 'exponential', gamma: 0.8 }, 1, 5).lrAt(2, 0.5)).toBeCloseTo(0.64, 12);
    expect(createSchedule({ ...DEFAULT_SCHEDULE, name: 'none' }, 0.3, 5).lrAt(4, 0.9)).toBe(0.3);
  });
});
