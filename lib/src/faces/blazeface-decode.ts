/**
 * BlazeFace post-processing as MediaPipe does it: SSD anchor generation, box/keypoint decoding and weighted
 * non-maximum suppression. Pure functions on normalised [0, 1] coordinates of the square model input.
 */

export interface AnchorOptions {
  /** Model input side in pixels (128 front, 256 back). */
  inputSize: number;
  /** One stride per SSD layer; consecutive equal strides share one feature map (MediaPipe's rule). */
  strides: readonly number[];
  /** Anchors per cell contributed by each layer (MediaPipe: aspect ratio 1 plus one interpolated scale = 2). */
  anchorsPerLayer?: number;
}

/** MediaPipe's options for the two BlazeFace models (face_detection_{front,back}.pbtxt). */
export const FRONT_ANCHORS: AnchorOptions = { inputSize: 128, strides: [8, 16, 16, 16] };
export const BACK_ANCHORS: AnchorOptions = { inputSize: 256, strides: [16, 32, 32, 32] };

/** Anchor centres as [x0, y0, x1, y1, ...] (fixed anchor size 1, so only centres matter). */
export function generateAnchors(options: AnchorOptions): Float32Array {
  const perLayer = options.anchorsPerLayer ?? 2;
  const centres: number[] = [];
  const { strides, inputSize } = options;
  let layer = 0;
  while (layer < strides.length) {
    let last = layer;
    while (last < strides.length && strides[last] === strides[layer]) last++;
    const perCell = perLayer * (last - layer);
    const cells = Math.ceil(inputSize / strides[layer]);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) centres.push((x + 0.5) / cells, (y + 0.5) / cells);
      }
    }
    layer = last;
  }
  return Float32Array.from(centres);
}

/** A detection in normalised model-input coordinates. */
export interface RawDetection {
  /** Centre and size. */
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** 6 keypoints as [x0, y0, ..., x5, y5]. */
  keypoints: number[];
  score: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, x))));

/**
 * Decode raw model outputs: `scores` (logits, one per anchor) and `regressors` (16 per anchor: dx, dy, w, h, then 6
 * keypoint dx, dy, all in input pixels). Keeps detections with sigmoid(score) >= minScore.
 */
export function decodeDetections(
  scores: ArrayLike<number>,
  regressors: ArrayLike<number>,
  anchors: Float32Array,
  inputSize: number,
  minScore: number,
): RawDetection[] {
  const out: RawDetection[] = [];
  const n = anchors.length / 2;
  for (let i = 0; i < n; i++) {
    const score = sigmoid(scores[i]);
    if (score < minScore) continue;
    const ax = anchors[2 * i];
    const ay = anchors[2 * i + 1];
    const r = i * 16;
    const keypoints: number[] = [];
    for (let k = 0; k < 6; k++) {
      keypoints.push(ax + regressors[r + 4 + 2 * k] / inputSize, ay + regressors[r + 5 + 2 * k] / inputSize);
    }
    out.push({
      cx: ax + regressors[r] / inputSize,
      cy: ay + regressors[r + 1] / inputSize,
      w: regressors[r + 2] / inputSize,
      h: regressors[r + 3] / inputSize,
      keypoints,
      score,
    });
  }
  return out;
}

export function iou(a: RawDetection, b: RawDetection): number {
  const x0 = Math.max(a.cx - a.w / 2, b.cx - b.w / 2);
  const x1 = Math.min(a.cx + a.w / 2, b.cx + b.w / 2);
  const y0 = Math.max(a.cy - a.h / 2, b.cy - b.h / 2);
  const y1 = Math.min(a.cy + a.h / 2, b.cy + b.h / 2);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Non-maximum suppression. 'weighted' (MediaPipe's blending): each kept box is the score-weighted mean of the
 * boxes it suppresses, which steadies boxes from frame to frame; 'standard' keeps the best box as is.
 */
export function nonMaxSuppression(
  detections: RawDetection[],
  iouThreshold: number,
  mode: 'weighted' | 'standard' = 'weighted',
): RawDetection[] {
  const rest = [...detections].sort((a, b) => b.score - a.score);
  const kept: RawDetection[] = [];
  while (rest.length > 0) {
    const best = rest[0];
    const overlapping: RawDetection[] = [];
    const remaining: RawDetection[] = [];
    for (const d of rest) (iou(best, d) >= iouThreshold ? overlapping : remaining).push(d);
    if (mode === 'standard' || overlapping.length === 1) {
      kept.push(best);
    } else {
      let total = 0;
      const acc = { cx: 0, cy: 0, w: 0, h: 0, keypoints: new Array<number>(12).fill(0) };
      for (const d of overlapping) {
        total += d.score;
        acc.cx += d.cx * d.score;
        acc.cy += d.cy * d.score;
        acc.w += d.w * d.score;
        acc.h += d.h * d.score;
        for (let k = 0; k < 12; k++) acc.keypoints[k] += d.keypoints[k] * d.score;
      }
      kept.push({
        cx: acc.cx / total,
        cy: acc.cy / total,
        w: acc.w / total,
        h: acc.h / total,
        keypoints: acc.keypoints.map((v) => v / total),
        score: best.score,
      });
    }
    rest.splice(0, rest.length, ...remaining);
  }
  return kept;
}
