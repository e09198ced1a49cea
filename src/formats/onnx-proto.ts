/**
 * Decoding the ONNX protobuf (onnx/onnx.proto, proto2) into plain typed objects: the messages a
 * LeNet graph needs, with field numbers exactly as in onnx.proto. Wire-level reading is
 * protobufjs's `Reader` (protobufjs/minimal); the message layouts are written out below, one
 * decoder per message, as protobufjs's own static code generator writes them. Not
 * protobufjs/light's reflection: it compiles each decoder with `Function()`, which the pages'
 * Content-Security-Policy (no 'unsafe-eval') forbids.
 *
 * Hostile input: protobufjs checks every length prefix and fixed-width read against the end of
 * the enclosing message, so nothing is read past the bytes present; tensor payloads are views
 * of the file's bytes, not copies; every repeated field is capped as it grows (nodes,
 * initializers, dims, attribute lists, ...) so a file of millions of tiny entries fails fast;
 * nesting is fixed by the schema (the graph-valued attributes, the only recursion in
 * onnx.proto, are skipped, not decoded), so depth is bounded. Fields this engine never reads
 * (doc strings, value_info, training info, functions) are skipped by length. Every failure is a
 * WeightsFileError with the byte offset and the field's path (`graph.node[3].attribute[1]`).
 */
import { Reader } from 'protobufjs/minimal.js';
import { WeightsFileError } from '../errors.js';
import { readFloat16, readFloat32 } from '../weights/dtypes.js';

/** `TensorProto.DataType` values this reader knows by name (onnx.proto). */
export const kOnnxDataTypes: Readonly<Record<number, string>> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64',
  8: 'STRING', 9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64',
  15: 'COMPLEX128', 16: 'BFLOAT16', 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4', 23: 'FLOAT4E2M1',
};
export const kFloat = 1;
export const kInt32 = 6;
export const kInt64 = 7;
export const kBool = 9;
export const kFloat16 = 10;
export const kDouble = 11;
export const kBfloat16 = 16;

/** Caps on repeated fields: far above any LeNet, far below what would cost time or memory. */
export const kOnnxLimits = {
  nodes: 1000,
  initializers: 1000,
  /** Graph inputs and outputs (torch's keep_initializers_as_inputs lists every weight). */
  graphValues: 1000,
  nodeInputs: 64,
  attributes: 64,
  /** Entries of an attribute's `ints`/`floats`/`strings` list. */
  attributeList: 1024,
  dims: 32,
  metadata: 1000,
  opsets: 100,
  externalData: 100,
  /** Bytes of any decoded string (names, op types, metadata): a name is not a payload. */
  string: 64 * 1024,
} as const;

/** One dimension of a declared shape: a size, a symbolic name, or unknown. */
export type OnnxDim = number | string | undefined;

export interface OnnxValueInfo {
  readonly name: string;
  /** `TypeProto.tensor_type.elem_type`; undefined when the type is not a tensor or absent. */
  readonly elemType: number | undefined;
  /** Undefined when the type has no shape (unknown rank). */
  readonly shape: readonly OnnxDim[] | undefined;
  /** Which TypeProto field was set: 'tensor', 'other' (sequence, map, ...) or 'none'. */
  readonly typeKind: 'tensor' | 'other' | 'none';
  readonly byteOffset: number;
}

/** A TensorProto. Payload fields are views into the file (raw) or decoded numbers (typed). */
export interface OnnxTensor {
  readonly name: string;
  /** As stored (int64 → number: exact within ±2^53, and past that not a safe integer). */
  readonly dims: readonly number[];
  readonly dataType: number;
  readonly rawData: Uint8Array | undefined;
  readonly rawDataOffset: number;
  readonly floatData: readonly number[];
  readonly int32Data: readonly number[];
  readonly int64Data: readonly number[];
  readonly doubleData: readonly number[];
  /** Typed fields present that this reader never decodes (string_data, uint64_data). */
  readonly otherData: readonly string[];
  readonly dataLocation: number;
  readonly externalData: ReadonlyArray<readonly [string, string]>;
  readonly hasSegment: boolean;
  readonly byteOffset: number;
  /** Where it sits, for messages: 'graph.initializer[3]', 'graph.node[2].attribute[0].t'. */
  readonly path: string;
}

export interface OnnxAttribute {
  readonly name: string;
  /** `AttributeProto.type` (0 when absent). */
  readonly type: number;
  readonly f: number | undefined;
  readonly i: number | undefined;
  readonly s: Uint8Array | undefined;
  readonly t: OnnxTensor | undefined;
  readonly floats: readonly number[];
  readonly ints: readonly number[];
  /** How many `strings` entries (never read as text). */
  readonly stringCount: number;
  /** Fields set that this reader never decodes (g, graphs, tensors, sparse tensors, type protos). */
  readonly otherFields: readonly string[];
  readonly refAttrName: string | undefined;
  readonly byteOffset: number;
}

