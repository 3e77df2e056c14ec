/** Test helpers: probability rows from (predicted, second) choices. */
export function probsFrom(rows: Array<[number, number]>, c: number): Float32Array {
  const out = new Float32Array(rows.length * c);
  rows.forEach(([pred, second], i) => {
    const rest = (1 - 0.6 - 0.3) / (c - 2);
    for (let k = 0; k < c; k++) out[i * c + k] = k === pred ? 0.6 : k === second ? 0.3 : rest;
  });
  return out;
}
