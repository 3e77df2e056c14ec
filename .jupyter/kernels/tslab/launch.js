#!/usr/bin/env node
/**
 * Starts the project's own tslab (node_modules/tslab) as a Jupyter kernel, whatever the working directory.
 * kernel.json runs `node {resource_dir}/launch.js {connection_file}`; Jupyter replaces {resource_dir} with this folder,
 * so no absolute path is baked into the spec and no `tslab install` (which needs IPython) is required.
 * Modules imported by cells (e.g. 'fer-lab') resolve from the kernel's working directory: Jupyter starts it in
 * the notebook's folder, and notebooks/ sits next to the project's node_modules.
 */
'use strict';
const path = require('path');

const root = path.resolve(__dirname, '..', '..', '..');
const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error('usage: node launch.js <connection_file>  (Jupyter passes it; see .jupyter/kernels/tslab/kernel.json)');
  process.exit(2);
}
let main;
try {
  main = require(require.resolve('tslab/dist/main.js', { paths: [root] }));
} catch (err) {
  console.error(`tslab is not installed in ${root}/node_modules: run \`npm install\` in ${root}. (${err.message})`);
  process.exit(1);
}
// enableFindLocal: false -> use exactly this tslab, not one found by walking up from the notebook's folder.
main.startKernel({ configPath: connectionFile, enableFindLocal: false, jsKernel: false });
