import { confidentMistakes, topMistakes } from '../../lib/src/metrics/mistakes';

const C = ['a', 'b', 'c'];
// rows: [p(a), p(b), p(c)]
const rows = [
  [0.9, 0.05, 0.05], // 0: true a, right
  [0.2, 0.7, 0.1], // 1: true a -> b (0.7)
  [0.1, 0.8, 0.1], // 2: true a -> b (0.8)
  [0.3, 0.6, 0.1], // 3: true a -> b (0.6)
  [0.1, 0.2, 0.7], // 4: true b -> c (0.7)
  [0.95, 0.03, 0.02], // 5: true c -> a (0.95)
];
const labels = [0, 0, 0, 0, 1, 2];
const probs = new Float32Array(rows.flat());

describe('confidentMistakes', () => {
  const groups = confidentMistakes(labels, probs, C, { perPair: 2 });

  it('groups by (true, predicted), most frequent pair first', () => {
    expect(groups.map((g) => [g.trueClass, g.predicted, g.count])).toEqual([
      [0, 1, 3],
      [1, 2, 1],
      [2, 0, 1],
    ]);
  });

  it('keeps the most confident examples per pair with image indices', () => {
    expect(groups[0].examples.map((e) => e.index)).toEqual([2, 1]);
    expect(groups[0].examples[0].confidence).toBeCloseTo(0.8, 6);
    expect(groups[0].examples[0].trueProbability).toBeCloseTo(0.1, 6);
  });

  it('picks the overall most confident mistakes', () => {
    expect(topMistakes(groups, 2).map((m) => m.index)).toEqual([5, 2]);
  });

  it('finds nothing when every prediction is right', () => {
    expect(confidentMistakes([0], new Float32Array([1, 0, 0]), C)).toEqual([]);
  });
});
