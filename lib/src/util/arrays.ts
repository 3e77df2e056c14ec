/** Small array helpers shared by the training engines. */

/** Number of elements of a tensor of this shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** sum[j] += part[j] for every part: the workers' gradient shares added into one buffer, in place. */
export function addInto(sum: Float32Array, parts: readonly Float32Array[]): Float32Array {
  for (const part of parts) {
    for (let j = 0; j < sum.length; j++) sum[j] += part[j];
  }
  return sum;
}
