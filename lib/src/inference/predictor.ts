/**
 * loadPredictor: one entry point for every model a user may have.
 *   file.onnx                        -> onnxruntime-node (engine 'onnx' only)
 *   checkpoint dir / model folder    -> engine 'onnx' (default): exported to ONNX in memory, run on onnxruntime;
 *                                       engine 'tfjs': run on the TF.js backend
 *   model.json file                  -> its folder
 *   a folder holding model.onnx      -> that file for engine 'onnx' (the shipped default model ships both)
 *   nothing                          -> defaultModelPath()
 *   peer:human | peer:face-api       -> a peer model from assets/peers (see peers.ts; always TF.js)
 */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../backend';
import { FerError } from '../errors';
import { exportOnnx } from '../export/onnx';
import { projectPath } from '../util/fs';
import { loadModelDir } from '../util/model-io';
import { createOnnxPredictor, loadOnnxPredictor } from './onnx';
import { loadPeerPredictor, parsePeerSpec } from './peers';
import { loadTfjsPredictor } from './tfjs';
import { Engine, Predictor, PredictorOptions } from './types';

/** Where the shipped default model lives: <projectRoot>/checkpoints/fer-lab-default. */
export function defaultModelPath(): string {
  return projectPath('checkpoints', 'fer-lab-default');
}

export type ModelSource = { kind: 'onnx'; file: string } | { kind: 'folder'; dir: string };

const isFile = (p: string): boolean => fs.existsSync(p) && fs.statSync(p).isFile();

/** The TF.js model folder inside a checkpoint dir: <dir>/best, <dir>, or <dir>/tfjs. */
function modelFolder(dir: string): string | undefined {
  return [path.join(dir, 'best'), dir, path.join(dir, 'tfjs')].find((d) => isFile(path.join(d, 'model.json')));
}

/** Decide which file or folder `pathOrDir` means for `engine` (FerError when there is none). */
export function resolveModelSource(pathOrDir: string, engine: Engine): ModelSource {
  if (!fs.existsSync(pathOrDir)) {
    throw new FerError(`No model at ${pathOrDir}: pass an .onnx file or a checkpoint folder from \`fer train\`.`,
      { file: pathOrDir });
  }
  if (fs.statSync(pathOrDir).isFile()) {
    if (pathOrDir.toLowerCase().endsWith('.onnx')) {
      if (engine === 'tfjs') {
        throw new FerError(`${pathOrDir} is an ONNX file: the tfjs engine needs a TF.js model folder (pass --engine onnx, or the checkpoint folder).`,
          { file: pathOrDir });
      }
      return { kind: 'onnx', file: pathOrDir };
    }
    if (path.basename(pathOrDir) === 'model.json') return { kind: 'folder', dir: path.dirname(pathOrDir) };
    throw new FerError(`${pathOrDir} is neither an .onnx file nor a TF.js model.json: pass one of those or a checkpoint folder.`,
      { file: pathOrDir });
  }
  const onnxFile = path.join(pathOrDir, 'model.onnx');
  if (engine === 'onnx' && isFile(onnxFile)) return { kind: 'onnx', file: onnxFile };
  const folder = modelFolder(pathOrDir);
  if (folder) return { kind: 'folder', dir: folder };
  throw new FerError(
    `${pathOrDir} holds no model: expected model.onnx, model.json, best/model.json or tfjs/model.json.`,
    { file: pathOrDir },
  );
}

/** Load a model folder, export it to ONNX in memory and run it on onnxruntime-node. */
async function onnxFromFolder(dir: string, options: PredictorOptions): Promise<Predictor> {
  // TF.js only reads the folder here (inference runs on onnxruntime); --cpu still keeps it off tfjs-node-gpu.
  await initBackend(undefined, { gpu: options.device !== 'cpu' });
  const { model, meta } = await loadModelDir(dir);
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(model, { arch: meta.arch, classes: meta.classes, preprocess: meta.preprocess });
  } catch (err) {
    if (err instanceof FerError) throw new FerError(`${dir}: ${err.message}`, { file: dir, cause: err });
    throw err;
  } finally {
    model.dispose();
  }
  return createOnnxPredictor(bytes, dir, options);
}

/** Load a model for inference; no path = the shipped default model. */
export async function loadPredictor(pathOrDir?: string, options: PredictorOptions = {}): Promise<Predictor> {
  const peer = parsePeerSpec(pathOrDir);
  if (peer) return loadPeerPredictor(peer, options);
  const engine = options.engine ?? 'onnx';
  if (engine !== 'onnx' && engine !== 'tfjs') throw new FerError(`Unknown engine "${String(engine)}": use onnx or tfjs.`);
  const target = pathOrDir ?? defaultModelPath();
  if (pathOrDir === undefined && !fs.existsSync(target)) {
    throw new FerError(
      `The default model is not installed at ${target}: pass a model (--model <file.onnx | checkpoint dir>).`,
      { file: target },
    );
  }
  const source = resolveModelSource(target, engine);
  if (source.kind === 'onnx') return loadOnnxPredictor(source.file, options);
  if (engine === 'tfjs') return loadTfjsPredictor(source.dir, options);
  return onnxFromFolder(source.dir, options);
}
