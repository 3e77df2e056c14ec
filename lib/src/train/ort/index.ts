export { buildTrainingGraph, TrainingGraph } from './graph';
export { OrtStepRunner, OrtTrainOptions, ortTrainingProblem, lossInputs } from './runner';
export { chooseTrainEngine, EngineChoice, evaluateSplitOnnx } from './engine';
