/**
 * Dynamic int8 quantization ('int8-dynamic'): Conv and Gemm run as integer ops. Each such node becomes
 *   DynamicQuantizeLinear(x) -> x_q (uint8, per tensor), x_scale, x_zero_point   (computed at run time)
 *   ConvInteger / MatMulInteger(x_q, w_q, x_zero_point, w_zero_point) -> int32
 *   Cast(float) * (x_scale * w_scale[channel]) + bias
 * Weights are quantized symmetrically with one scale per output channel. onnxruntime's CPU ConvInteger only takes
 * uint8 weights with a per-tensor zero point, so Conv weights are stored as uint8 around 128 (still symmetric per
 * channel); MatMulInteger takes int8 weights with zero point 0. Everything else stays float32.
 */
import { GraphNode, InitData, OnnxGraph, consumers } from './graph';
import { quantizeSymmetric } from './int8';

/** Smaller weights stay float (an integer op would not pay for its quantize/cast/scale nodes). */
const MIN_ELEMENTS = 256;

class Names {
  private readonly used = new Set<string>();
  constructor(graph: OnnxGraph) {
    this.used.add(graph.input.name);
    this.used.add(graph.output.name);
    for (const name of graph.initializers.keys()) this.used.add(name);
    for (const n of graph.nodes) for (const v of [...n.inputs, ...n.outputs, n.name]) this.used.add(v);
  }
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

function quantizable(graph: OnnxGraph, node: GraphNode, readers: Map<string, GraphNode[]>): boolean {
  const w = graph.initializers.get(node.inputs[1] ?? '');
  if (!w || !(w.data instanceof Float32Array) || w.data.length < MIN_ELEMENTS) return false;
  if ((readers.get(node.inputs[1]) ?? []).length !== 1 || graph.initializers.has(node.inputs[0])) return false;
  const bias = node.inputs[2] ? graph.initializers.get(node.inputs[2]) : undefined;
  if (node.inputs[2] && !(bias?.data instanceof Float32Array)) return false;
  if (node.opType === 'Conv') return w.dims.length === 4;
  // The converter writes plain Gemm (alpha = beta = 1, B = [in, out]); anything else stays float.
  return node.opType === 'Gemm' && Object.keys(node.attrs).length === 0 && w.dims.length === 2;
}

/**
 * Rewrite every large-enough Conv / Gemm into dynamically quantized integer ops. Returns the number of nodes
 * rewritten. Mutates the graph.
 */
export function toDynamicInt8(graph: OnnxGraph): number {
  const readers = consumers(graph);
  const names = new Names(graph);
  // One DynamicQuantizeLinear per float activation, shared by every integer op reading it.
  const quantized = new Map<string, [string, string, string]>();
  const out: GraphNode[] = [];
  let count = 0;
  const add = (opType: string, inputs: string[], base: string, attrs: GraphNode['attrs'] = {}, outputs = [names.fresh(base)]): string => {
    out.push({ opType, inputs, outputs, name: names.fresh(`${base}_node`), attrs });
    return outputs[0];
  };
  const init = (base: string, dims: number[], data: InitData): string => {
    const name = names.fresh(base);
    graph.initializers.set(name, { dims, data });
    return name;
  };

  for (const node of graph.nodes) {
    if (!quantizable(graph, node, readers)) {
      out.push(node);
      continue;
    }
    count++;
    const [x, wName, biasName] = node.inputs;
    const w = graph.initializers.get(wName)!;
    const wData = w.data as Float32Array;
    const isConv = node.opType === 'Conv';
    // Conv weights are OIHW (channel = axis 0); Gemm B is [in, out] (channel = axis 1).
    const channels = isConv ? w.dims[0] : w.dims[1];
    const inner = wData.length / channels;
    const { q, scales } = quantizeSymmetric(wData, channels, isConv ? (i) => Math.floor(i / inner) : (i) => i % channels);
    graph.initializers.delete(wName);

    let xq = quantized.get(x);
    if (!xq) {
      xq = [names.fresh(`${x}_quant`), names.fresh(`${x}_scale`), names.fresh(`${x}_zero_point`)];
      add('DynamicQuantizeLinear', [x], `${x}_quantize`, {}, [...xq]);
      quantized.set(x, xq);
    }
    const scaleDims = isConv ? [channels, 1, 1] : [channels];
    let integer: string;
    if (isConv) {
      const qu = new Uint8Array(q.length);
      for (let i = 0; i < q.length; i++) qu[i] = q[i] + 128;
      const wq = init(`${wName}_uint8`, w.dims, qu);
      const wz = init(`${wName}_zero_point`, [], Uint8Array.of(128));
      integer = add('ConvInteger', [xq[0], wq, xq[2], wz], `${node.name}_int`, node.attrs);
    } else {
      const wq = init(`${wName}_int8`, w.dims, q);
      const wz = init(`${wName}_zero_point`, [], Int8Array.of(0));
      integer = add('MatMulInteger', [xq[0], wq, xq[2], wz], `${node.name}_int`);
    }
    const asFloat = add('Cast', [integer], `${node.name}_float`, { to: 1 });
    const wScale = init(`${wName}_scale`, scaleDims, scales);
    const scale = add('Mul', [xq[1], wScale], `${node.name}_scale`);
    const y = node.outputs[0];
    if (biasName) {
      const scaled = add('Mul', [asFloat, scale], `${node.name}_scaled`);
      const bias = graph.initializers.get(biasName)!;
      // The Conv bias is [C]; broadcasting against NCHW needs [C, 1, 1].
      const b = isConv ? init(`${biasName}_chw`, scaleDims, bias.data) : biasName;
      if (isConv && (readers.get(biasName) ?? []).length === 1) graph.initializers.delete(biasName);
      add('Add', [scaled, b], `${node.name}_bias`, {}, [y]);
    } else {
      add('Mul', [asFloat, scale], `${node.name}_scaled`, {}, [y]);
    }
  }
  graph.nodes = out;
  return count;
}