export interface OnnxNode {
  /** Position in graph.node. */
  readonly index: number;
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly OnnxAttribute[];
  readonly byteOffset: number;
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  /** Names of sparse initializers (never decoded: the engine reads dense weights only). */
  readonly sparseInitializers: readonly string[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly byteOffset: number;
}

export interface OnnxOpset {
  readonly domain: string;
  readonly version: number;
}

export interface OnnxModel {
  readonly irVersion: number | undefined;
  readonly opsetImports: readonly OnnxOpset[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly modelVersion: number | undefined;
  readonly graph: OnnxGraph | undefined;
  readonly metadataProps: ReadonlyArray<readonly [string, string]>;
}

/** Protobuf wire types. */
const kVarint = 0;
const kFixed64 = 1;
const kLengthDelimited = 2;
const kFixed32 = 5;
const kWireNames = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit', 'wire type 6', 'wire type 7'];

/**
 * Decodes an ONNX ModelProto. Throws WeightsFileError (with the byte offset and the field's
 * path) on anything that is not a well-formed protobuf of this schema.
 *
 * @example
 * const model = decodeOnnxModel(bytes);
 * model.graph?.nodes.map((n) => n.opType); // ['Conv', 'Sigmoid', 'AveragePool', ...]
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  // A plain Uint8Array view, so the Reader is the same in Node (Buffer) and browsers.
  const reader = new Reader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const decoder = new Decoder(reader);
  try {
    return decoder.model();
  } catch (e) {
    if (e instanceof WeightsFileError) throw e;
    // protobufjs's own checks (a length past the end, a bad varint, a bad wire type).
    const reason = e instanceof Error ? e.message : String(e);
    throw new WeightsFileError(
      `malformed protobuf in ${decoder.path()}: expected a well-formed ONNX ModelProto, found an error reading it (${reason})`,
      { byteOffset: Math.min(reader.pos, bytes.length) },
    );
  }
}

/** The path of fields being decoded, for messages ('graph.node[2].attribute[0]'). */
class Decoder {
  private readonly stack: string[] = [];

  constructor(private readonly r: Reader) {}

