/**
 * Jest environment for tests that run onnxruntime-node. Jest gives each test file its own realm, so typed arrays made
 * by the native binding (outer realm) fail onnxruntime-common's `instanceof Float32Array` checks. Sharing the outer
 * realm's typed-array constructors fixes that. jest.config.js makes it the environment of every test file.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array',
  'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
