/**
 * Shared by tests/onnx.spec.ts and tests/fuzz-onnx.spec.ts: an independent reading of ONNX files
 * (protobufjs's full reflection build over the real onnx.proto, kept in tests/fixtures/onnx/),
 * builders for small ONNX graphs, a float64 forward pass of an ArchitectureJson, ONNX Runtime
 * Web as an independent judge of what a graph computes, the fixtures written by
 * scripts/pytorch/make_onnx_fixtures.py, and the hand-crafted hostile and odd files the fuzz
 * test runs, each with the outcome it must have.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import * as ort from 'onnxruntime-web';
import type { WeightsFileContents, RawTensor } from '../src/formats/types.js';
import type { ArchitectureJson } from '../src/model/architecture.js';
import { Prng } from '../src/model/prng.js';
import { halfValue } from './fuzz-oracle.js';

// ---------------------------------------------------------------------------------------------
// The onnx.proto schema (onnx 1.12's, as Debian's python3-onnx ships it), read by protobufjs's
// full build: an encoder for crafting files and a decoder independent of the reader's own.

const root = protobuf.parse(readFileSync('tests/fixtures/onnx/onnx.proto', 'utf8'), { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');
const GraphProto = root.lookupType('onnx.GraphProto');
const TensorProtoType = root.lookupType('onnx.TensorProto');

export interface KeyValue { key?: string; value?: string }
export interface TensorObj {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  string_data?: Uint8Array[];
  data_location?: number;
  external_data?: KeyValue[];
  segment?: { begin?: number; end?: number };
}
export interface AttrObj {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorObj;
  floats?: number[];
  ints?: number[];
  ref_attr_name?: string;
  sparse_tensor?: { values?: TensorObj; dims?: number[] };
}
export interface NodeObj { input?: string[]; output?: string[]; name?: string; op_type?: string; domain?: string; attribute?: AttrObj[] }
export interface DimObj { dim_value?: number; dim_param?: string }
export interface TypeObj {
  tensor_type?: { elem_type?: number; shape?: { dim?: DimObj[] } };
  sequence_type?: { elem_type?: TypeObj };
}
export interface ValueInfoObj { name?: string; type?: TypeObj }
export interface GraphObj {
  node?: NodeObj[];
  name?: string;
  initializer?: TensorObj[];
  input?: ValueInfoObj[];
  output?: ValueInfoObj[];
  value_info?: ValueInfoObj[];
}
export interface ModelObj {
  ir_version?: number;
  opset_import?: { domain?: string; version?: number }[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  doc_string?: string;
  graph?: GraphObj;
  metadata_props?: KeyValue[];
}

const kToObject = { longs: Number, bytes: Uint8Array, defaults: false } as const;

/**
 * The oracle's schema: onnx.proto without the fields the reader skips by length by design
 * (graph-valued and other complex attribute values, value_info, training info, functions,
 * non-tensor types, uint64_data): like unknown fields, their contents are never read, so a
 * file whose only fault is inside one of them means the same network.
 */
const oracleRoot = protobuf.parse(readFileSync('tests/fixtures/onnx/onnx.proto', 'utf8'), { keepCase: true }).root;
const kSkippedByDesign: Record<string, string[]> = {
  'onnx.ModelProto': ['training_info', 'functions'],
  'onnx.GraphProto': ['value_info', 'quantization_annotation'],
  'onnx.AttributeProto': ['g', 'graphs', 'tensors', 'sparse_tensor', 'sparse_tensors', 'tp', 'type_protos'],
  'onnx.TypeProto': ['sequence_type', 'map_type', 'optional_type', 'sparse_tensor_type'],
  'onnx.TensorProto': ['uint64_data', 'string_data'],
  'onnx.SparseTensorProto': ['indices'],
};
for (const [typeName, fields] of Object.entries(kSkippedByDesign)) {
  const type = oracleRoot.lookupType(typeName);
  for (const field of fields) {
    const f = type.fields[field];
    if (!f) throw new Error(`onnx.proto has no ${typeName}.${field}`);
    if (f.partOf) f.partOf.remove(f);
    type.remove(f);
  }
}
const OracleModelProto = oracleRoot.lookupType('onnx.ModelProto');

/** Decodes a ModelProto with protobufjs's reflection (throws a plain Error on a malformed one). */
export function decodeModel(bytes: Uint8Array): ModelObj {
  return OracleModelProto.toObject(OracleModelProto.decode(bytes), kToObject) as ModelObj;
}

export function encodeModel(model: ModelObj): Uint8Array {
  return new Uint8Array(ModelProto.encode(ModelProto.fromObject(model)).finish());
}

export function encodeGraph(graph: GraphObj): Uint8Array {
  return new Uint8Array(GraphProto.encode(GraphProto.fromObject(graph)).finish());
}

export function encodeTensor(tensor: TensorObj): Uint8Array {
  return new Uint8Array(TensorProtoType.encode(TensorProtoType.fromObject(tensor)).finish());
}

// ---------------------------------------------------------------------------------------------
// Raw protobuf bytes, for what an encoder will not write (lying lengths, bad wire types).

export function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 2n ** 64n;
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return out;
}

export function tag(field: number, wire: number): number[] {
  return varint(field * 8 + wire);
}

