/**
 * MediaPipe BlazeFace on onnxruntime-node (model files ship in assets/models, Apache-2.0).
 * One pass over the letterboxed image finds faces down to ~1/8 of the long side; for large frames an optional
 * tiled pass (overlapping squares of twice the model input) finds small faces too, at a few more model runs.
 */
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import { FerError } from '../errors';
import { projectPath } from '../util/fs';
import { AnchorOptions, BACK_ANCHORS, FRONT_ANCHORS, RawDetection, decodeDetections, generateAnchors, iou, nonMaxSuppression } from './blazeface-decode';
import { letterbox, Region } from './image';
import type { Face, FaceDetector } from './detector';
import type { RgbImage } from './types';

export type BlazeFaceModel = 'back' | 'front';

export interface BlazeFaceOptions {
  /**
   * 'back' (default): 256x256 input, finds faces down to ~1/8 of the image's long side in one pass.
   * 'front': 128x128, faster, for faces filling a good part of the frame (selfie distance).
   */
  model?: BlazeFaceModel;
  /** Minimum detector score, default 0.5 (MediaPipe uses 0.5 front, 0.52 back). */
  minScore?: number;
  /** Boxes overlapping more than this are merged, default 0.3. */
  iouThreshold?: number;
  nms?: 'weighted' | 'standard';
  /** Keep at most this many faces (highest scores first), default 64. */
  maxFaces?: number;
  /** Faces smaller than this (box width in pixels of the input image) are dropped, default 0. */
  minSize?: number;
  /**
   * Extra pass over overlapping tiles (side: twice the model input) to find small faces in big frames.
   * 'auto' (default): with the 'back' model when the long side exceeds 768 px (3x its input); 'off'; 'on'.
   */
  tiling?: 'auto' | 'on' | 'off';
  /** onnxruntime intra-op threads, default 1 (the machine's other core is left to decoding and classification). */
  threads?: number;
  /** Override the .onnx path (other conversions with the same inputs and outputs). */
  modelPath?: string;
}

const MODELS: Record<BlazeFaceModel, { file: string; anchors: AnchorOptions }> = {
  back: { file: 'face_detection_back_256x256_barracuda.onnx', anchors: BACK_ANCHORS },
  front: { file: 'face_detection_front_128x128_barracuda.onnx', anchors: FRONT_ANCHORS },
};

export function blazeFaceModelPath(model: BlazeFaceModel = 'back'): string {
  return projectPath('assets', 'models', MODELS[model].file);
}

type Settings = Required<Omit<BlazeFaceOptions, 'modelPath'>>;

/** A detection in image pixels (centre, size, keypoints). */
type PixelDetection = RawDetection;

/** Overlapping tiles covering the image, `tile` px square, stepping by 3/4 of a tile. */
export function tileRegions(width: number, height: number, tile: number): Region[] {
  const starts = (len: number): number[] => {
    if (len <= tile) return [0];
    const n = Math.ceil((len - tile) / (tile * 0.75)) + 1;
    return Array.from({ length: n }, (_, i) => Math.round((i * (len - tile)) / (n - 1)));
  };
  const regions: Region[] = [];
  for (const top of starts(height)) {
    for (const left of starts(width)) regions.push({ left, top, width: Math.min(tile, width), height: Math.min(tile, height) });
  }
  return regions;
}

