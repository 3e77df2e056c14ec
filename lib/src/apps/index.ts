/** Face apps: the predict pipeline, annotation, batch reports, video, the HTTP server and the live window. */
export { openClassifier } from './classifier';
export type { EmotionClassifier, OpenClassifierOptions } from './classifier';
export { classifyFaces, makePipeline, openPipeline, toFaceJson } from './pipeline';
export type { FaceJson, FacePipeline, FaceResult, FileResultJson, OpenPipelineOptions, PipelineOptions } from './pipeline';
export { drawAnnotations, layoutAnnotations, overlaySvg, emotionColor } from './annotate';
export type { AnnotateOptions, Shape } from './annotate';
export { predictionsCsv, summaryHtml, writeReports } from './report';
export type { ReportEntry } from './report';
export { annotatedPath, listInputs, predictFiles, toJsonResults } from './batch';
export type { BatchEntry, InputList, PredictFilesOptions } from './batch';
export { framesPathFor, hasFfmpeg, mirrorImage, probeVideo, processFrames, processVideo, readFrames, VideoWriter } from './video';
export type { FrameRecord, ProcessVideoOptions, VideoInfo, VideoSummary } from './video';
export { createFerServer, uploadPage } from './server';
export type { ServerOptions } from './server';
export { assertLiveWindow, liveWindowProblems, runLiveWindow } from './webcam';
export type { LiveOptions } from './webcam';
export { evaluateLabelledFolder } from './labelled';
export type { LabelledPhoto, LabelledSummary } from './labelled';
