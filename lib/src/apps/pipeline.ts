/** image -> detect -> crop -> classify: the one pipeline behind `fer predict`, `fer webcam` and `fer serve`. */
import { FerError } from '../errors';
import { cropFaces, CropOptions } from '../faces/crop';
import { createDetector, DetectorName, DetectorOptions, FaceDetector } from '../faces/detector';
import type { Box, Point, RgbImage } from '../faces/types';
import type { Device, DeviceInfo } from '../inference/device';
import { EmotionClassifier, openClassifier, OpenClassifierOptions } from './classifier';

/** One classified face, full precision (internal; see FaceJson for the printed form). */
export interface FaceResult {
  box: Box;
  /** Detector confidence. */
  detectorScore: number;
  landmarks?: Point[];
  emotion: string;
  /** Probability of `emotion`. */
  confidence: number;
  /** Probability per class, in the model's class order. */
  scores: Record<string, number>;
}

/** The JSON contract of `fer predict --json`, `fer serve` and frames.jsonl. */
export interface FaceJson {
  box: { x: number; y: number; width: number; height: number };
  emotion: string;
  confidence: number;
  scores: Record<string, number>;
}

export interface FileResultJson {
  file: string;
  faces: FaceJson[];
  /** Only when the file could not be processed. */
  error?: string;
}

const round4 = (v: number): number => Math.round(v * 1e4) / 1e4;

export function toFaceJson(face: FaceResult): FaceJson {
  const { x, y, width, height } = face.box;
  const scores: Record<string, number> = {};
  for (const [k, v] of Object.entries(face.scores)) scores[k] = round4(v);
  return {
    box: { x: Math.round(x), y: Math.round(y), width: Math.round(width), height: Math.round(height) },
    emotion: face.emotion,
    confidence: round4(face.confidence),
    scores,
  };
}

export interface PipelineOptions {
  crop?: CropOptions;
  /** Classify at most this many faces per image (largest detector scores first), default 32. */
  maxFaces?: number;
}

/** Classify faces already found in an image (one predict() call for all of them). */
export async function classifyFaces(
  image: RgbImage,
  faces: readonly { box: Box; score: number; landmarks?: Point[] }[],
  classifier: EmotionClassifier,
  options: PipelineOptions = {},
): Promise<FaceResult[]> {
  const chosen = faces.slice(0, options.maxFaces ?? 32);
  if (chosen.length === 0) return [];
  const probs = await classifier.predict(cropFaces(image, chosen, options.crop));
  const k = classifier.classes.length;
  if (probs.length !== chosen.length * k) {
    throw new FerError(`the model returned ${probs.length} scores for ${chosen.length} faces x ${k} classes`);
  }
  return chosen.map((face, i) => {
    const scores: Record<string, number> = {};
    let best = 0;
    for (let c = 0; c < k; c++) {
      scores[classifier.classes[c]] = probs[i * k + c];
      if (probs[i * k + c] > probs[i * k + best]) best = c;
    }
    return {
      box: face.box,
      detectorScore: face.score,
      landmarks: face.landmarks,
      emotion: classifier.classes[best],
      confidence: probs[i * k + best],
      scores,
    };
  });
}

/** A detector and a classifier used together. */
export interface FacePipeline {
  readonly detector: FaceDetector;
  readonly classifier: EmotionClassifier;
  readonly options: PipelineOptions;
  /** Where the emotion model runs (when the classifier says; loaded Predictors do). */
  readonly device?: DeviceInfo;
  analyze(image: RgbImage): Promise<FaceResult[]>;
  dispose(): Promise<void>;
}

export function makePipeline(detector: FaceDetector, classifier: EmotionClassifier, options: PipelineOptions = {}): FacePipeline {
  const device = (classifier as { device?: DeviceInfo }).device;
  return {
    detector,
    classifier,
    options,
    device,
    async analyze(image: RgbImage): Promise<FaceResult[]> {
      const faces = await detector.detect(image);
      return classifyFaces(image, faces, classifier, options);
    },
    async dispose(): Promise<void> {
      detector.dispose();
      await classifier.dispose?.();
    },
  };
}

export interface OpenPipelineOptions extends PipelineOptions {
  /** Model file or folder; none = the shipped default model. */
  model?: string;
  engine?: OpenClassifierOptions['engine'];
  /** onnxruntime threads for the emotion model, default 1 (one 48x48 crop is ~1 ms; the other core decodes and detects). */
  threads?: number;
  /** Inference device for the emotion model: 'auto' (default), 'cpu' or 'gpu' (see inference/device.ts). */
  device?: Device;
  detector?: DetectorName;
  detectorOptions?: DetectorOptions;
  /** Use this classifier instead of loading `model` (tests, notebooks). */
  classifier?: EmotionClassifier;
}

/** Create the detector and load the model. */
export async function openPipeline(options: OpenPipelineOptions = {}): Promise<FacePipeline> {
  const detector = await createDetector(options.detector ?? 'blazeface', options.detectorOptions ?? {});
  try {
    const classifier = options.classifier ?? (await openClassifier(options.model, { engine: options.engine, threads: options.threads ?? 1, device: options.device }));
    return makePipeline(detector, classifier, options);
  } catch (err) {
    detector.dispose();
    throw err;
  }
}