/** A length-delimited field; `length` overrides the true length (to lie). */
export function ld(field: number, payload: Uint8Array, length?: number | bigint): Uint8Array {
  return concat(Uint8Array.from([...tag(field, 2), ...varint(length ?? payload.length)]), payload);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building small graphs.

export const kFloat = 1;
export const kInt64 = 7;
export const kBool = 9;
export const kFloat16 = 10;
export const kDouble = 11;
export const kBfloat16 = 16;

/** Seeded values in [-0.5, 0.5), exact in float32. */
export function seededValues(count: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  return Float32Array.from({ length: count }, () => rng.uniform(-0.5, 0.5));
}

export function floatTensor(name: string, dims: number[], values?: Float32Array): TensorObj {
  const count = dims.reduce((a, b) => a * b, 1);
  const data = values ?? seededValues(count, name.length * 31 + count);
  return { name, dims, data_type: kFloat, raw_data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

export function int64Tensor(name: string, values: number[], dims: number[] = [values.length]): TensorObj {
  const raw = new Uint8Array(8 * values.length);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return { name, dims, data_type: kInt64, raw_data: raw };
}

/** An attribute, typed from its value ('float' marks a number as FLOAT, 'floats' a list as FLOATS). */
export function attr(name: string, value: number | number[] | string | TensorObj, kind?: 'float' | 'floats'): AttrObj {
  if (kind === 'float') return { name, type: 1, f: value as number };
  if (kind === 'floats') return { name, type: 6, floats: value as number[] };
  if (typeof value === 'number') return { name, type: 2, i: value };
  if (typeof value === 'string') return { name, type: 3, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  return { name, type: 4, t: value };
}

export function node(op: string, input: string[], output: string[], attribute: AttrObj[] = [], name = ''): NodeObj {
  return { op_type: op, input, output, attribute, ...(name ? { name } : {}) };
}

export function valueInfo(name: string, dims: (number | string)[] | undefined, elemType = kFloat): ValueInfoObj {
  const shape = dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } : undefined;
  return { name, type: { tensor_type: { elem_type: elemType, ...(shape ? { shape } : {}) } } };
}

export function modelOf(graph: GraphObj, opset = 13): ModelObj {
  return { ir_version: 7, producer_name: 'lenet5-webgpu tests', producer_version: '1', opset_import: [{ domain: '', version: opset }], graph };
}

/**
 * The crafted cases' base: [batch, 1, 12, 12] → Conv 1→2 (8×8) → Relu → MaxPool (4×4) →
 * Flatten → Gemm 32→10 (transB = 1), named as torch names them. `edit` changes the graph.
 */
export function chainGraph(edit?: (g: GraphObj) => void): GraphObj {
  const graph: GraphObj = {
    name: 'chain',
    node: [
      node('Conv', ['input', 'conv1.weight', 'conv1.bias'], ['c1'], [attr('kernel_shape', [5, 5]), attr('pads', [0, 0, 0, 0]), attr('strides', [1, 1])], '/conv1/Conv'),
      node('Relu', ['c1'], ['r1'], [], '/Relu'),
      node('MaxPool', ['r1'], ['p1'], [attr('kernel_shape', [2, 2]), attr('strides', [2, 2])], '/MaxPool'),
      node('Flatten', ['p1'], ['f1'], [attr('axis', 1)], '/Flatten'),
      node('Gemm', ['f1', 'fc.weight', 'fc.bias'], ['output'], [attr('alpha', 1, 'float'), attr('beta', 1, 'float'), attr('transB', 1)], '/fc/Gemm'),
    ],
    initializer: [floatTensor('conv1.weight', [2, 1, 5, 5]), floatTensor('conv1.bias', [2]), floatTensor('fc.weight', [10, 32]), floatTensor('fc.bias', [10])],
    input: [valueInfo('input', ['batch', 1, 12, 12])],
    output: [valueInfo('output', ['batch', 10])],
  };
  edit?.(graph);
  return graph;
}

export function chain(edit?: (g: GraphObj) => void, opset = 13): Uint8Array {
  return encodeModel(modelOf(chainGraph(edit), opset));
}

/** The node of the graph with this op type (the first). */
export function nodeOf(graph: GraphObj, op: string): NodeObj {
  const found = graph.node!.find((n) => n.op_type === op);
  if (!found) throw new Error(`test graph has no ${op} node`);
  return found;
}

export function initializerOf(graph: GraphObj, name: string): TensorObj {
  const found = graph.initializer!.find((t) => t.name === name);
  if (!found) throw new Error(`test graph has no initializer '${name}'`);
  return found;
}

/** Replaces the node's attribute of that name (or adds it). */
export function setAttr(n: NodeObj, a: AttrObj): void {
  n.attribute = [...(n.attribute ?? []).filter((x) => x.name !== a.name), a];
}

// ---------------------------------------------------------------------------------------------
// A float64 forward pass of an architecture, written for obviousness: what the mapped network
// computes, to compare with PyTorch's output and ONNX Runtime's.

export function forward(architecture: ArchitectureJson, tensors: ReadonlyMap<string, RawTensor>, input: Float32Array, batch: number): Float64Array {
  let channels = 1;
  let size = architecture.inputSize;
  let features = 0; // > 0 once the data is a vector
  let x = Float64Array.from(input);
  const get = (name: string | undefined) => {
    const t = name === undefined ? undefined : tensors.get(name);
    if (!t) throw new Error(`forward: no tensor '${name}'`);
    return t.data;
  };
  for (const layer of architecture.layers) {
    switch (layer.type) {
      case 'conv': {
        const w = get(layer.weight);
        const b = get(layer.bias);
        const p = layer.padding ?? 0;
        const outSize = size + 2 * p - 4;
        const out = new Float64Array(batch * layer.outChannels * outSize * outSize);
        for (let n = 0; n < batch; n++) for (let o = 0; o < layer.outChannels; o++) for (let y = 0; y < outSize; y++) for (let xx = 0; xx < outSize; xx++) {
          let sum = b[o]!;
          for (let c = 0; c < channels; c++) for (let ky = 0; ky < 5; ky++) for (let kx = 0; kx < 5; kx++) {
            const iy = y + ky - p;
            const ix = xx + kx - p;
            if (iy < 0 || ix < 0 || iy >= size || ix >= size) continue;
            sum += x[((n * channels + c) * size + iy) * size + ix]! * w[((o * channels + c) * 5 + ky) * 5 + kx]!;
          }
          out[((n * layer.outChannels + o) * outSize + y) * outSize + xx] = sum;
        }
        [x, channels, size] = [out, layer.outChannels, outSize];
        break;
      }
      case 'pool': {
        const outSize = Math.floor(size / 2);
        const out = new Float64Array(batch * channels * outSize * outSize);
        for (let n = 0; n < batch; n++) for (let c = 0; c < channels; c++) for (let y = 0; y < outSize; y++) for (let xx = 0; xx < outSize; xx++) {
          const at = (dy: number, dx: number) => x[((n * channels + c) * size + 2 * y + dy) * size + 2 * xx + dx]!;
          const window = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
          out[((n * channels + c) * outSize + y) * outSize + xx] = layer.mode === 'max' ? Math.max(...window) : (window[0]! + window[1]! + window[2]! + window[3]!) / 4;
        }
        [x, size] = [out, outSize];
        break;
      }
      case 'dense': {
        const inFeatures = features || channels * size * size;
        const w = get(layer.weight);
        const b = get(layer.bias);
        const out = new Float64Array(batch * layer.outFeatures);
        for (let n = 0; n < batch; n++) for (let o = 0; o < layer.outFeatures; o++) {
          let sum = b[o]!;
          for (let i = 0; i < inFeatures; i++) sum += x[n * inFeatures + i]! * w[o * inFeatures + i]!;
          out[n * layer.outFeatures + o] = sum;
        }
        [x, features] = [out, layer.outFeatures];
        break;
      }
      case 'activation': {
        const f = {
          none: (v: number) => v,
          relu: (v: number) => Math.max(0, v),
          sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
          tanh: Math.tanh,
          'scaled-tanh': (v: number) => 1.7159 * Math.tanh((2 / 3) * v),
        }[layer.activation];
        x = x.map(f);
        break;
      }
      case 'softmax': {
        for (let n = 0; n < batch; n++) {
          const row = x.subarray(n * features, (n + 1) * features);
          const max = Math.max(...row);
          const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
          row.forEach((v, i) => (row[i] = layer.log ? v - max - Math.log(sum) : Math.exp(v - max) / sum));
        }
        break;
      }
      case 'rbf':
        throw new Error('forward: an ONNX graph never maps to an RBF layer');
    }
  }
  return x;
}

/** The fixtures' input batch: x[i] = ((i · 7919) mod 256) / 255 in float32 (make_onnx_fixtures.py's test_input). */
export function testInput(batch: number, size: number): Float32Array {
  return Float32Array.from({ length: batch * size * size }, (_, i) => ((i * 7919) % 256) / 255);
}

/** The first place two arrays differ beyond |a − b| ≤ 1e-5 + 1e-4·|b|, described; undefined when none. */
export function firstMismatch(got: ArrayLike<number>, reference: ArrayLike<number>, what: string): string | undefined {
  if (got.length !== reference.length) return `${what}: ${got.length} values, reference has ${reference.length}`;
  const bad: string[] = [];
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i]! - reference[i]!) <= 1e-5 + 1e-4 * Math.abs(reference[i]!))) bad.push(`[${i}] ${got[i]} vs ${reference[i]}`);
  }
  return bad.length ? `${what}: ${bad.length} of ${got.length} differ, first ${bad.slice(0, 4).join('; ')}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime Web (Node, wasm, one thread): what a file computes, judged by another engine.

let ortReady = false;

/** Runs the file in ONNX Runtime on `input` [batch, 1, size, size] (float32 input); undefined if ORT refuses the file. */
export async function runOrt(bytes: Uint8Array, input: Float32Array, batch: number, size: number): Promise<{ output: Float32Array } | { refused: string }> {
  if (!ortReady) {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'fatal';
    ortReady = true;
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (e) {
    return { refused: String(e).slice(0, 300) };
  }
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [batch, 1, size, size]) };
    const result = await session.run(feeds);
    return { output: Float32Array.from(result[session.outputNames[0]!]!.data as Float32Array) };
  } catch (e) {
    return { refused: String(e).slice(0, 300) };
  } finally {
    await session.release();
  }
}

/**
 * Throws unless the reader's result computes what ONNX Runtime computes for the file, on a
 * seeded batch of 2 (tolerance 1e-5 + 1e-4·|ref|). Returns false when ORT refuses the file.
 */
export async function agreesWithOrt(bytes: Uint8Array, contents: WeightsFileContents, what: string): Promise<boolean> {
  const architecture = contents.architecture!;
  const size = architecture.inputSize;
  const input = seededValues(2 * size * size, 77).map((v) => v + 0.5);
  const reference = await runOrt(bytes, input, 2, size);
  if ('refused' in reference) return false;
  const mismatch = firstMismatch(forward(architecture, contents.tensors, input, 2), reference.output, `${what}: reader's network vs ONNX Runtime`);
  if (mismatch) throw new Error(mismatch);
  return true;
}

// ---------------------------------------------------------------------------------------------
// The fixtures of scripts/pytorch/make_onnx_fixtures.py.

export interface OnnxFixture {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly opset: number;
  readonly inputSize: number;
  readonly stateDict: ReadonlyMap<string, RawTensor>;
  readonly output?: RawTensor;
}

interface FixtureTensorJson { shape: number[]; f32_base64: string }

function tensorFromJson(t: FixtureTensorJson): RawTensor {
  const bytes = Buffer.from(t.f32_base64, 'base64');
  const data = new Float32Array(bytes.length / 4);
  new Uint8Array(data.buffer).set(bytes);
  return { shape: t.shape, data };
}

