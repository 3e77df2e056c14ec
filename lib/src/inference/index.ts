/** Inference: one Predictor over onnxruntime-node (default) or TF.js, fed 48x48 uint8 crops. */
export { loadPredictor, defaultModelPath, resolveModelSource } from './predictor';
export type { ModelSource } from './predictor';
export { createOnnxPredictor, loadOnnxPredictor } from './onnx';
export { createTfjsPredictor, loadTfjsPredictor, initTfjsDevice } from './tfjs';
export { chooseOnnxDevice, onnxGpuProblems, tfjsGpuProblems, cudaProviderFiles, onnxBindingDir, describeDevice, assertDevice, DEVICES } from './device';
export type { Device, DeviceInfo, DeviceProbe, OnnxDeviceChoice } from './device';
export {
  loadPeerPredictor, loadHumanEmotionPredictor, loadFaceApiExpressionPredictor, parsePeerSpec, peerColumnOrder, peerDir,
  PEERS, PEER_NAMES, PEER_PREFIX,
} from './peers';
export type { PeerInfo, PeerName } from './peers';
export type { Engine, Predictor, PredictorOptions } from './types';
export { DEFAULT_PREDICTOR_OPTIONS } from './types';
