/**
 * Gradient kernels the published wasm backend lacks (Conv2DBackpropFilter) or runs slowly (Conv2DBackpropInput),
 * written as ordinary conv2d calls. Filled in by the training work (issue 3).
 */
export function registerWasmTrainingKernels(): void {
  // Registered in the training module.
}