export function readFixture(name: string): OnnxFixture {
  const json = JSON.parse(readFileSync(`tests/fixtures/onnx/${name}.json`, 'utf8')) as {
    opset: number; input_size: number; state_dict?: Record<string, FixtureTensorJson>; output?: FixtureTensorJson;
  };
  return {
    name,
    bytes: new Uint8Array(readFileSync(`tests/fixtures/onnx/${name}.onnx`)),
    opset: json.opset,
    inputSize: json.input_size,
    stateDict: new Map(Object.entries(json.state_dict ?? {}).map(([k, v]) => [k, tensorFromJson(v)])),
    ...(json.output ? { output: tensorFromJson(json.output) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The oracle: an initializer's values as float32, straight from the definitions.

export function oracleValues(t: TensorObj): Float32Array {
  const count = (t.dims ?? []).reduce((a, b) => a * b, 1);
  const raw = t.raw_data;
  const type = t.data_type;
  if (raw && raw.length) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Float32Array.from({ length: count }, (_, i) =>
      type === kFloat ? view.getFloat32(4 * i, true)
        : type === kDouble ? view.getFloat64(8 * i, true)
          : type === kFloat16 ? halfValue(view.getUint16(2 * i, true))
            : new Float32Array(new Uint32Array([view.getUint16(2 * i, true) * 65536]).buffer)[0]!,
    );
  }
  if (type === kFloat) return Float32Array.from(t.float_data ?? []);
  if (type === kDouble) return Float32Array.from(t.double_data ?? []);
  return Float32Array.from(t.int32_data ?? [], (bits) => (type === kFloat16 ? halfValue(bits) : new Float32Array(new Uint32Array([bits * 65536]).buffer)[0]!));
}

// ---------------------------------------------------------------------------------------------
// Crafted cases.

export type Outcome = 'file' | 'model' | 'accept';

export interface CraftedCase {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly outcome: Outcome;
  /** Text the error message must contain (node name, op type, tensor name, ...). */
  readonly mentions?: readonly string[];
  /** For accepted files ONNX Runtime cannot run: what the reader must have returned instead. */
  readonly check?: (contents: WeightsFileContents) => void;
}

const encoder = new TextEncoder();

/** A model split into its top-level fields, to reassemble with a lying or broken graph field. */
function modelParts(): { head: Uint8Array; graph: Uint8Array; tail: Uint8Array } {
  const model = modelOf(chainGraph());
  const { graph, opset_import: opsets, ...rest } = model;
  return {
    head: encodeModel(rest),
    graph: encodeGraph(graph!),
    tail: encodeModel({ opset_import: opsets }),
  };
}

function protobufCases(): CraftedCase[] {
  const { head, graph, tail } = modelParts();
  const withGraphLength = (length: number | bigint) => concat(head, ld(7, graph, length), tail);
  const valid = concat(head, ld(7, graph), tail);
  const unknown = (field: number, payload: Uint8Array) => concat(head, ld(field, payload), ld(7, graph), tail);
  const nestedGroups = (depth: number) => Uint8Array.from([...Array.from({ length: depth }, () => tag(99, 3)).flat(), ...Array.from({ length: depth }, () => tag(99, 4)).flat()]);
  let nestedMessages: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < 2000; i++) nestedMessages = ld(1, nestedMessages);
  const repeated = (bytes: number[], count: number) => {
    const out = new Uint8Array(bytes.length * count);
    for (let i = 0; i < count; i++) out.set(bytes, i * bytes.length);
    return out;
  };
  return [
    { name: 'empty file', bytes: new Uint8Array(0), outcome: 'file' },
    { name: 'one byte (0x08)', bytes: Uint8Array.of(0x08), outcome: 'file' },
    { name: 'the valid base file (control)', bytes: valid, outcome: 'accept' },
    { name: 'random bytes', bytes: Uint8Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) % 251), outcome: 'file' },
    { name: 'text, not protobuf', bytes: encoder.encode('{"graph": "not an ONNX file"}'), outcome: 'file' },
    { name: 'graph length 2^31 − 1', bytes: withGraphLength(2 ** 31 - 1), outcome: 'file' },
    { name: 'graph length 2^32 + 5 (past 32 bits)', bytes: withGraphLength(2n ** 32n + 5n), outcome: 'file' },
    { name: 'graph length 2^63 (10-byte varint)', bytes: withGraphLength(2n ** 63n), outcome: 'file' },
    { name: 'graph length one past the end', bytes: concat(head, ld(7, graph, graph.length + tail.length + 1), tail), outcome: 'file' },
    { name: 'graph length one short', bytes: withGraphLength(graph.length - 1), outcome: 'file' },
    { name: 'tag with field number 0', bytes: concat(Uint8Array.of(0x00, 0x01), valid), outcome: 'file' },
    { name: 'wire type 6', bytes: concat(Uint8Array.of(...tag(9, 6), 1), valid), outcome: 'file' },
    { name: 'wire type 7', bytes: concat(valid, Uint8Array.of(...tag(9, 7), 1)), outcome: 'file' },
    { name: 'a group start never closed', bytes: concat(valid, Uint8Array.of(...tag(99, 3), 0x08, 0x01)), outcome: 'file' },
    { name: 'an unmatched group end', bytes: concat(valid, Uint8Array.of(...tag(99, 4))), outcome: 'file' },
    { name: 'a group end with the wrong field number', bytes: concat(valid, Uint8Array.of(...tag(99, 3), ...tag(98, 4))), outcome: 'file' },
    { name: '100,000 nested groups in an unknown field', bytes: concat(valid, nestedGroups(100_000)), outcome: 'file' },
    { name: '50 nested groups in an unknown field (skipped)', bytes: concat(valid, nestedGroups(50)), outcome: 'accept' },
    { name: '2,000 nested messages in an unknown field (skipped by length)', bytes: unknown(99, nestedMessages), outcome: 'accept' },
    { name: 'ir_version an 11-byte varint', bytes: concat(Uint8Array.of(0x08, ...Array(10).fill(0xff), 0x01), valid.subarray(2)), outcome: 'file' },
    { name: 'ir_version as a length-delimited field', bytes: concat(ld(1, Uint8Array.of(7)), valid.subarray(2)), outcome: 'file' },
    { name: 'ir_version repeated 100,000 times (the last counts)', bytes: concat(repeated([0x08, 0x07], 100_000), valid), outcome: 'accept' },
    { name: 'a 1 MiB doc_string (skipped)', bytes: concat(ld(6, new Uint8Array(2 ** 20).fill(0x41)), valid), outcome: 'accept' },
    { name: 'two graph fields', bytes: concat(valid, ld(7, graph)), outcome: 'file', mentions: ['graph'] },
    { name: 'no graph', bytes: concat(head, tail), outcome: 'file', mentions: ['graph'] },
    { name: 'graph with field number 0 inside', bytes: concat(head, ld(7, concat(Uint8Array.of(0, 0), graph)), tail), outcome: 'file', mentions: ['graph'] },
    { name: 'graph that ends inside a node', bytes: concat(head, ld(7, graph.subarray(0, 40)), tail), outcome: 'file' },
  ];
}

function repetitionCases(): CraftedCase[] {
  const { head, graph, tail } = modelParts();
  const many = (field: number, payload: Uint8Array, count: number) => {
    const one = ld(field, payload);
    const out = new Uint8Array(one.length * count);
    for (let i = 0; i < count; i++) out.set(one, i * one.length);
    return out;
  };
  const inGraph = (extra: Uint8Array) => concat(head, ld(7, concat(graph, extra)), tail);
  const packed = (field: number, count: number) => ld(field, new Uint8Array(count).fill(0x01));
  const nodeWith = (extra: Uint8Array) => ld(1, concat(encoder.encode(''), extra));
  const tensorDims = (count: number) => ld(5, concat(ld(8, encoder.encode('t')), packed(1, count)));
  return [
    { name: '200,000 empty nodes', bytes: inGraph(many(1, new Uint8Array(0), 200_000)), outcome: 'file', mentions: ['at most 1000 nodes'] },
    { name: '200,000 empty initializers', bytes: inGraph(many(5, new Uint8Array(0), 200_000)), outcome: 'file', mentions: ['initializers'] },
    { name: '200,000 graph inputs', bytes: inGraph(many(11, new Uint8Array(0), 200_000)), outcome: 'file', mentions: ['graph inputs'] },
    { name: '200,000 metadata_props', bytes: concat(head, many(14, new Uint8Array(0), 200_000), ld(7, graph), tail), outcome: 'file', mentions: ['metadata_props'] },
    { name: '200,000 opset imports', bytes: concat(head, many(8, new Uint8Array(0), 200_000), ld(7, graph), tail), outcome: 'file', mentions: ['opset_import'] },
    { name: '100,000 value_info entries (skipped)', bytes: inGraph(many(13, new Uint8Array(0), 100_000)), outcome: 'accept' },
    { name: 'a node with 100,000 inputs', bytes: inGraph(nodeWith(many(1, encoder.encode('x'), 100_000))), outcome: 'file', mentions: ['node inputs'] },
    { name: 'a node with 100,000 attributes', bytes: inGraph(nodeWith(many(5, new Uint8Array(0), 100_000))), outcome: 'file', mentions: ['attributes'] },
    { name: 'an attribute with 1,000,000 packed ints', bytes: inGraph(nodeWith(ld(5, packed(8, 1_000_000)))), outcome: 'file', mentions: ['ints'] },
    { name: 'an attribute with 1,000,000 floats', bytes: inGraph(nodeWith(ld(5, ld(7, new Uint8Array(4_000_000))))), outcome: 'file', mentions: ['floats'] },
    { name: 'a tensor with 1,000,000 dims', bytes: inGraph(tensorDims(1_000_000)), outcome: 'file', mentions: ['dims'] },
    { name: 'a shape with 100,000 dims', bytes: inGraph(ld(12, concat(ld(1, encoder.encode('y')), ld(2, ld(1, ld(2, many(1, new Uint8Array(0), 100_000))))))), outcome: 'file', mentions: ['dims'] },
    { name: 'a 1 MiB node name', bytes: inGraph(nodeWith(ld(3, new Uint8Array(2 ** 20).fill(0x61)))), outcome: 'file', mentions: ['string'] },
    { name: '600,000 unpacked float_data entries (3 MB)', bytes: inGraph(ld(5, concat(ld(8, encoder.encode('u')), repeatedFixed32(4, 600_000)))), outcome: 'accept' },
    { name: 'an attribute with 2,000 unpacked floats', bytes: inGraph(nodeWith(ld(5, repeatedFixed32(7, 2_000)))), outcome: 'file', mentions: ['floats', 'at most 1024'] },
    {
      name: 'unpacked float_data whose last value the file cuts short',
      bytes: concat(head, ld(7, concat(graph, ld(5, concat(ld(8, encoder.encode('u')), repeatedFixed32(4, 1_000), Uint8Array.of(...tag(4, 5), 0, 0)))))),
      outcome: 'file',
    },
  ];
}

function repeatedFixed32(field: number, count: number): Uint8Array {
  const one = [...tag(field, 5), 0, 0, 0x80, 0x3f];
  const out = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) out.set(one, i * one.length);
  return out;
}

/** The chain with conv1.weight's TensorProto written by `write` from the object (for encodings an encoder will not produce). */
export function withRawWeight(write: (weight: TensorObj) => Uint8Array): Uint8Array {
  const graph = chainGraph();
  const weight = initializerOf(graph, 'conv1.weight');
  graph.initializer = graph.initializer!.filter((t) => t !== weight);
  const model = modelOf(graph);
  const { graph: _, opset_import: opsets, ...rest } = model;
  const graphBytes = concat(encodeGraph(graph), ld(5, write(weight)));
  return concat(encodeModel(rest), ld(7, graphBytes), encodeModel({ opset_import: opsets }));
}

/** The chain with conv1.weight's TensorProto bytes followed by `extra`. */
function withRawWeightField(extra: Uint8Array): Uint8Array {
  return withRawWeight((weight) => concat(encodeTensor(weight), extra));
}