  path(): string {
    return this.stack.length ? this.stack.join('.').replace(/\.\[/g, '[') : 'ModelProto';
  }

  fail(message: string, byteOffset = this.r.pos): never {
    throw new WeightsFileError(`${this.path()}: ${message}`, { byteOffset });
  }

  model(): OnnxModel {
    const r = this.r;
    let irVersion: number | undefined;
    let producerName = '';
    let producerVersion = '';
    let domain = '';
    let modelVersion: number | undefined;
    let graph: OnnxGraph | undefined;
    const opsetImports: OnnxOpset[] = [];
    const metadataProps: (readonly [string, string])[] = [];
    this.fields(r.len, (field, wire, at) => {
      switch (field) {
        case 1: irVersion = this.int64(wire, 'ir_version'); return;
        case 2: producerName = this.string(wire, 'producer_name'); return;
        case 3: producerVersion = this.string(wire, 'producer_version'); return;
        case 4: domain = this.string(wire, 'domain'); return;
        case 5: modelVersion = this.int64(wire, 'model_version'); return;
        case 7:
          if (graph) this.fail('expected one graph, found a second graph field', at);
          graph = this.message(wire, 'graph', () => this.graph());
          return;
        case 8:
          this.cap(opsetImports.length, kOnnxLimits.opsets, 'opset_import entries', at);
          opsetImports.push(this.message(wire, `opset_import[${opsetImports.length}]`, () => this.opset()));
          return;
        case 14:
          this.cap(metadataProps.length, kOnnxLimits.metadata, 'metadata_props entries', at);
          metadataProps.push(this.message(wire, `metadata_props[${metadataProps.length}]`, () => this.stringPair()));
          return;
        default: this.skip(wire, field); // doc_string, training_info, functions, future fields
      }
    });
    return { irVersion, opsetImports, producerName, producerVersion, domain, modelVersion, graph, metadataProps };
  }

  private graph(): OnnxGraph {
    const r = this.r;
    const start = r.pos;
    let name = '';
    const nodes: OnnxNode[] = [];
    const initializers: OnnxTensor[] = [];
    const sparseInitializers: string[] = [];
    const inputs: OnnxValueInfo[] = [];
    const outputs: OnnxValueInfo[] = [];
    this.fields(r.len, (field, wire, at) => {
      switch (field) {
        case 1:
          this.cap(nodes.length, kOnnxLimits.nodes, 'nodes', at);
          nodes.push(this.message(wire, `node[${nodes.length}]`, () => this.node(nodes.length)));
          return;
        case 2: name = this.string(wire, 'name'); return;
        case 5: {
          this.cap(initializers.length, kOnnxLimits.initializers, 'initializers', at);
          const path = `initializer[${initializers.length}]`;
          initializers.push(this.message(wire, path, () => this.tensor(`graph.${path}`)));
          return;
        }
        case 11:
          this.cap(inputs.length, kOnnxLimits.graphValues, 'graph inputs', at);
          inputs.push(this.message(wire, `input[${inputs.length}]`, () => this.valueInfo()));
          return;
        case 12:
          this.cap(outputs.length, kOnnxLimits.graphValues, 'graph outputs', at);
          outputs.push(this.message(wire, `output[${outputs.length}]`, () => this.valueInfo()));
          return;
        case 15:
          this.cap(sparseInitializers.length, kOnnxLimits.initializers, 'sparse initializers', at);
          sparseInitializers.push(this.message(wire, `sparse_initializer[${sparseInitializers.length}]`, () => this.sparseTensorName()));
          return;
        default: this.skip(wire, field); // doc_string, value_info, quantization_annotation
      }
    });
    return { name, nodes, initializers, sparseInitializers, inputs, outputs, byteOffset: start };
  }

  private node(index: number): OnnxNode {
    const r = this.r;
    const start = r.pos;
    let name = '';
    let opType = '';
    let domain = '';
    const inputs: string[] = [];
    const outputs: string[] = [];
    const attributes: OnnxAttribute[] = [];
    this.fields(r.len, (field, wire, at) => {
      switch (field) {
        case 1:
          this.cap(inputs.length, kOnnxLimits.nodeInputs, 'node inputs', at);
          inputs.push(this.string(wire, `input[${inputs.length}]`));
          return;
        case 2:
          this.cap(outputs.length, kOnnxLimits.nodeInputs, 'node outputs', at);
          outputs.push(this.string(wire, `output[${outputs.length}]`));
          return;
        case 3: name = this.string(wire, 'name'); return;
        case 4: opType = this.string(wire, 'op_type'); return;
        case 5:
          this.cap(attributes.length, kOnnxLimits.attributes, 'attributes', at);
          attributes.push(this.message(wire, `attribute[${attributes.length}]`, () => this.attribute()));
          return;
        case 7: domain = this.string(wire, 'domain'); return;
        default: this.skip(wire, field); // doc_string
      }
    });
    return { index, name, opType, domain, inputs, outputs, attributes, byteOffset: start };
  }

  private attribute(): OnnxAttribute {
    const r = this.r;
    const start = r.pos;
    let name = '';
    let type = 0;
    let f: number | undefined;
    let i: number | undefined;
    let s: Uint8Array | undefined;
    let t: OnnxTensor | undefined;
    let refAttrName: string | undefined;
    let stringCount = 0;
    const floats: number[] = [];
    const ints: number[] = [];
    const otherFields = new Set<string>();
    const kOther: Record<number, string> = { 6: 'g', 10: 'tensors', 11: 'graphs', 14: 'tp', 15: 'type_protos', 22: 'sparse_tensor', 23: 'sparse_tensors' };
    this.fields(r.len, (field, wire, at) => {
      switch (field) {
        case 1: name = this.string(wire, 'name'); return;
        case 2: this.expectWire(wire, kFixed32, 'f'); f = r.float(); return;
        case 3: i = this.int64(wire, 'i'); return;
        case 4: this.expectWire(wire, kLengthDelimited, 's'); s = r.bytes(); return;
        case 5: {
          if (t) this.fail('expected one t (tensor) field, found a second', at);
          const path = this.path();
          t = this.message(wire, 't', () => this.tensor(`${path}.t`));
          return;
        }
        case 7: this.floats(field, wire, floats, kOnnxLimits.attributeList, 'floats'); return;
        case 8: this.int64s(wire, ints, kOnnxLimits.attributeList, 'ints'); return;
        case 9:
          this.cap(stringCount, kOnnxLimits.attributeList, 'strings entries', at);
          this.expectWire(wire, kLengthDelimited, 'strings');
          r.skipType(wire);
          stringCount++;
          return;
        case 20: type = this.int32(wire, 'type'); return;
        case 21: refAttrName = this.string(wire, 'ref_attr_name'); return;
        default:
          // Graphs (the only recursive fields of onnx.proto) and the other complex values are
          // skipped by their length, never decoded: no LeNet op takes one.
          if (kOther[field] !== undefined) otherFields.add(kOther[field]!);
          this.skip(wire, field);
      }
    });
    return { name, type, f, i, s, t, floats, ints, stringCount, otherFields: [...otherFields], refAttrName, byteOffset: start };
  }

  private tensor(path: string): OnnxTensor {
    const r = this.r;
    const start = r.pos;
    let name = '';
    let dataType = 0;
    let rawData: Uint8Array | undefined;
    let rawDataOffset = 0;
    let dataLocation = 0;
    let hasSegment = false;
    const dims: number[] = [];
    const floatData: number[] = [];
    const int32Data: number[] = [];
    const int64Data: number[] = [];
    const doubleData: number[] = [];
    const otherData = new Set<string>();
    const externalData: (readonly [string, string])[] = [];
    this.fields(r.len, (field, wire, at) => {
      switch (field) {
        case 1: this.int64s(wire, dims, kOnnxLimits.dims, 'dims'); return;
        case 2: dataType = this.int32(wire, 'data_type'); return;
        case 3: hasSegment = true; this.skip(wire, field); return;
        case 4: this.floats(field, wire, floatData, Infinity, 'float_data'); return;
        case 5: this.int32s(field, wire, int32Data, 'int32_data'); return;
        case 6: otherData.add('string_data'); this.skip(wire, field); return;
        case 7: this.int64s(wire, int64Data, Infinity, 'int64_data'); return;
        case 8: name = this.string(wire, 'name'); return;
        case 9:
          this.expectWire(wire, kLengthDelimited, 'raw_data');
          rawData = r.bytes();
          rawDataOffset = r.pos - rawData.length;
          return;
        case 10: this.doubles(field, wire, doubleData, 'double_data'); return;
        case 11: otherData.add('uint64_data'); this.skip(wire, field); return;
        case 13:
          this.cap(externalData.length, kOnnxLimits.externalData, 'external_data entries', at);
          externalData.push(this.message(wire, `external_data[${externalData.length}]`, () => this.stringPair()));
          return;
        case 14: dataLocation = this.int32(wire, 'data_location'); return;
        default: this.skip(wire, field); // doc_string
      }
    });
    return {
      name, dims, dataType, rawData, rawDataOffset, floatData, int32Data, int64Data, doubleData,
      otherData: [...otherData], dataLocation, externalData, hasSegment, byteOffset: start, path,
    };
  }

  private sparseTensorName(): string {
    // SparseTensorProto.values (1) is a TensorProto whose name is the sparse tensor's name.
    let name = '';
    this.fields(this.r.len, (field, wire) => {
      if (field === 1) name = this.message(wire, 'values', () => this.tensor(`${this.path()}.values`)).name;
      else this.skip(wire, field);
    });
    return name;
  }

  private valueInfo(): OnnxValueInfo {
    const r = this.r;
    const start = r.pos;
    let name = '';
    let type: Pick<OnnxValueInfo, 'elemType' | 'shape' | 'typeKind'> = { elemType: undefined, shape: undefined, typeKind: 'none' };
    let seenType = false;
    this.fields(r.len, (field, wire, at) => {
      if (field === 1) name = this.string(wire, 'name');
      else if (field === 2) {
        if (seenType) this.fail('expected one type field, found a second', at);
        seenType = true;
        type = this.message(wire, 'type', () => this.typeProto());
      } else this.skip(wire, field); // doc_string
    });
    return { name, ...type, byteOffset: start };
  }

  private typeProto(): Pick<OnnxValueInfo, 'elemType' | 'shape' | 'typeKind'> {
    let result: Pick<OnnxValueInfo, 'elemType' | 'shape' | 'typeKind'> = { elemType: undefined, shape: undefined, typeKind: 'none' };
    this.fields(this.r.len, (field, wire, at) => {
      if (field === 1) {
        if (result.typeKind === 'tensor') this.fail('expected one tensor_type field, found a second', at);
        result = { ...this.message(wire, 'tensor_type', () => this.tensorType()), typeKind: 'tensor' };
      } else {
        // sequence_type, map_type, optional_type, sparse_tensor_type (recursive: never decoded).
        if ([4, 5, 8, 9].includes(field) && result.typeKind === 'none') result = { ...result, typeKind: 'other' };
        this.skip(wire, field);
      }
    });
    return result;
  }

  private tensorType(): { elemType: number | undefined; shape: OnnxDim[] | undefined } {
    let elemType: number | undefined;
    let shape: OnnxDim[] | undefined;
    this.fields(this.r.len, (field, wire, at) => {
      if (field === 1) elemType = this.int32(wire, 'elem_type');
      else if (field === 2) {
        if (shape) this.fail('expected one shape field, found a second', at);
        shape = this.message(wire, 'shape', () => this.shape());
      } else this.skip(wire, field);
    });
    return { elemType, shape };
  }

  private shape(): OnnxDim[] {
    const dims: OnnxDim[] = [];
    this.fields(this.r.len, (field, wire, at) => {
      if (field === 1) {
        this.cap(dims.length, kOnnxLimits.dims, 'dims', at);
        dims.push(this.message(wire, `dim[${dims.length}]`, () => this.dimension()));
      } else this.skip(wire, field);
    });
    return dims;
  }

  private dimension(): OnnxDim {
    let dim: OnnxDim;
    this.fields(this.r.len, (field, wire) => {
      if (field === 1) dim = this.int64(wire, 'dim_value');
      else if (field === 2) dim = this.string(wire, 'dim_param');
      else this.skip(wire, field); // denotation
    });
    return dim;
  }

  private opset(): OnnxOpset {
    let domain = '';
    let version = 0;
    this.fields(this.r.len, (field, wire) => {
      if (field === 1) domain = this.string(wire, 'domain');
      else if (field === 2) version = this.int64(wire, 'version');
      else this.skip(wire, field);
    });
    return { domain, version };
  }

  private stringPair(): readonly [string, string] {
    let key = '';
    let value = '';
    this.fields(this.r.len, (field, wire) => {
      if (field === 1) key = this.string(wire, 'key');
      else if (field === 2) value = this.string(wire, 'value');
      else this.skip(wire, field);
    });
    return [key, value];
  }

  // ---- wire-level helpers over protobufjs's Reader ----

  /** Reads fields until `end`, calling `each(fieldNumber, wireType, tagOffset)`. */
  private fields(end: number, each: (field: number, wire: number, at: number) => void): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 0) this.fail('expected a field number of at least 1, found 0 (not a protobuf message here)', at);
      if (wire === 4) this.fail(`field ${field}: expected a field, found an unmatched group end`, at);
      each(field, wire, at);
    }
    if (r.pos !== end) this.fail(`expected the message to end at byte ${end}, found its last field running to byte ${r.pos}`);
  }

