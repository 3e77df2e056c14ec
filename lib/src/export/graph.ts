/**
 * A small in-memory ONNX graph that the converter builds and the passes (batch-norm folding, float16, int8) rewrite
 * before it is encoded once with the ONNX protobuf schema (onnx-proto). Keeping weights as typed arrays here means
 * the passes never decode or re-encode protobuf.
 */
import { onnx } from 'onnx-proto';

export type AttrValue = number | number[] | string | { f: number } | { floats: number[] };

export interface GraphNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  /** Numbers are INT (floats must be `{ f }`), arrays INTS, `{ floats }` FLOATS. */
  attrs: Record<string, AttrValue>;
}

export type InitData = Float32Array | Uint16Array | Int8Array | Uint8Array | BigInt64Array;

export interface Initializer {
  dims: number[];
  /** Uint16Array holds float16 bits. */
  data: InitData;
}

export interface ValueInfo {
  name: string;
  /** Numbers are fixed sizes, strings are symbolic (dynamic) dimensions. */
  shape: Array<number | string>;
}

export interface OnnxGraph {
  name: string;
  nodes: GraphNode[];
  initializers: Map<string, Initializer>;
  input: ValueInfo;
  output: ValueInfo;
  /** More float32 inputs/outputs after `input`/`output` (the training graph has many; exported models have none). */
  extraInputs?: ValueInfo[];
  extraOutputs?: ValueInfo[];
  opset: number;
}

export const OPSET = 13;

/** Builds unique names and appends nodes in order (the converter emits in topological order). */
export class GraphBuilder {
  readonly graph: OnnxGraph;
  private counter = 0;
  private readonly used = new Set<string>();

  constructor(name: string, input: ValueInfo, output: ValueInfo) {
    this.graph = { name, nodes: [], initializers: new Map(), input, output, opset: OPSET };
    this.used.add(input.name);
    this.used.add(output.name);
  }

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = clean;
    while (this.used.has(name)) name = `${clean}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, base = opType): string {
    const out = this.unique(base);
    this.graph.nodes.push({ opType, inputs, outputs: [out], name: this.unique(`${base}_node`), attrs });
    return out;
  }

  init(base: string, dims: number[], data: InitData): string {
    const name = this.unique(base);
    this.graph.initializers.set(name, { dims, data });
    return name;
  }
}

/** Which nodes read each value (for passes that must know a value has a single consumer). */
export function consumers(graph: OnnxGraph): Map<string, GraphNode[]> {
  const map = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (!input) continue;
      const list = map.get(input) ?? [];
      list.push(node);
      map.set(input, list);
    }
  }
  return map;
}

export function producers(graph: OnnxGraph): Map<string, GraphNode> {
  const map = new Map<string, GraphNode>();
  for (const node of graph.nodes) for (const out of node.outputs) map.set(out, node);
  return map;
}

/** Total bytes of weight data (what dominates the file size). */
export function weightBytes(graph: OnnxGraph): number {
  let total = 0;
  for (const init of graph.initializers.values()) total += init.data.byteLength;
  return total;
}

function dataType(data: InitData): onnx.TensorProto.DataType {
  if (data instanceof Float32Array) return onnx.TensorProto.DataType.FLOAT;
  if (data instanceof Uint16Array) return onnx.TensorProto.DataType.FLOAT16;
  if (data instanceof Int8Array) return onnx.TensorProto.DataType.INT8;
  if (data instanceof Uint8Array) return onnx.TensorProto.DataType.UINT8;
  return onnx.TensorProto.DataType.INT64;
}

function rawBytes(data: InitData): Uint8Array {
  // Typed arrays are little-endian on every platform Node runs on, as ONNX raw_data requires.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('f' in value) return { name, type: T.FLOAT, f: value.f };
  return { name, type: T.FLOATS, floats: value.floats };
}

function valueInfo(info: ValueInfo): onnx.IValueInfoProto {
  return {
    name: info.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: info.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface EncodeOptions {
  /** metadata_props written into the model (values are strings; JSON for structured values). */
  metadata: Record<string, string>;
  producerVersion: string;
  docString?: string;
}

/** Serialise the graph as an ONNX ModelProto (binary protobuf). */
export function encodeModel(graph: OnnxGraph, options: EncodeOptions): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 7,
    producerName: 'fer-lab',
    producerVersion: options.producerVersion,
    docString: options.docString ?? '',
    opsetImport: [{ domain: '', version: graph.opset }],
    metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        opType: n.opType,
        input: n.inputs,
        output: n.outputs,
        name: n.name,
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      })),
      initializer: [...graph.initializers].map(([name, init]) => ({
        name,
        dims: init.dims,
        dataType: dataType(init.data),
        rawData: rawBytes(init.data),
      })),
      input: [graph.input, ...(graph.extraInputs ?? [])].map(valueInfo),
      output: [graph.output, ...(graph.extraOutputs ?? [])].map(valueInfo),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