function tensorCases(): CraftedCase[] {
  const withWeight = (edit: (t: TensorObj) => void) => chain((g) => edit(initializerOf(g, 'conv1.weight')));
  const withBias = (edit: (t: TensorObj) => void) => chain((g) => edit(initializerOf(g, 'fc.bias')));
  const values = seededValues(50, 3);
  const raw = (t: TensorObj) => t.raw_data!;
  const f32 = (vs: number[]) => new Uint8Array(new Float32Array(vs).buffer);
  const bits16 = (vs: number[]) => new Uint8Array(new Uint16Array(vs).buffer);
  const f64 = (vs: number[]) => new Uint8Array(new Float64Array(vs).buffer);
  const typed = (data_type: number, fields: Partial<TensorObj>) => (t: TensorObj) => {
    const { name, dims } = t;
    Object.keys(t).forEach((k) => delete (t as Record<string, unknown>)[k]);
    Object.assign(t, { name, dims, data_type, ...fields });
  };
  const halfBitsOf = (v: number) => {
    // Values of seededValues(…)·k rounded to half by hand for the test: use exactly representable halves.
    const halves: Record<number, number> = { 0.5: 0x3800, [-0.25]: 0xb400, 1: 0x3c00, 0: 0 };
    return halves[v] ?? 0;
  };
  const fiftyHalves = Array.from({ length: 50 }, (_, i) => [0.5, -0.25, 1, 0][i % 4]!);
  const expectValues = (key: string, expected: number[]) => (c: WeightsFileContents) => {
    const got = [...c.tensors.get(key)!.data];
    if (got.join() !== expected.join()) throw new Error(`${key}: ${got.slice(0, 6).join()} …, expected ${expected.slice(0, 6).join()} …`);
  };
  return [
    { name: 'raw_data one byte short', bytes: withWeight((t) => void (t.raw_data = raw(t).subarray(1))), outcome: 'file', mentions: ['conv1.weight', '199'] },
    { name: 'raw_data 4 bytes long', bytes: withWeight((t) => void (t.raw_data = concat(raw(t), new Uint8Array(4)))), outcome: 'file', mentions: ['conv1.weight'] },
    { name: 'raw_data empty', bytes: withWeight((t) => void (t.raw_data = new Uint8Array(0))), outcome: 'file', mentions: ['conv1.weight'] },
    { name: 'dims whose product overflows (2^31 · 2^31 · 5 · 5)', bytes: withWeight((t) => void (t.dims = [2 ** 31, 2 ** 31, 5, 5])), outcome: 'file', mentions: ['conv1.weight'] },
    { name: 'dims [2^62, 1, 5, 5]', bytes: withWeight((t) => void (t.dims = [2 ** 62, 1, 5, 5])), outcome: 'file', mentions: ['conv1.weight'] },
    { name: 'a negative dim with the right product', bytes: withWeight((t) => void (t.dims = [-2, -1, 5, 5])), outcome: 'file', mentions: ['conv1.weight'] },
    { name: 'dims [2, 1, 5, 5, 1] (rank 5, right byte count)', bytes: withWeight((t) => void (t.dims = [2, 1, 5, 5, 1])), outcome: 'model', mentions: ['conv1.weight'] },
    { name: 'dims [2, 1, 25] (right byte count)', bytes: withWeight((t) => void (t.dims = [2, 1, 25])), outcome: 'model', mentions: ['conv1.weight'] },
    { name: 'fc weight [32, 10] (transposed, right byte count)', bytes: chain((g) => void (initializerOf(g, 'fc.weight').dims = [32, 10])), outcome: 'model', mentions: ['fc.weight'] },
    { name: 'fc weight [10, 2^31] (a huge claim, few bytes)', bytes: chain((g) => void (initializerOf(g, 'fc.weight').dims = [10, 2 ** 31])), outcome: 'file', mentions: ['fc.weight'] },
    { name: 'fc weight [10, 2^20] (a large claim, few bytes)', bytes: chain((g) => void (initializerOf(g, 'fc.weight').dims = [10, 2 ** 20])), outcome: 'model', mentions: ['fc.weight'] },
    // Dims within 2^32 elements but far beyond the bytes: nothing may be sized by them (a zero bias of 2^27 would be 512 MiB).
    { name: 'Gemm without C, weight claiming [2^27, 32]', bytes: chain((g) => { nodeOf(g, 'Gemm').input!.pop(); initializerOf(g, 'fc.weight').dims = [2 ** 27, 32]; }), outcome: 'file', mentions: ['fc.weight'] },
    { name: 'MatMul, weight claiming [32, 2^27]', bytes: chain((g) => { Object.assign(nodeOf(g, 'Gemm'), { op_type: 'MatMul', input: ['f1', 'fc.weight'], attribute: [] }); initializerOf(g, 'fc.weight').dims = [32, 2 ** 27]; }), outcome: 'file', mentions: ['fc.weight'] },
    { name: 'Conv without bias, weight claiming [2^27, 1, 5, 5]', bytes: chain((g) => { nodeOf(g, 'Conv').input!.pop(); initializerOf(g, 'conv1.weight').dims = [2 ** 27, 1, 5, 5]; }), outcome: 'file', mentions: ['conv1.weight'] },
    { name: 'bias dims [0] with no data', bytes: withBias((t) => void Object.assign(t, { dims: [0], raw_data: new Uint8Array(0) })), outcome: 'model', mentions: ['fc.bias'] },
    { name: 'NaN in raw_data', bytes: withWeight((t) => void (t.raw_data = f32([...values.subarray(0, 7), NaN, ...values.subarray(8)]))), outcome: 'file', mentions: ['conv1.weight', 'element 7'] },
    { name: '-Infinity in raw_data', bytes: withWeight((t) => void (t.raw_data = f32([-Infinity, ...values.subarray(1)]))), outcome: 'file', mentions: ['conv1.weight', 'element 0'] },
    { name: 'Infinity in float_data', bytes: withWeight(typed(kFloat, { float_data: [...values.subarray(0, 49), Infinity] })), outcome: 'file', mentions: ['conv1.weight', 'element 49'] },
    { name: 'float_data one value short', bytes: withWeight(typed(kFloat, { float_data: [...values.subarray(0, 49)] })), outcome: 'file', mentions: ['conv1.weight', 'float_data'] },
    { name: 'float_data (control)', bytes: withWeight(typed(kFloat, { float_data: [...values] })), outcome: 'accept' },
    { name: 'raw_data and float_data both', bytes: withWeight((t) => void (t.float_data = [...values])), outcome: 'file', mentions: ['conv1.weight', 'raw_data and float_data'] },
    { name: 'double_data (control)', bytes: withWeight(typed(kDouble, { double_data: [...values] })), outcome: 'accept', check: expectValues('conv1.weight', [...values]) },
    { name: 'DOUBLE raw_data (control)', bytes: withWeight(typed(kDouble, { raw_data: f64([...values]) })), outcome: 'accept', check: expectValues('conv1.weight', [...values]) },
    { name: 'a double beyond float32 range (1e39)', bytes: withWeight(typed(kDouble, { double_data: [1e39, ...values.subarray(1)] })), outcome: 'file', mentions: ['conv1.weight', 'element 0'] },
    { name: 'double_data for a FLOAT tensor', bytes: withWeight(typed(kFloat, { double_data: [...values] })), outcome: 'file', mentions: ['conv1.weight', 'double_data'] },
    {
      name: 'FLOAT16 raw_data', bytes: withWeight(typed(kFloat16, { raw_data: bits16(fiftyHalves.map(halfBitsOf)) })), outcome: 'accept',
      check: expectValues('conv1.weight', fiftyHalves),
    },
    {
      name: 'FLOAT16 bits in int32_data', bytes: withWeight(typed(kFloat16, { int32_data: fiftyHalves.map(halfBitsOf) })), outcome: 'accept',
      check: expectValues('conv1.weight', fiftyHalves),
    },
    { name: 'FLOAT16 int32_data value 70,000', bytes: withWeight(typed(kFloat16, { int32_data: [70_000, ...fiftyHalves.slice(1).map(halfBitsOf)] })), outcome: 'file', mentions: ['conv1.weight', '70000'] },
    { name: 'FLOAT16 infinity (0x7c00)', bytes: withWeight(typed(kFloat16, { raw_data: bits16([0x7c00, ...fiftyHalves.slice(1).map(halfBitsOf)]) })), outcome: 'file', mentions: ['conv1.weight'] },
    {
      name: 'BFLOAT16 raw_data', bytes: withWeight(typed(kBfloat16, { raw_data: bits16(fiftyHalves.map((v) => new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16)) })), outcome: 'accept',
      check: expectValues('conv1.weight', fiftyHalves),
    },
    { name: 'data_type INT8', bytes: withWeight(typed(3, { raw_data: new Uint8Array(50) })), outcome: 'file', mentions: ['conv1.weight', 'INT8'] },
    { name: 'data_type 99', bytes: withWeight((t) => void (t.data_type = 99)), outcome: 'file', mentions: ['conv1.weight', '99'] },
    { name: 'data_type absent', bytes: withWeight((t) => void delete t.data_type), outcome: 'file', mentions: ['conv1.weight', 'UNDEFINED'] },
    { name: 'string_data for a weight', bytes: withWeight(typed(kFloat, { string_data: [encoder.encode('x')] })), outcome: 'file', mentions: ['conv1.weight', 'string_data'] },
    {
      name: 'external data', outcome: 'file', mentions: ['conv1.weight', 'external', 'w.bin'],
      bytes: withWeight(typed(kFloat, { data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }, { key: 'length', value: '200' }] })),
    },
    // protobufjs drops an enum value it does not know, so this one is assembled by hand.
    { name: 'data_location 7', bytes: withRawWeightField(Uint8Array.of(...tag(14, 0), 7)), outcome: 'file', mentions: ['conv1.weight', 'data_location'] },
    { name: 'a segment of a tensor', bytes: withWeight((t) => void (t.segment = { begin: 0, end: 10 })), outcome: 'file', mentions: ['conv1.weight', 'segment'] },
    { name: 'an initializer without a name', bytes: chain((g) => void g.initializer!.push({ dims: [1], data_type: kFloat, raw_data: f32([1]) })), outcome: 'file', mentions: ['name'] },
    { name: 'two initializers of the same name', bytes: chain((g) => void g.initializer!.push(floatTensor('fc.bias', [10]))), outcome: 'file', mentions: ['fc.bias'] },
    { name: 'an unused initializer with absurd dims (never read)', bytes: chain((g) => void g.initializer!.push({ name: 'unused', dims: [2 ** 40], data_type: kFloat })), outcome: 'accept' },
  ];
}