  /** Decodes a length-delimited sub-message; reads inside it cannot pass its end. */
  private message<T>(wire: number, name: string, decode: () => T): T {
    const r = this.r;
    this.expectWire(wire, kLengthDelimited, name);
    const at = r.pos;
    this.stack.push(name);
    const length = r.size();
    const end = r.pos + length;
    if (end > r.len) {
      this.fail(`expected a length of at most ${r.len - r.pos} bytes (what is left of the enclosing message), found ${length}`, at);
    }
    const outer = r.len;
    r.len = end;
    const value = decode();
    r.len = outer;
    this.stack.pop();
    return value;
  }

  private expectWire(wire: number, expected: number, name: string): void {
    if (wire !== expected) {
      this.fail(`field '${name}': expected ${kWireNames[expected]} encoding, found ${kWireNames[wire]}`);
    }
  }

  private skip(wire: number, field: number): void {
    if (wire > kFixed32) this.fail(`field ${field}: expected a wire type 0, 1, 2, 3 or 5, found ${wire}`);
    this.r.skipType(wire, 0, field);
  }

  private cap(count: number, limit: number, what: string, at: number): void {
    if (count >= limit) this.fail(`expected at most ${limit} ${what}, found more`, at);
  }

  private string(wire: number, name: string): string {
    const r = this.r;
    this.expectWire(wire, kLengthDelimited, name);
    const at = r.pos;
    const length = r.size();
    r.pos = at;
    if (length > kOnnxLimits.string) this.fail(`field '${name}': expected a string of at most ${kOnnxLimits.string} bytes, found ${length}`, at);
    return r.string();
  }

