/**
 * Fold inference-mode BatchNormalization into the Conv or Gemm right before it:
 *   w' = w * s,  b' = (b - mean) * s + beta,  s = gamma / sqrt(var + eps)   (per output channel)
 * Only when the conv/gemm output feeds nothing but that batch norm (and is not the graph output).
 */
import { GraphNode, Initializer, OnnxGraph, consumers, producers } from './graph';

function floats(graph: OnnxGraph, name: string): Float32Array | undefined {
  const init = graph.initializers.get(name);
  return init && init.data instanceof Float32Array ? init.data : undefined;
}

/** A private copy of an initializer when other nodes read it too (shared layers), so folding touches only this use. */
function ownWeight(graph: OnnxGraph, node: GraphNode, index: number, readers: Map<string, GraphNode[]>): Initializer {
  const name = node.inputs[index];
  const init = graph.initializers.get(name) as Initializer;
  if ((readers.get(name)?.length ?? 0) <= 1) return init;
  let copy = `${name}_folded`;
  for (let i = 1; graph.initializers.has(copy); i++) copy = `${name}_folded${i}`;
  const clone = { dims: [...init.dims], data: (init.data as Float32Array).slice() };
  graph.initializers.set(copy, clone);
  node.inputs[index] = copy;
  return clone;
}

/** Returns how many batch-norm nodes were folded. Mutates the graph. */
export function foldBatchNorms(graph: OnnxGraph): number {
  let folded = 0;
  for (const bn of [...graph.nodes]) {
    if (bn.opType !== 'BatchNormalization') continue;
    const readers = consumers(graph);
    const x = bn.inputs[0];
    const prev = producers(graph).get(x);
    if (!prev || (readers.get(x)?.length ?? 0) !== 1 || x === graph.output.name) continue;
    const isConv = prev.opType === 'Conv';
    const isGemm = prev.opType === 'Gemm' && !prev.attrs.transB && !prev.attrs.alpha && !prev.attrs.beta;
    if (!isConv && !isGemm) continue;
    const [gamma, beta, mean, variance] = bn.inputs.slice(1).map((n) => floats(graph, n));
    const weightInit = graph.initializers.get(prev.inputs[1]);
    if (!gamma || !beta || !mean || !variance || !weightInit || !(weightInit.data instanceof Float32Array)) continue;
    const eps = (bn.attrs.epsilon as { f: number } | undefined)?.f ?? 1e-5;
    const channels = gamma.length;
    const scale = new Float64Array(channels);
    for (let c = 0; c < channels; c++) scale[c] = gamma[c] / Math.sqrt(variance[c] + eps);

    const w = ownWeight(graph, prev, 1, readers).data as Float32Array;
    if (isConv) {
      const per = w.length / channels; // OIHW: output channel is the outer axis
      for (let c = 0; c < channels; c++) for (let k = 0; k < per; k++) w[c * per + k] *= scale[c];
    } else {
      const rows = w.length / channels; // Gemm B is [in, out]: output channel is the inner axis
      for (let r = 0; r < rows; r++) for (let c = 0; c < channels; c++) w[r * channels + c] *= scale[c];
    }
    const oldBias = prev.inputs[2] ? floats(graph, prev.inputs[2]) : undefined;
    const bias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) bias[c] = ((oldBias ? oldBias[c] : 0) - mean[c]) * scale[c] + beta[c];
    let biasName = `${bn.name}_folded_bias`;
    for (let i = 1; graph.initializers.has(biasName); i++) biasName = `${bn.name}_folded_bias${i}`;
    graph.initializers.set(biasName, { dims: [channels], data: bias });
    prev.inputs[2] = biasName;
    prev.outputs[0] = bn.outputs[0];
    graph.nodes.splice(graph.nodes.indexOf(bn), 1);
    folded++;
  }
  removeUnusedInitializers(graph);
  return folded;
}

export function removeUnusedInitializers(graph: OnnxGraph): void {
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const name of [...graph.initializers.keys()]) if (!used.has(name)) graph.initializers.delete(name);
}