function graphCases(): CraftedCase[] {
  const input = (dims: (number | string)[] | undefined, elemType = kFloat) => chain((g) => void (g.input = [valueInfo('input', dims, elemType)]));
  return [
    { name: 'no opset_import', bytes: encodeModel({ ...modelOf(chainGraph()), opset_import: [] }), outcome: 'file', mentions: ['opset_import'] },
    { name: 'opset 6', bytes: chain(undefined, 6), outcome: 'file', mentions: ['opset', '6'] },
    { name: 'two default-domain opsets', bytes: encodeModel({ ...modelOf(chainGraph()), opset_import: [{ domain: '', version: 13 }, { domain: 'ai.onnx', version: 11 }] }), outcome: 'file', mentions: ['opset_import'] },
    { name: "opset domain spelled 'ai.onnx', plus an ML domain (control)", bytes: encodeModel({ ...modelOf(chainGraph()), opset_import: [{ domain: 'ai.onnx', version: 13 }, { domain: 'ai.onnx.ml', version: 3 }] }), outcome: 'accept' },
    { name: 'opset 9 (control)', bytes: chain(undefined, 9), outcome: 'accept' },
    { name: 'a node input nothing produces', bytes: chain((g) => void (nodeOf(g, 'Relu').input = ['nowhere'])), outcome: 'file', mentions: ["'/Relu'", 'Relu', 'nowhere'] },
    { name: 'nodes out of topological order', bytes: chain((g) => void g.node!.reverse()), outcome: 'file', mentions: ['topological'] },
    { name: 'a tensor produced twice', bytes: chain((g) => void (nodeOf(g, 'Relu').output = ['c1'])), outcome: 'file', mentions: ["'c1'"] },
    { name: 'a node output shadowing an initializer', bytes: chain((g) => void (nodeOf(g, 'Relu').output = ['fc.bias'])), outcome: 'file', mentions: ['fc.bias'] },
    { name: 'a node with no output', bytes: chain((g) => void (nodeOf(g, 'Relu').output = [])), outcome: 'file', mentions: ['Relu'] },
    { name: 'two graph inputs', bytes: chain((g) => void g.input!.push(valueInfo('second', ['batch', 1, 12, 12]))), outcome: 'model', mentions: ['second'] },
    { name: 'no graph input', bytes: chain((g) => void (g.input = [])), outcome: 'model', mentions: ['input'] },
    { name: 'initializers listed as inputs too (control)', bytes: chain((g) => void g.input!.push(...g.initializer!.map((t) => valueInfo(t.name!, t.dims!)))), outcome: 'accept' },
    { name: 'input rank 3', bytes: input(['batch', 12, 12]), outcome: 'model', mentions: ['input'] },
    { name: 'input with 3 channels', bytes: input(['batch', 3, 12, 12]), outcome: 'model', mentions: ['3'] },
    { name: 'input 12×14', bytes: input(['batch', 1, 12, 14]), outcome: 'model', mentions: ['14'] },
    { name: 'input height symbolic', bytes: input(['batch', 1, 'h', 'w']), outcome: 'model', mentions: ['h'] },
    { name: 'input of INT64', bytes: input(['batch', 1, 12, 12], kInt64), outcome: 'model', mentions: ['INT64'] },
    { name: 'input without a shape', bytes: input(undefined), outcome: 'model', mentions: ['no shape'] },
    { name: 'input a sequence', bytes: chain((g) => void (g.input = [{ name: 'input', type: { sequence_type: { elem_type: valueInfo('x', [1]).type! } } }])), outcome: 'model', mentions: ['sequence'] },
    { name: 'input batch fixed at 4 (control)', bytes: input([4, 1, 12, 12]), outcome: 'accept' },
    { name: 'input batch dimension unnamed (control)', bytes: chain((g) => void (g.input = [{ name: 'input', type: { tensor_type: { elem_type: kFloat, shape: { dim: [{}, { dim_value: 1 }, { dim_value: 12 }, { dim_value: 12 }] } } } }])), outcome: 'accept' },
    { name: 'graph output not the end of the chain', bytes: chain((g) => void (g.output = [valueInfo('r1', ['batch', 2, 8, 8])])), outcome: 'model', mentions: ["'r1'"] },
    { name: 'two graph outputs', bytes: chain((g) => void g.output!.push(valueInfo('p1', ['batch', 2, 4, 4]))), outcome: 'model', mentions: ['2'] },
    { name: 'no nodes (output = input)', bytes: chain((g) => void Object.assign(g, { node: [], output: [valueInfo('input', ['batch', 1, 12, 12])] })), outcome: 'model' },
    {
      name: 'a branch: the conv output read twice', outcome: 'model', mentions: ['branch'],
      bytes: chain((g) => void g.node!.splice(2, 0, node('Sigmoid', ['c1'], ['s1'], [], '/Sigmoid'))),
    },
  ];
}