  private int32(wire: number, name: string): number {
    this.expectWire(wire, kVarint, name);
    return this.r.int32();
  }

  private int64(wire: number, name: string): number {
    this.expectWire(wire, kVarint, name);
    return readInt64(this.r);
  }

  /** A repeated int64 field, packed (one length-delimited run) or not (one varint). */
  private int64s(wire: number, out: number[], limit: number, name: string): void {
    const r = this.r;
    if (wire === kVarint) {
      if (out.length >= limit) this.fail(`field '${name}': expected at most ${limit} values, found more`);
      out.push(readInt64(r));
      return;
    }
    this.expectWire(wire, kLengthDelimited, name);
    const end = this.packedEnd(name);
    while (r.pos < end) {
      if (out.length >= limit) this.fail(`field '${name}': expected at most ${limit} values, found more`);
      out.push(readInt64(r));
    }
    this.packedDone(end, name);
  }

  private int32s(field: number, wire: number, out: number[], name: string): void {
    const r = this.r;
    if (wire === kVarint) {
      const tagByte = oneByteTag(field, kVarint);
      do out.push(r.int32());
      while (r.pos < r.len && r.buf[r.pos] === tagByte && ++r.pos);
      return;
    }
    this.expectWire(wire, kLengthDelimited, name);
    const end = this.packedEnd(name);
    while (r.pos < end) out.push(r.int32());
    this.packedDone(end, name);
  }

