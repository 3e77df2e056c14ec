import { BACK_ANCHORS, FRONT_ANCHORS, RawDetection, decodeDetections, generateAnchors, iou, nonMaxSuppression } from '../../lib/src/faces/blazeface-decode';

describe('BlazeFace anchors', () => {
  test.each([
    ['front', FRONT_ANCHORS],
    ['back', BACK_ANCHORS],
  ])('%s model: 896 anchors, 16x16x2 then 8x8x6, centred in their cells', (_name, opts) => {
    const a = generateAnchors(opts);
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1]]).toEqual([0.5 / 16, 0.5 / 16]);
    expect([a[2], a[3]]).toEqual([0.5 / 16, 0.5 / 16]); // two anchors per cell in the first map
    expect([a[4], a[5]]).toEqual([1.5 / 16, 0.5 / 16]);
    expect([a[1024], a[1025]]).toEqual([0.5 / 8, 0.5 / 8]); // second map starts at anchor 512
    expect([a[1024 + 12], a[1025 + 12]]).toEqual([1.5 / 8, 0.5 / 8]); // six anchors per cell
    expect([a[1790], a[1791]]).toEqual([7.5 / 8, 7.5 / 8]);
  });
});

describe('decodeDetections', () => {
  test('sigmoid threshold, offsets in input pixels relative to the anchor', () => {
    const anchors = generateAnchors(FRONT_ANCHORS);
    const scores = new Float32Array(896).fill(-10);
    const regs = new Float32Array(896 * 16);
    scores[5] = 3; // sigmoid 0.95
    regs.set([12.8, -6.4, 32, 64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 5 * 16);
    const dets = decodeDetections(scores, regs, anchors, 128, 0.5);
    expect(dets).toHaveLength(1);
    const d = dets[0];
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 5);
    expect(d.cx).toBeCloseTo(anchors[10] + 0.1, 5);
    expect(d.cy).toBeCloseTo(anchors[11] - 0.05, 5);
    expect(d.w).toBeCloseTo(0.25, 5);
    expect(d.h).toBeCloseTo(0.5, 5);
    expect(d.keypoints[0]).toBeCloseTo(anchors[10] + 1 / 128, 5);
    expect(d.keypoints[11]).toBeCloseTo(anchors[11] + 12 / 128, 5);
    expect(decodeDetections(scores, regs, anchors, 128, 0.99)).toHaveLength(0);
  });
});

describe('nonMaxSuppression', () => {
  const det = (cx: number, score: number): RawDetection => ({ cx, cy: 0.5, w: 0.2, h: 0.2, score, keypoints: new Array(12).fill(cx) });

  test('weighted mode blends overlapping boxes by score and keeps the best score', () => {
    const out = nonMaxSuppression([det(0.5, 0.9), det(0.52, 0.6), det(0.8, 0.7)], 0.3, 'weighted');
    expect(out).toHaveLength(2);
    expect(out[0].score).toBe(0.9);
    expect(out[0].cx).toBeCloseTo((0.5 * 0.9 + 0.52 * 0.6) / 1.5, 6);
    expect(out[0].keypoints[0]).toBeCloseTo(out[0].cx, 6);
    expect(out[1].cx).toBe(0.8);
  });

  test('standard mode keeps the best box unchanged', () => {
    const out = nonMaxSuppression([det(0.52, 0.6), det(0.5, 0.9)], 0.3, 'standard');
    expect(out).toHaveLength(1);
    expect(out[0].cx).toBe(0.5);
  });

  test('iou of identical, disjoint and half-overlapping boxes', () => {
    expect(iou(det(0.5, 1), det(0.5, 1))).toBeCloseTo(1);
    expect(iou(det(0.1, 1), det(0.9, 1))).toBe(0);
    expect(iou(det(0.5, 1), det(0.6, 1))).toBeCloseTo(1 / 3);
  });
});