function opCases(): CraftedCase[] {
  const conv = (edit: (n: NodeObj) => void) => chain((g) => edit(nodeOf(g, 'Conv')));
  const pool = (edit: (n: NodeObj) => void) => chain((g) => edit(nodeOf(g, 'MaxPool')));
  const gemm = (edit: (n: NodeObj, g: GraphObj) => void) => chain((g) => edit(nodeOf(g, 'Gemm'), g));
  /** Inserts nodes after the node producing `after`, rewiring its readers to `output`. */
  const insert = (g: GraphObj, after: string, nodes: NodeObj[], output: string) => {
    const at = g.node!.findIndex((n) => n.output!.includes(after)) + 1;
    g.node!.forEach((n) => (n.input = n.input!.map((i) => (i === after ? output : i))));
    g.node!.splice(at, 0, ...nodes);
  };
  const tail = (nodes: (out: string) => NodeObj[], extra: TensorObj[] = []) => chain((g) => {
    nodeOf(g, 'Gemm').output = ['logits'];
    g.node!.push(...nodes('logits'));
    g.initializer!.push(...extra);
  });
  const scalar = (name: string, v: number) => floatTensor(name, [], new Float32Array([v]));
  return [
    // Conv
    { name: 'Conv group 2', bytes: conv((n) => setAttr(n, attr('group', 2))), outcome: 'model', mentions: ["'/conv1/Conv'", 'Conv', 'group'] },
    { name: 'Conv dilation 2', bytes: conv((n) => setAttr(n, attr('dilations', [2, 2]))), outcome: 'model', mentions: ['dilation'] },
    { name: 'Conv stride 2', bytes: conv((n) => setAttr(n, attr('strides', [2, 2]))), outcome: 'model', mentions: ['strides'] },
    { name: 'Conv pads [1, 1, 2, 2]', bytes: conv((n) => setAttr(n, attr('pads', [1, 1, 2, 2]))), outcome: 'model', mentions: ['pads'] },
    { name: 'Conv pads 3', bytes: conv((n) => setAttr(n, attr('pads', [3, 3, 3, 3]))), outcome: 'model', mentions: ['pads'] },
    { name: 'Conv pads [-1, …]', bytes: conv((n) => setAttr(n, attr('pads', [-1, -1, -1, -1]))), outcome: 'model', mentions: ['pads'] },
    { name: 'Conv pads 1 (control: fc over 5×5 maps)', bytes: chain((g) => { setAttr(nodeOf(g, 'Conv'), attr('pads', [1, 1, 1, 1])); g.initializer!.splice(2, 1, floatTensor('fc.weight', [10, 50])); }), outcome: 'accept' },
    { name: 'Conv auto_pad SAME_UPPER (control)', bytes: chain((g) => { const n = nodeOf(g, 'Conv'); n.attribute = n.attribute!.filter((a) => a.name !== 'pads'); setAttr(n, attr('auto_pad', 'SAME_UPPER')); g.initializer!.splice(2, 1, floatTensor('fc.weight', [10, 72])); }), outcome: 'accept' },
    { name: 'Conv auto_pad VALID (control)', bytes: conv((n) => { n.attribute = n.attribute!.filter((a) => a.name !== 'pads'); setAttr(n, attr('auto_pad', 'VALID')); }), outcome: 'accept' },
    { name: 'Conv auto_pad VALID with explicit zero pads (control)', bytes: conv((n) => setAttr(n, attr('auto_pad', 'VALID'))), outcome: 'accept' },
    { name: 'Conv auto_pad VALID with pads 1', bytes: conv((n) => { setAttr(n, attr('auto_pad', 'VALID')); setAttr(n, attr('pads', [1, 1, 1, 1])); }), outcome: 'model', mentions: ['VALID'] },
    { name: "Conv auto_pad 'BOGUS'", bytes: conv((n) => setAttr(n, attr('auto_pad', 'BOGUS'))), outcome: 'model', mentions: ['BOGUS'] },
    { name: 'Conv kernel_shape [3, 3] over a 5×5 weight', bytes: conv((n) => setAttr(n, attr('kernel_shape', [3, 3]))), outcome: 'model', mentions: ['kernel_shape'] },
    { name: 'Conv weight 3×3', bytes: chain((g) => void g.initializer!.splice(0, 1, floatTensor('conv1.weight', [2, 1, 3, 3]))), outcome: 'model', mentions: ['5×5', '[2, 1, 3, 3]'] },
    { name: 'Conv with an unknown attribute', bytes: conv((n) => setAttr(n, attr('winograd', 1))), outcome: 'model', mentions: ['winograd'] },
    { name: 'Conv attribute of type INTS holding an INT', bytes: conv((n) => setAttr(n, { name: 'pads', type: 7, i: 0 })), outcome: 'file', mentions: ['pads'] },
    { name: 'Conv attribute with two value fields', bytes: conv((n) => setAttr(n, { name: 'group', type: 2, i: 1, f: 1 })), outcome: 'file', mentions: ['group'] },
    { name: 'Conv attribute whose type says FLOAT for group', bytes: conv((n) => setAttr(n, { name: 'group', type: 1, f: 1 })), outcome: 'file', mentions: ['group'] },
    { name: 'Conv attribute twice', bytes: conv((n) => n.attribute!.push(attr('strides', [1, 1]))), outcome: 'file', mentions: ['strides'] },
    { name: 'Conv attribute referring to a function attribute', bytes: conv((n) => setAttr(n, { name: 'group', type: 2, ref_attr_name: 'g' })), outcome: 'model', mentions: ['group'] },
    { name: 'Conv without bias (control: zero bias)', bytes: conv((n) => void n.input!.pop()), outcome: 'accept' },
    { name: 'Conv weight from a Constant node (control)', bytes: chain((g) => { const w = g.initializer!.shift()!; g.node!.unshift(node('Constant', [], ['conv1.weight'], [attr('value', w)], '/Constant')); }), outcome: 'accept' },
    { name: 'the input read by an Identity and the Conv', bytes: chain((g) => void g.node!.unshift(node('Identity', ['input'], ['w']))), outcome: 'model', mentions: ['branch'] },
    { name: 'Conv weight an Identity of an initializer (control)', bytes: chain((g) => { g.node!.unshift(node('Identity', ['conv1.weight'], ['w2'])); nodeOf(g, 'Conv').input![1] = 'w2'; }), outcome: 'accept' },
    { name: 'Conv in a custom domain', bytes: conv((n) => void (n.domain = 'com.microsoft')), outcome: 'model', mentions: ['com.microsoft'] },
    { name: "Conv in domain 'ai.onnx' (control)", bytes: conv((n) => void (n.domain = 'ai.onnx')), outcome: 'accept' },
    // Pools
    { name: 'MaxPool 3×3', bytes: pool((n) => setAttr(n, attr('kernel_shape', [3, 3]))), outcome: 'model', mentions: ["'/MaxPool'", 'kernel_shape'] },
    { name: 'MaxPool without strides (ONNX default 1)', bytes: pool((n) => void (n.attribute = n.attribute!.filter((a) => a.name !== 'strides'))), outcome: 'model', mentions: ['strides'] },
    { name: 'MaxPool ceil_mode 1', bytes: pool((n) => setAttr(n, attr('ceil_mode', 1))), outcome: 'model', mentions: ['ceil_mode'] },
    { name: 'MaxPool pads 1', bytes: pool((n) => setAttr(n, attr('pads', [1, 1, 1, 1]))), outcome: 'model', mentions: ['pads'] },
    { name: 'MaxPool dilation 2', bytes: pool((n) => setAttr(n, attr('dilations', [2, 2]))), outcome: 'model', mentions: ['dilation'] },
    { name: 'MaxPool storage_order 1 (control)', bytes: pool((n) => setAttr(n, attr('storage_order', 1))), outcome: 'accept' },
    { name: 'MaxPool count_include_pad (an AveragePool attribute)', bytes: pool((n) => setAttr(n, attr('count_include_pad', 1))), outcome: 'model', mentions: ['count_include_pad'] },
    { name: 'AveragePool count_include_pad 1 (control)', bytes: pool((n) => { n.op_type = 'AveragePool'; setAttr(n, attr('count_include_pad', 1)); }), outcome: 'accept' },
    { name: "MaxPool's indices read", bytes: chain((g) => { nodeOf(g, 'MaxPool').output = ['p1', 'idx']; nodeOf(g, 'Flatten').input = ['idx']; }), outcome: 'model', mentions: ['idx'] },
    { name: 'a pool after the dense layer', bytes: tail((o) => [node('MaxPool', [o], ['output'], [attr('kernel_shape', [2, 2]), attr('strides', [2, 2])])]), outcome: 'model', mentions: ['MaxPool'] },
    // Pad
    { name: 'Pad of zeros as attributes (opset 9, control)', bytes: chain((g) => insert(g, 'r1', [node('Pad', ['r1'], ['z'], [attr('pads', [0, 0, 0, 0, 0, 0, 0, 0]), attr('value', 0, 'float')])], 'z'), 9), outcome: 'accept' },
    { name: 'Pad of ones', bytes: chain((g) => { insert(g, 'r1', [node('Pad', ['r1', 'pads'], ['z'], [], 'pad1')], 'z'); g.initializer!.push(int64Tensor('pads', [0, 0, 1, 1, 0, 0, 1, 1])); }), outcome: 'model', mentions: ["'pad1'", 'Pad', '[0, 0, 1, 1, 0, 0, 1, 1]'] },
    { name: 'Pad without pads', bytes: chain((g) => insert(g, 'r1', [node('Pad', ['r1'], ['z'])], 'z')), outcome: 'model', mentions: ['Pad'] },
    { name: 'Pad with 10,000 pads', bytes: chain((g) => { insert(g, 'r1', [node('Pad', ['r1', 'pads'], ['z'])], 'z'); g.initializer!.push(int64Tensor('pads', new Array(10_000).fill(0))); }), outcome: 'file', mentions: ['pads'] },
    // Flatten / Reshape
    { name: 'Flatten axis 2', bytes: chain((g) => setAttr(nodeOf(g, 'Flatten'), attr('axis', 2))), outcome: 'model', mentions: ['axis'] },
    { name: 'Flatten axis -3 (control)', bytes: chain((g) => setAttr(nodeOf(g, 'Flatten'), attr('axis', -3))), outcome: 'accept' },
    ...[[-1, 32], [0, -1], [0, 32], [0, 2, 16]].map((target): CraftedCase => ({
      name: `Reshape to [${target.join(', ')}]${target.length === 3 ? ' (not a flatten)' : ' (control)'}`,
      bytes: chain((g) => {
        const f = nodeOf(g, 'Flatten');
        Object.assign(f, { op_type: 'Reshape', input: ['p1', 'shape'], attribute: [] });
        g.initializer!.push(int64Tensor('shape', target));
      }),
      outcome: target.length === 3 ? 'model' : 'accept',
    })),
    {
      name: 'Reshape to [1, -1] with a dynamic batch', outcome: 'model', mentions: ['Reshape'],
      bytes: chain((g) => { Object.assign(nodeOf(g, 'Flatten'), { op_type: 'Reshape', input: ['p1', 'shape'], attribute: [] }); g.initializer!.push(int64Tensor('shape', [1, -1])); }),
    },
    {
      name: 'Reshape from a Constant value_ints (control)', outcome: 'accept',
      bytes: chain((g) => { const f = nodeOf(g, 'Flatten'); Object.assign(f, { op_type: 'Reshape', input: ['p1', 'shape'], attribute: [] }); g.node!.unshift(node('Constant', [], ['shape'], [{ name: 'value_ints', type: 7, ints: [-1, 32] }])); }),
    },
    {
      name: 'Reshape to [batch, -1] from the input\'s own Shape (control)', outcome: 'accept',
      bytes: chain((g) => {
        const f = nodeOf(g, 'Flatten');
        Object.assign(f, { op_type: 'Reshape', input: ['p1', 'target'], attribute: [] });
        g.initializer!.push(int64Tensor('zero', [0], []), int64Tensor('minus1', [-1]));
        g.node!.unshift(
          node('Shape', ['input'], ['s']), node('Gather', ['s', 'zero'], ['n'], [attr('axis', 0)]),
          node('Unsqueeze', ['n'], ['n1'], [attr('axes', [0])]), node('Concat', ['n1', 'minus1'], ['target'], [attr('axis', 0)]),
        );
      }, 11),
    },
    {
      name: 'Reshape target multiplying the batch', outcome: 'model', mentions: ['batch'],
      bytes: chain((g) => {
        Object.assign(nodeOf(g, 'Flatten'), { op_type: 'Reshape', input: ['p1', 'target'], attribute: [] });
        g.initializer!.push(int64Tensor('zero', [0], []), int64Tensor('two', [2]), int64Tensor('minus1', [-1]));
        g.node!.unshift(node('Shape', ['input'], ['s']), node('Gather', ['s', 'zero'], ['n'], [attr('axis', 0)]), node('Unsqueeze', ['n'], ['n1'], [attr('axes', [0])]),
          node('Mul', ['n1', 'two'], ['n2']), node('Concat', ['n2', 'minus1'], ['target'], [attr('axis', 0)]));
      }, 11),
    },
    { name: 'Gather index 9 of a 4-dim shape', outcome: 'model', mentions: ['index 9'], bytes: chain((g) => { g.initializer!.push(int64Tensor('nine', [9], [])); g.node!.unshift(node('Shape', ['input'], ['s']), node('Gather', ['s', 'nine'], ['n'])); }) },
    { name: 'a dense layer without flatten', bytes: chain((g) => { g.node!.splice(3, 1); nodeOf(g, 'Gemm').input![0] = 'p1'; }), outcome: 'model', mentions: ['Gemm', 'flatten'] },
    // Gemm, MatMul, Add
    { name: 'Gemm alpha 2', bytes: gemm((n) => setAttr(n, attr('alpha', 2, 'float'))), outcome: 'model', mentions: ["'/fc/Gemm'", 'alpha'] },
    { name: 'Gemm transA 1', bytes: gemm((n) => setAttr(n, attr('transA', 1))), outcome: 'model', mentions: ['transA'] },
    { name: 'Gemm transB 0 with a [32, 10] weight (control: transposed)', bytes: gemm((n, g) => { setAttr(n, attr('transB', 0)); g.initializer!.splice(2, 1, floatTensor('fc.weight', [32, 10])); }), outcome: 'accept' },
    { name: 'Gemm transB 0 with a [10, 32] weight', bytes: gemm((n) => setAttr(n, attr('transB', 0))), outcome: 'model', mentions: ['fc.weight'] },
    { name: 'Gemm without C (control: zero bias)', bytes: gemm((n) => void n.input!.pop()), outcome: 'accept' },
    { name: 'Gemm C of shape [1, 10] (control)', bytes: gemm((n, g) => void g.initializer!.splice(3, 1, floatTensor('fc.bias', [1, 10]))), outcome: 'accept' },
    { name: 'Gemm C of shape [5]', bytes: gemm((n, g) => void g.initializer!.splice(3, 1, floatTensor('fc.bias', [5]))), outcome: 'model', mentions: ['fc.bias'] },
    { name: 'Gemm B an Identity of an initializer (control)', bytes: gemm((n, g) => { g.node!.unshift(node('Identity', ['fc.weight'], ['w'])); n.input![1] = 'w'; }), outcome: 'accept' },
    {
      name: 'MatMul + Add, bias first (control)', outcome: 'accept',
      bytes: chain((g) => {
        Object.assign(nodeOf(g, 'Gemm'), { op_type: 'MatMul', input: ['f1', 'W'], output: ['mm'], attribute: [], name: '/MatMul' });
        g.node!.push(node('Add', ['b', 'mm'], ['output'], [], '/Add'));
        g.initializer!.push(floatTensor('W', [32, 10]), floatTensor('b', [10]));
      }),
    },
    {
      name: 'MatMul alone (control: zero bias)', outcome: 'accept',
      bytes: chain((g) => { Object.assign(nodeOf(g, 'Gemm'), { op_type: 'MatMul', input: ['f1', 'W'], attribute: [] }); g.initializer!.push(floatTensor('W', [32, 10])); }),
    },
    { name: 'Add of a bias after a Gemm that has one', bytes: tail((o) => [node('Add', [o, 'b2'], ['output'], [], 'extra-add')], [floatTensor('b2', [10])]), outcome: 'model', mentions: ["'extra-add'", 'Add'] },
    { name: 'Add of a bias after a Gemm without one (control)', bytes: chain((g) => { nodeOf(g, 'Gemm').input!.pop(); nodeOf(g, 'Gemm').output = ['g']; g.node!.push(node('Add', ['g', 'fc.bias'], ['output'])); }), outcome: 'accept' },
    // Activations, Mul
    { name: 'Relu on the input image', bytes: chain((g) => insert(g, 'input', [node('Relu', ['input'], ['r0'], [], 'first-relu')], 'r0')), outcome: 'model', mentions: ["'first-relu'"] },
    { name: 'two activations in a row', bytes: chain((g) => insert(g, 'r1', [node('Sigmoid', ['r1'], ['s'], [], 'second')], 's')), outcome: 'model', mentions: ["'second'", 'relu', 'sigmoid'] },
    { name: 'Relu with an attribute', bytes: chain((g) => setAttr(nodeOf(g, 'Relu'), attr('alpha', 0.1, 'float'))), outcome: 'model', mentions: ['alpha'] },
    { name: 'Mul by 3', bytes: chain((g) => { insert(g, 'r1', [node('Mul', ['r1', 'k'], ['m'], [], 'times3')], 'm'); g.initializer!.push(scalar('k', 3)); }), outcome: 'model', mentions: ["'times3'", 'Mul'] },
    { name: 'Mul by 2/3 then Relu', bytes: chain((g) => { nodeOf(g, 'Relu').input = ['m']; insert(g, 'c1', [node('Mul', ['c1', 'k'], ['m'], [], 'scale')], 'm'); nodeOf(g, 'Relu').input = ['m']; g.initializer!.push(scalar('k', 2 / 3)); }), outcome: 'model', mentions: ["'scale'", 'Tanh'] },
    {
      name: 'scaled tanh, the constants first (control)', outcome: 'accept',
      bytes: chain((g) => {
        const relu = nodeOf(g, 'Relu');
        g.node!.splice(g.node!.indexOf(relu), 1, node('Mul', ['s', 'c1'], ['m1']), node('Tanh', ['m1'], ['t']), node('Mul', ['a', 't'], ['r1']));
        g.initializer!.push(scalar('s', 2 / 3), scalar('a', 1.7159));
      }),
    },
    {
      name: 'scaled tanh with A = 1.7', outcome: 'model', mentions: ['1.7'],
      bytes: chain((g) => {
        const relu = nodeOf(g, 'Relu');
        g.node!.splice(g.node!.indexOf(relu), 1, node('Mul', ['c1', 's'], ['m1']), node('Tanh', ['m1'], ['t']), node('Mul', ['t', 'a'], ['r1']));
        g.initializer!.push(scalar('s', 2 / 3), scalar('a', 1.7));
      }),
    },
    { name: 'Sub on the chain', bytes: chain((g) => { insert(g, 'r1', [node('Sub', ['r1', 'k'], ['m'], [], 'minus')], 'm'); g.initializer!.push(scalar('k', 1)); }), outcome: 'model', mentions: ["'minus'", 'Sub', 'Gemm'] },
    ...batchNormCases(insert),
    ...layoutCases(insert),
    // Softmax, Dropout, Identity
    {
      name: 'a Gemm after the Softmax', outcome: 'model', mentions: ["'fc2'", 'Softmax'],
      bytes: tail((o) => [node('Softmax', [o], ['sm']), node('Gemm', ['sm', 'w2', 'b2'], ['output'], [attr('transB', 1)], 'fc2')], [floatTensor('w2', [10, 10]), floatTensor('b2', [10])]),
    },
    { name: 'Softmax axis 0', bytes: tail((o) => [node('Softmax', [o], ['output'], [attr('axis', 0)])]), outcome: 'model', mentions: ['axis'] },
    { name: 'LogSoftmax at the end (control)', bytes: tail((o) => [node('LogSoftmax', [o], ['output'], [attr('axis', 1)])]), outcome: 'accept' },
    { name: 'Softmax at the end, opset 11 default axis (control)', bytes: encodeModel(modelOf(chainGraph((g) => { nodeOf(g, 'Gemm').output = ['l']; g.node!.push(node('Softmax', ['l'], ['output'])); }), 11)), outcome: 'accept' },
    { name: 'Relu after the Softmax', bytes: tail((o) => [node('Softmax', [o], ['sm']), node('Relu', ['sm'], ['output'], [], 'late')]), outcome: 'model', mentions: ["'late'"] },
    { name: 'Identity at the end (control)', bytes: tail((o) => [node('Identity', [o], ['output'])]), outcome: 'accept' },
    { name: 'Dropout, training_mode false (control)', bytes: tail((o) => [node('Dropout', [o, 'ratio', 'mode'], ['output'])], [scalar('ratio', 0.5), { name: 'mode', dims: [], data_type: kBool, raw_data: Uint8Array.of(0) }]), outcome: 'accept' },
    { name: 'Dropout, training_mode true', bytes: tail((o) => [node('Dropout', [o, 'ratio', 'mode'], ['output'], [], 'drop')], [scalar('ratio', 0.5), { name: 'mode', dims: [], data_type: kBool, raw_data: Uint8Array.of(1) }]), outcome: 'model', mentions: ["'drop'", 'training_mode'] },
    { name: 'Dropout is_test 0 (opset 6 form)', bytes: tail((o) => [node('Dropout', [o], ['output'], [attr('is_test', 0)])]), outcome: 'model', mentions: ['is_test'] },
    { name: "Dropout's mask read", bytes: tail((o) => [node('Dropout', [o], ['d', 'mask']), node('Identity', ['mask'], ['output'])]), outcome: 'model', mentions: ['mask'] },
    // Constant
    { name: 'Constant with a sparse value', bytes: chain((g) => void g.node!.unshift(node('Constant', [], ['k'], [{ name: 'sparse_value', type: 11, sparse_tensor: { dims: [1] } }], 'sparse'))), outcome: 'model', mentions: ["'sparse'", 'sparse_value'] },
    { name: 'Constant with no value', bytes: chain((g) => void g.node!.unshift(node('Constant', [], ['k'], [], 'empty'))), outcome: 'model', mentions: ["'empty'"] },
    { name: 'an unused Constant (control)', bytes: chain((g) => void g.node!.unshift(node('Constant', [], ['k'], [attr('value_float', 1, 'float')]))), outcome: 'accept' },
    { name: 'an unknown op on constants only', bytes: chain((g) => { g.node!.unshift(node('Range', ['a', 'b', 'c'], ['k'], [], 'range')); g.initializer!.push(int64Tensor('a', [0], []), int64Tensor('b', [4], []), int64Tensor('c', [1], [])); }), outcome: 'model', mentions: ["'range'", 'Range'] },
    { name: 'an unknown op reading a name nothing produces', bytes: chain((g) => void g.node!.unshift(node('Range', ['a'], ['k'], [], 'range'))), outcome: 'file', mentions: ["'range'", "'a'"] },
  ];
}