  private floats(field: number, wire: number, out: number[], limit: number, name: string): void {
    const r = this.r;
    if (wire === kFixed32) {
      // Unpacked: one tagged value each. Runs of the same one-byte tag are read here, not one
      // field at a time: the run's whole values are counted first (at most a fifth of the bytes
      // present), then stored by index through one DataView (a Reader call and a push per value
      // took ~47 ns: 28 ms for the fuzz test's 600,000).
      const tagByte = oneByteTag(field, kFixed32);
      const first = r.pos;
      let count = 0;
      let end = first; // where the run's last whole value ends
      for (let at = first; at + 4 <= r.len; at += 5) {
        count++;
        end = at + 4;
        if (end >= r.len || r.buf[end] !== tagByte) break;
      }
      const room = limit - out.length;
      if (count > room) this.fail(`field '${name}': expected at most ${limit} values, found more`, first + 5 * room);
      const view = new DataView(r.buf.buffer, r.buf.byteOffset, r.buf.byteLength);
      const start = out.length;
      out.length = start + count;
      for (let i = 0; i < count; i++) out[start + i] = view.getFloat32(first + 5 * i, true);
      r.pos = end;
      // A value cut short by the end of the bytes: read by the Reader, which fails on it as it always has.
      if (count === 0 || (r.pos < r.len && r.buf[r.pos] === tagByte)) {
        if (count > 0) r.pos++;
        if (out.length >= limit) this.fail(`field '${name}': expected at most ${limit} values, found more`);
        out.push(r.float());
      }
      return;
    }
    this.expectWire(wire, kLengthDelimited, name);
    const at = r.pos;
    const length = r.size();
    if (length % 4 !== 0) this.fail(`field '${name}': expected packed 4-byte floats, found ${length} bytes`, at);
    if (out.length + length / 4 > limit) this.fail(`field '${name}': expected at most ${limit} values, found ${out.length + length / 4}`, at);
    r.pos = at;
    r.floats(out); // protobufjs checks the run against the bytes present before sizing anything
  }

  private doubles(field: number, wire: number, out: number[], name: string): void {
    const r = this.r;
    if (wire === kFixed64) {
      const tagByte = oneByteTag(field, kFixed64);
      do out.push(r.double());
      while (r.pos < r.len && r.buf[r.pos] === tagByte && ++r.pos);
      return;
    }
    this.expectWire(wire, kLengthDelimited, name);
    const at = r.pos;
    const length = r.size();
    if (length % 8 !== 0) this.fail(`field '${name}': expected packed 8-byte doubles, found ${length} bytes`, at);
    r.pos = at;
    r.doubles(out);
  }

  private packedEnd(name: string): number {
    const r = this.r;
    const at = r.pos;
    const length = r.size();
    const end = r.pos + length;
    if (end > r.len) this.fail(`field '${name}': expected a packed run of at most ${r.len - r.pos} bytes, found ${length}`, at);
    return end;
  }

  private packedDone(end: number, name: string): void {
    if (this.r.pos !== end) this.fail(`field '${name}': expected the packed run to end at byte ${end}, found its last value running to byte ${this.r.pos}`);
  }
}

/**
 * The one-byte encoding of a tag (fields 1 to 15): where the next field starts with this byte,
 * it is that field with that wire type, whatever the encoding of the tag before it. -1 (never a
 * byte) for larger field numbers.
 */
function oneByteTag(field: number, wire: number): number {
  return field < 16 ? (field << 3) | wire : -1;
}

/**
 * A varint int64 as a number: exact within ±2^53, and beyond that an approximation that is
 * never a safe integer (so callers refuse it). protobufjs's own int64() makes a Long object per
 * value, which a file of a million packed dims would pay for; this reads the two 32-bit halves
 * the same way, bounds-checked against the Reader's end.
 */
function readInt64(r: Reader): number {
  const buf = r.buf;
  const len = r.len;
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= len) {
      r.pos = pos;
      throw new RangeError(`index out of range: ${pos} + 1 > ${len}`);
    }
    const b = buf[pos++]!;
    if (i < 4) lo |= (b & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (b & 0x7f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (7 * i - 32);
    if (b < 0x80) {
      r.pos = pos;
      return (hi | 0) * 4294967296 + (lo >>> 0);
    }
  }
  r.pos = pos;
  throw new Error('invalid varint encoding: more than 10 bytes');
}

/**
 * The name of a TensorProto data type, for messages.
 *
 * @example
 * dataTypeName(10); // 'FLOAT16'
 */
export function dataTypeName(dataType: number): string {
  return kOnnxDataTypes[dataType] ?? `unknown data type ${dataType}`;
}

/** Where a tensor sits, for errors: its name, or its path when it has none. */
function tensorLabel(t: OnnxTensor): string {
  return t.name || t.path;
}

/**
 * The element count of a tensor from its dims, each checked (a non-negative safe integer) and
 * the product kept below 2^32 as it is formed, so no later size computed from it overflows.
 *
 * @example
 * tensorElementCount(initializer); // 150 for dims [6, 1, 5, 5]
 */
