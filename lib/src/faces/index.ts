/** Face detection and cropping: createDetector(name) -> detect(image) -> cropFaces -> 48x48 model input. */
export * from './types';
export { createDetector, isDetectorName, DETECTOR_NAMES } from './detector';
export type { DetectorName, DetectorOptions, DetectorOptionsByName, FaceDetector } from './detector';
export { blazeFaceModelPath } from './blazeface';
export type { BlazeFaceModel, BlazeFaceOptions } from './blazeface';
export type { HaarOptions } from './haar';
export { generateAnchors, decodeDetections, nonMaxSuppression, iou, FRONT_ANCHORS, BACK_ANCHORS } from './blazeface-decode';
export type { AnchorOptions, RawDetection } from './blazeface-decode';
export { cropFace, cropFaces, eyeAngle, DEFAULT_CROP } from './crop';
export type { CropOptions } from './crop';
export { loadImage, encodeImage, letterbox, toRgb, DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE } from './image';
export { tileRegions } from './blazeface';
export type { LoadImageOptions, LoadedImage, Letterbox, Region } from './image';
export { requireOpenCv, hasOpenCv, OPENCV_INSTALL_HELP } from './opencv';
export type { OpenCv } from './opencv';