type Insert = (g: GraphObj, after: string, nodes: NodeObj[], output: string) => void;

/** BatchNormalization (issue 19): read into a batchnorm layer, its [C] constants checked. */
function batchNormCases(insert: Insert): CraftedCase[] {
  const stats = (count: number) => ['g', 'b', 'm', 'v'].map((n) => floatTensor(n, [count], n === 'v' ? Float32Array.from({ length: count }, (_, i) => 0.5 + i) : undefined));
  const bn = (attrs: AttrObj[] = [], tensors = stats(2), outputs = ['bn']) => chain((g) => {
    insert(g, 'c1', [node('BatchNormalization', ['c1', 'g', 'b', 'm', 'v'], outputs, attrs, '/bn1/BatchNormalization')], 'bn');
    g.initializer!.push(...tensors);
  });
  const checkBn = (contents: WeightsFileContents): void => {
    const layers = contents.architecture!.layers.map((l) => l.type).join(' ');
    if (layers !== 'conv batchnorm activation pool dense') throw new Error(`expected conv batchnorm activation pool dense, found ${layers}`);
    const variance = contents.tensors.get('bn1.running_var');
    if (!variance || variance.data.join() !== '0.5,1.5') throw new Error(`bn1.running_var: expected [0.5, 1.5], found ${variance ? `[${variance.data.join(', ')}]` : 'none'}`);
  };
  return [
    { name: 'BatchNormalization after the Conv (control)', outcome: 'accept', check: checkBn, bytes: bn() },
    { name: 'BatchNormalization with epsilon and momentum (control)', outcome: 'accept', check: checkBn, bytes: bn([attr('epsilon', 1e-3, 'float'), attr('momentum', 0.9, 'float')]) },
    { name: 'BatchNormalization running_var of 3 for 2 channels', outcome: 'model', mentions: ['running_var', '[2]', '[3]'], bytes: bn([], [...stats(2).slice(0, 3), floatTensor('v', [3])]) },
    { name: 'BatchNormalization zero-sized statistics', outcome: 'model', mentions: ['[2]', '[0]'], bytes: bn([], stats(0)) },
    { name: 'BatchNormalization statistics of rank 2', outcome: 'model', mentions: ['[2]', '[1, 2]'], bytes: bn([], stats(2).map((t) => ({ ...t, dims: [1, 2] }))) },
    { name: 'BatchNormalization training_mode 1', outcome: 'model', mentions: ['training_mode'], bytes: bn([attr('training_mode', 1)]) },
    { name: 'BatchNormalization is_test 0 (opset 6 training)', outcome: 'model', mentions: ['is_test'], bytes: bn([attr('is_test', 0)]) },
    { name: 'BatchNormalization spatial 0 (opset 7)', outcome: 'model', mentions: ['spatial'], bytes: bn([attr('spatial', 0)]) },
    { name: 'BatchNormalization epsilon -1', outcome: 'model', mentions: ['epsilon'], bytes: bn([attr('epsilon', -1, 'float')]) },
    { name: 'BatchNormalization epsilon NaN', outcome: 'model', mentions: ['epsilon'], bytes: bn([attr('epsilon', NaN, 'float')]) },
    { name: "BatchNormalization's training outputs asked for", outcome: 'model', mentions: ['one output'], bytes: bn([], stats(2), ['bn', 'mean_out', 'var_out']) },
    { name: 'BatchNormalization with a computed scale', outcome: 'model', mentions: ['scale', 'constant'], bytes: chain((g) => {
      insert(g, 'c1', [node('Shape', ['c1'], ['sh']), node('BatchNormalization', ['c1', 'sh', 'b', 'm', 'v'], ['bn'], [], 'bnx')], 'bn');
      g.initializer!.push(...stats(2).slice(1));
    }) },
    { name: 'BatchNormalization on the input image', outcome: 'model', mentions: ['before a batch norm'], bytes: chain((g) => {
      g.node!.forEach((n) => (n.input = n.input!.map((i) => (i === 'input' ? 'bn0' : i))));
      g.node!.unshift(node('BatchNormalization', ['input', 'g', 'b', 'm', 'v'], ['bn0']));
      g.initializer!.push(...stats(1));
    }) },
  ];
}