export function tensorElementCount(t: OnnxTensor): number {
  let count = 1;
  t.dims.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new WeightsFileError(`dims[${i}]: expected a non-negative integer, found ${d}`, { tensor: tensorLabel(t), byteOffset: t.byteOffset });
    }
    count *= d;
    if (count > 2 ** 32) {
      throw new WeightsFileError(
        `dims [${t.dims.join(', ')}]: expected at most 2^32 elements, found a product past ${2 ** 32} (an absurd shape)`,
        { tensor: tensorLabel(t), byteOffset: t.byteOffset },
      );
    }
  });
  return count;
}

/** Refuses tensors whose values are not in the file itself. */
function checkStoredInline(t: OnnxTensor): void {
  const where = { tensor: tensorLabel(t), byteOffset: t.byteOffset };
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    const location = t.externalData.find(([k]) => k === 'location')?.[1];
    throw new WeightsFileError(
      `expected the values inside the .onnx file, found them in an external file${location !== undefined ? ` ('${location.slice(0, 80)}')` : ''}: ` +
        're-export with the weights embedded (torch.onnx.export writes them inline below 2 GB; onnx.save_model(..., save_as_external_data=False))',
      where,
    );
  }
  if (t.dataLocation !== 0) throw new WeightsFileError(`data_location: expected DEFAULT (0) or EXTERNAL (1), found ${t.dataLocation}`, where);
  if (t.hasSegment) throw new WeightsFileError('expected a whole tensor, found a segment of one (TensorProto.segment)', where);
}

/** Which payload fields a tensor has, for 'expected X, found Y' messages. */
function payloadFields(t: OnnxTensor): string[] {
  const fields: string[] = [];
  if (t.rawData !== undefined) fields.push('raw_data');
  if (t.floatData.length) fields.push('float_data');
  if (t.int32Data.length) fields.push('int32_data');
  if (t.int64Data.length) fields.push('int64_data');
  if (t.doubleData.length) fields.push('double_data');
  return [...fields, ...t.otherData];
}

/**
 * A floating-point tensor's values as float32: FLOAT, FLOAT16, BFLOAT16 or DOUBLE, from
 * raw_data (little-endian) or the typed field ONNX defines for the type (float_data;
 * int32_data holding the 16 bits; double_data). The element count must equal the product of
 * the dims, checked before anything is allocated; every value must be finite in float32 (a
 * double beyond float32's range is refused, not made infinite). Throws WeightsFileError naming
 * the tensor.
 *
 * @example
 * floatTensorValues(initializer); // Float32Array of dims' product values
 */
export function floatTensorValues(t: OnnxTensor): Float32Array {
  checkStoredInline(t);
  const where = { tensor: tensorLabel(t), byteOffset: t.byteOffset };
  const size = { [kFloat]: 4, [kFloat16]: 2, [kBfloat16]: 2, [kDouble]: 8 }[t.dataType];
  if (size === undefined) {
    throw new WeightsFileError(`data_type: expected FLOAT, FLOAT16, BFLOAT16 or DOUBLE, found ${dataTypeName(t.dataType)}`, where);
  }
  const count = tensorElementCount(t);
  const typedField = t.dataType === kFloat ? 'float_data' : t.dataType === kDouble ? 'double_data' : 'int32_data';
  const fields = payloadFields(t);
  const shapeText = `dims [${t.dims.join(', ')}] (${count} elements)`;
  if (fields.length > 1 || (fields.length === 1 && fields[0] !== 'raw_data' && fields[0] !== typedField)) {
    throw new WeightsFileError(`expected the ${dataTypeName(t.dataType)} values in raw_data or ${typedField}, found ${fields.join(' and ')}`, where);
  }
  let values: Float32Array;
  let offsetOf: (i: number) => number;
  if (t.rawData !== undefined) {
    const raw = t.rawData;
    if (raw.length !== count * size) {
      throw new WeightsFileError(
        `${shapeText} × ${size} bytes = ${count * size} bytes disagrees with raw_data: expected ${count * size} bytes, found ${raw.length}`,
        { tensor: tensorLabel(t), byteOffset: t.rawDataOffset },
      );
    }
    values = size === 4 ? readFloat32(raw) : size === 2 ? (t.dataType === kFloat16 ? readFloat16(raw) : readBfloat16(raw)) : readFloat64(raw);
    offsetOf = (i) => t.rawDataOffset + i * size;
  } else {
    const typed = t.dataType === kFloat ? t.floatData : t.dataType === kDouble ? t.doubleData : t.int32Data;
    if (typed.length !== count) {
      throw new WeightsFileError(`${shapeText} disagrees with ${typedField}: expected ${count} values, found ${typed.length}`, where);
    }
    if (size === 2) {
      const bad = typed.findIndex((v) => v < 0 || v > 0xffff);
      if (bad >= 0) throw new WeightsFileError(`${typedField}[${bad}]: expected 16-bit ${dataTypeName(t.dataType)} bits (0 to 65535), found ${typed[bad]}`, where);
      const bytes = new Uint8Array(count * 2);
      typed.forEach((v, i) => {
        bytes[2 * i] = v & 0xff;
        bytes[2 * i + 1] = v >>> 8;
      });
      values = t.dataType === kFloat16 ? readFloat16(bytes) : readBfloat16(bytes);
    } else values = Float32Array.from(typed);
    offsetOf = () => t.byteOffset;
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      const original = t.dataType === kDouble ? ` (${t.rawData !== undefined ? 'the double' : t.doubleData[i]} beyond float32's range, or not finite)` : '';
      throw new WeightsFileError(`element ${i} (of ${count}): expected a finite value, found ${values[i]}${original}`, {
        tensor: tensorLabel(t),
        byteOffset: offsetOf(i),
      });
    }
  }
  return values;
}