class BlazeFaceDetector implements FaceDetector {
  readonly name = 'blazeface' as const;
  private readonly size: number;
  private disposed = false;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly anchors: Float32Array,
    private readonly settings: Settings,
  ) {
    this.size = MODELS[settings.model].anchors.inputSize;
  }

  /** One model run over a region (whole image by default); detections in image pixels. */
  private async pass(image: RgbImage, region?: Region): Promise<PixelDetection[]> {
    const S = this.size;
    const { data, box } = letterbox(image, S, region);
    const input = new Float32Array(S * S * 3);
    for (let i = 0; i < input.length; i++) input[i] = data[i] / 127.5 - 1;
    const out = await this.session.run({ 'input:0': new ort.Tensor('float32', input, [1, S, S, 3]) });
    const scores = concat(out['Identity:0'].data as Float32Array, out['Identity_1:0'].data as Float32Array);
    const regs = concat(out['Identity_2:0'].data as Float32Array, out['Identity_3:0'].data as Float32Array);
    for (const t of Object.values(out)) t.dispose();
    const raw = nonMaxSuppression(decodeDetections(scores, regs, this.anchors, S, this.settings.minScore), this.settings.iouThreshold, this.settings.nms);
    const ox = region?.left ?? 0;
    const oy = region?.top ?? 0;
    const toX = (u: number): number => ox + (u * S - box.padX) / box.sx;
    const toY = (v: number): number => oy + (v * S - box.padY) / box.sy;
    return raw.map((d) => ({
      cx: toX(d.cx),
      cy: toY(d.cy),
      w: (d.w * S) / box.sx,
      h: (d.h * S) / box.sy,
      keypoints: d.keypoints.map((k, i) => (i % 2 === 0 ? toX(k) : toY(k))),
      score: d.score,
    }));
  }

  private useTiles(image: RgbImage): boolean {
    const t = this.settings.tiling;
    // 'auto' tiles only with the long-range model: the front model is for near faces, where tiles would only add cost.
    return t === 'on' || (t === 'auto' && this.settings.model === 'back' && Math.max(image.width, image.height) > 3 * this.size);
  }

  async detect(image: RgbImage): Promise<Face[]> {
    if (this.disposed) throw new FerError('blazeface: detect() called after dispose()');
    if (image.width < 1 || image.height < 1 || image.data.length !== image.width * image.height * 3) {
      throw new FerError(`blazeface: expected an RGB image (width*height*3 bytes), got ${image.data.length} bytes for ${image.width}x${image.height}`);
    }
    let dets = await this.pass(image);
    if (this.useTiles(image)) {
      const tile = 2 * this.size;
      for (const region of tileRegions(image.width, image.height, tile)) {
        for (const d of await this.pass(image, region)) {
          // A face cut by a tile edge is seen whole in a neighbouring tile or the full pass; big faces come from the full pass.
          const m = 2;
          const cut =
            (d.cx - d.w / 2 < region.left + m && region.left > 0) ||
            (d.cy - d.h / 2 < region.top + m && region.top > 0) ||
            (d.cx + d.w / 2 > region.left + region.width - m && region.left + region.width < image.width) ||
            (d.cy + d.h / 2 > region.top + region.height - m && region.top + region.height < image.height);
          if (!cut && d.w < tile * 0.5) dets.push(d);
        }
      }
      dets = mergeOverlaps(dets, this.settings.iouThreshold);
    }
    const faces: Face[] = [];
    for (const d of dets) {
      const face = toFace(d, image.width, image.height);
      if (face && face.box.width >= this.settings.minSize) faces.push(face);
    }
    faces.sort((a, b) => b.score - a.score);
    return faces.slice(0, this.settings.maxFaces);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.session.release();
  }
}

/** Across passes: drop a detection when a better one overlaps it (IoU) or mostly contains it. */
function mergeOverlaps(dets: PixelDetection[], iouThreshold: number): PixelDetection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: PixelDetection[] = [];
  for (const d of sorted) {
    const dup = kept.some((k) => {
      if (iou(k, d) >= iouThreshold) return true;
      const ix = Math.max(0, Math.min(k.cx + k.w / 2, d.cx + d.w / 2) - Math.max(k.cx - k.w / 2, d.cx - d.w / 2));
      const iy = Math.max(0, Math.min(k.cy + k.h / 2, d.cy + d.h / 2) - Math.max(k.cy - k.h / 2, d.cy - d.h / 2));
      return (ix * iy) / Math.min(k.w * k.h, d.w * d.h) > 0.6;
    });
    if (!dup) kept.push(d);
  }
  return kept;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** A pixel detection as a Face clipped to the image; null when nothing is left. */
function toFace(d: PixelDetection, W: number, H: number): Face | null {
  const x0 = Math.max(0, d.cx - d.w / 2);
  const y0 = Math.max(0, d.cy - d.h / 2);
  const x1 = Math.min(W, d.cx + d.w / 2);
  const y1 = Math.min(H, d.cy + d.h / 2);
  if (x1 - x0 < 1 || y1 - y0 < 1) return null;
  const landmarks = [];
  for (let k = 0; k < 6; k++) landmarks.push({ x: d.keypoints[2 * k], y: d.keypoints[2 * k + 1] });
  return { box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score: d.score, landmarks };
}

export async function createBlazeFace(options: BlazeFaceOptions = {}): Promise<FaceDetector> {
  const model = options.model ?? 'back';
  if (!(model in MODELS)) throw new FerError(`blazeface: unknown model '${model}' (choose 'back' or 'front')`);
  const file = options.modelPath ?? blazeFaceModelPath(model);
  if (!fs.existsSync(file)) {
    throw new FerError(`blazeface: model file ${file} is missing; restore assets/models from the repository (git checkout assets/models)`, { file });
  }
  const threads = options.threads ?? 1;
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    graphOptimizationLevel: 'all',
  });
  return new BlazeFaceDetector(session, generateAnchors(MODELS[model].anchors), {
    model,
    minScore: options.minScore ?? 0.5,
    iouThreshold: options.iouThreshold ?? 0.3,
    nms: options.nms ?? 'weighted',
    maxFaces: options.maxFaces ?? 64,
    minSize: options.minSize ?? 0,
    tiling: options.tiling ?? 'auto',
    threads,
  });
}