/** NHWC graphs as tf2onnx writes them, and Transposes that are not a layout change. */
function layoutCases(insert: Insert): CraftedCase[] {
  const nhwc = (edit?: (g: GraphObj) => void, transposes = true) => chain((g) => {
    g.input = [valueInfo('input', ['batch', 12, 12, 1])];
    if (transposes) {
      g.node!.forEach((n) => (n.input = n.input!.map((i) => (i === 'input' ? 'nchw' : i))));
      g.node!.unshift(node('Transpose', ['input'], ['nchw'], [attr('perm', [0, 3, 1, 2])], 'in_transpose'));
    }
    edit?.(g);
  });
  const checkColumns = (contents: WeightsFileContents): void => {
    // fc.weight [10, 32] read for a channels-last flatten of [batch, 4, 4, 2]: column (y·4 + x)·2 + c moves to c·16 + y·4 + x.
    const file = seededValues(320, 'fc.weight'.length * 31 + 320);
    const got = contents.tensors.get('fc.weight')!.data;
    for (const [o, c, p] of [[0, 1, 0], [3, 0, 5], [9, 1, 15]] as const) {
      if (got[o * 32 + c * 16 + p] !== file[o * 32 + p * 2 + c]) throw new Error(`fc.weight[${o}, c=${c}, p=${p}]: not the file's channels-last column`);
    }
  };
  const backToNhwc = (g: GraphObj) => insert(g, 'p1', [node('Transpose', ['p1'], ['p1t'], [attr('perm', [0, 2, 3, 1])], 'out_transpose')], 'p1t');
  return [
    { name: 'NHWC input, Transpose to NCHW, NCHW flatten (control)', outcome: 'accept', bytes: nhwc(), check: (c) => {
      if (c.tensors.get('fc.weight')!.data.join() !== seededValues(320, 'fc.weight'.length * 31 + 320).join()) throw new Error('fc.weight changed');
    } },
    { name: 'NHWC input, Transposes both ways, channels-last flatten folded into the Gemm (control)', outcome: 'accept', check: checkColumns, bytes: nhwc(backToNhwc) },
    { name: 'NHWC input and no Transpose before the Conv', outcome: 'model', mentions: ['NHWC', '[0, 3, 1, 2]'], bytes: nhwc(undefined, false) },
    { name: 'Transpose perm [0, 0, 1, 2] (not a permutation)', outcome: 'model', mentions: ['perm', '[0, 0, 1, 2]'], bytes: chain((g) => insert(g, 'c1', [node('Transpose', ['c1'], ['t'], [attr('perm', [0, 0, 1, 2])], 'badperm')], 't')) },
    { name: 'Transpose perm of 5 axes on a 4-axis map', outcome: 'model', mentions: ['perm'], bytes: chain((g) => insert(g, 'c1', [node('Transpose', ['c1'], ['t'], [attr('perm', [0, 1, 2, 3, 4])])], 't')) },
    { name: 'Transpose perm [0, 1, 3, 2] (swaps H and W)', outcome: 'model', mentions: ['Transpose', '[0, 1, 3, 2]'], bytes: chain((g) => insert(g, 'c1', [node('Transpose', ['c1'], ['t'], [attr('perm', [0, 1, 3, 2])])], 't')) },
    { name: 'Transpose with no perm (reverses the axes)', outcome: 'model', mentions: ['Transpose', '[3, 2, 1, 0]'], bytes: chain((g) => insert(g, 'c1', [node('Transpose', ['c1'], ['t'])], 't')) },
    { name: 'Transpose perm with 2^40', outcome: 'model', mentions: ['perm'], bytes: chain((g) => insert(g, 'c1', [node('Transpose', ['c1'], ['t'], [attr('perm', [0, 2 ** 40, 1, 2])])], 't')) },
    { name: 'a channels-last flatten feeding a Softmax, not a dense layer', outcome: 'model', mentions: ['channels-last flatten'], bytes: nhwc((g) => {
      backToNhwc(g);
      const gemm = nodeOf(g, 'Gemm');
      g.node!.splice(g.node!.indexOf(gemm), 1, node('Softmax', ['f1'], ['output'], [attr('axis', 1)]));
    }) },
    { name: 'Reshape to [batch, 33] of a 32-feature map', outcome: 'model', mentions: ['Reshape'], bytes: chain((g) => {
      Object.assign(nodeOf(g, 'Flatten'), { op_type: 'Reshape', input: ['p1', 'shape'], attribute: [] });
      g.initializer!.push(int64Tensor('shape', [-1, 33]));
    }) },
    { name: 'a Shape chain 980 Identity nodes deep, near the 1,000-node cap (control)', outcome: 'accept', bytes: chain((g) => {
      Object.assign(nodeOf(g, 'Flatten'), { op_type: 'Reshape', input: ['p1', 'target'], attribute: [] });
      const ids = Array.from({ length: 980 }, (_, i) => node('Identity', [i === 0 ? 's' : `s${i - 1}`], [`s${i}`]));
      g.node!.unshift(node('Shape', ['input'], ['s']), ...ids, node('Gather', ['s979', 'zero'], ['n'], [attr('axis', 0)]),
        node('Unsqueeze', ['n'], ['n1'], [attr('axes', [0])]), node('Concat', ['n1', 'minus1'], ['target'], [attr('axis', 0)]));
      g.initializer!.push(int64Tensor('zero', [0], []), int64Tensor('minus1', [-1]));
    }), check: (c) => {
      if (c.architecture!.layers.map((l) => l.type).join() !== 'conv,activation,pool,dense') throw new Error('not the base chain');
    } },
    { name: 'a cycle: a Gather reading its own output', outcome: 'file', mentions: ["'loop'"], bytes: chain((g) => {
      g.node!.unshift(node('Shape', ['input'], ['s']), node('Gather', ['s', 'loop'], ['loop'], [attr('axis', 0)]));
    }) },
  ];
}

/** Every crafted case. */
export function craftedCases(): CraftedCase[] {
  return [...protobufCases(), ...repetitionCases(), ...tensorCases(), ...graphCases(), ...opCases()];
}
