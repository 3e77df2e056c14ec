export * from './preprocess';
