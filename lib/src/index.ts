/** fer-lab: the public API that notebooks, the CLI and users import (`import * as fer from 'fer-lab'`). */
export * from './emotions';
export * from './errors';
export * from './backend';
export * from './util/fs';
export * from './data';
export * from './transforms';
export * from './models';
export * from './train';
export * from './metrics';
export * from './viz';
export * from './export';
export * from './inference';
export * from './faces';
export * from './apps';
