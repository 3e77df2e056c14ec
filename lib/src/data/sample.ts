import { projectPath } from '../util/fs';

/** The small FER2013 subset that ships with fer-lab (Kaggle layout), so every command works out of the box. */
export function sampleDataPath(): string {
  return projectPath('data', 'sample');
}
