/** Tests run on TypeScript sources through ts-jest; the built lib (lib/dist) is used by CLI and notebook tests. */
module.exports = {
  // onnxruntime-node checks `instanceof Float32Array` across realms: share the outer realm's typed arrays.
  testEnvironment: '<rootDir>/tests/ort-environment.js',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true, diagnostics: false }] },
  testTimeout: 300000,
  maxWorkers: 2,
};