/**
 * An integer tensor's values (INT64 or INT32, raw_data or the typed field), for the small
 * constants a graph computes shapes from: at most `maxCount` elements, each a safe integer.
 *
 * @example
 * intTensorValues(constantNodeValue, 8); // [0, 0, 0, 0, 0, 0, 0, 0]
 */
export function intTensorValues(t: OnnxTensor, maxCount: number): number[] {
  checkStoredInline(t);
  const where = { tensor: tensorLabel(t), byteOffset: t.byteOffset };
  if (t.dataType !== kInt64 && t.dataType !== kInt32) {
    throw new WeightsFileError(`data_type: expected INT64 or INT32, found ${dataTypeName(t.dataType)}`, where);
  }
  const count = tensorElementCount(t);
  if (count > maxCount) throw new WeightsFileError(`expected at most ${maxCount} integers here, found dims [${t.dims.join(', ')}]`, where);
  const size = t.dataType === kInt64 ? 8 : 4;
  const typed = t.dataType === kInt64 ? t.int64Data : t.int32Data;
  const typedField = t.dataType === kInt64 ? 'int64_data' : 'int32_data';
  const fields = payloadFields(t);
  if (fields.length > 1 || (fields.length === 1 && fields[0] !== 'raw_data' && fields[0] !== typedField)) {
    throw new WeightsFileError(`expected the ${dataTypeName(t.dataType)} values in raw_data or ${typedField}, found ${fields.join(' and ')}`, where);
  }
  if (t.rawData === undefined) {
    if (typed.length !== count) throw new WeightsFileError(`dims [${t.dims.join(', ')}] disagree with ${typedField}: expected ${count} values, found ${typed.length}`, where);
    const bad = typed.findIndex((v) => !Number.isSafeInteger(v));
    if (bad >= 0) throw new WeightsFileError(`${typedField}[${bad}]: expected an integer within ±2^53, found ${typed[bad]}`, where);
    return [...typed];
  }
  const raw = t.rawData;
  if (raw.length !== count * size) {
    throw new WeightsFileError(`dims [${t.dims.join(', ')}] × ${size} bytes disagree with raw_data: expected ${count * size} bytes, found ${raw.length}`, {
      tensor: tensorLabel(t),
      byteOffset: t.rawDataOffset,
    });
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: count }, (_, i) => {
    if (size === 4) return view.getInt32(4 * i, true);
    const value = view.getInt32(8 * i + 4, true) * 4294967296 + view.getUint32(8 * i, true);
    if (!Number.isSafeInteger(value)) {
      throw new WeightsFileError(`element ${i}: expected an integer within ±2^53, found ${view.getBigInt64(8 * i, true)}`, {
        tensor: tensorLabel(t),
        byteOffset: t.rawDataOffset + 8 * i,
      });
    }
    return value;
  });
}

/**
 * A BOOL tensor's single value (Dropout's training_mode).
 *
 * @example
 * boolScalar(trainingMode); // false
 */
export function boolScalar(t: OnnxTensor): boolean {
  checkStoredInline(t);
  const where = { tensor: tensorLabel(t), byteOffset: t.byteOffset };
  if (t.dataType !== kBool) throw new WeightsFileError(`data_type: expected BOOL, found ${dataTypeName(t.dataType)}`, where);
  if (tensorElementCount(t) !== 1) throw new WeightsFileError(`expected one value, found dims [${t.dims.join(', ')}]`, where);
  const value = t.rawData !== undefined ? (t.rawData.length === 1 ? t.rawData[0] : undefined) : t.int32Data.length === 1 ? t.int32Data[0] : undefined;
  if (value === undefined) throw new WeightsFileError(`expected one BOOL value in raw_data (1 byte) or int32_data, found ${payloadFields(t).join(' and ') || 'none'}`, where);
  return value !== 0;
}

function readBfloat16(bytes: Uint8Array): Float32Array {
  const count = bytes.length / 2;
  const bits = new Uint32Array(count);
  for (let i = 0; i < count; i++) bits[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16;
  return new Float32Array(bits.buffer);
}

function readFloat64(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(8 * i, true));
}
