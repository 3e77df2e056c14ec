export * from './preprocess';
export * from './augment';
export * from './mix';
export * from './tta';
