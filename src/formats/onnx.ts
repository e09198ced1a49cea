/**
 * The ONNX reader: a `.onnx` file as `torch.onnx.export` writes it (opsets 9 onward, dynamic
 * or fixed batch) becomes the LeNet-family architecture its graph computes and the weights its
 * layers use.
 *
 * Two steps, two files: onnx-proto.ts decodes the protobuf (protobufjs's Reader, the onnx.proto
 * messages written out; every length checked against the bytes present, every repeated field
 * capped), onnx-graph.ts maps the graph to the family (which ops, which attributes, which
 * tensors, in the engine's layout). Errors: a file that is not well-formed ONNX, or whose
 * tensors disagree with their dims, is a WeightsFileError (with the byte offset and tensor);
 * a valid ONNX graph that is not a LeNet the engine runs is a ModelMismatchError naming the
 * node, its index and op type, and what the engine supports.
 */
import { Reader } from 'protobufjs/minimal.js';
import { WeightsFileError } from '../errors.js';
import { mapOnnxGraph } from './onnx-graph.js';
import { decodeOnnxModel, type OnnxModel } from './onnx-proto.js';
import type { WeightsFileContents } from './types.js';

export { kSupportedOnnxOps } from './onnx-graph.js';

/** The oldest default-domain opset read: Gemm, Dropout and the pools took their present form in 7. */
export const kMinOnnxOpset = 7;

/**
 * Reads an ONNX model. `architecture` is what the graph computes (input size from the graph
 * input's H; layers from its nodes); `tensors` are the initializers the layers use, float32,
 * in the engine's layout (conv weights [out, in, 5, 5]; dense weights [out, in], transposed
 * from Gemm's transB = 0 or MatMul's [in, out]; a conv over its whole input kept [out, c, 5, 5];
 * absent biases as zeros), named as PyTorch's state_dict names them where the file keeps those
 * names (`conv1.weight`), else `<layer>.weight` / `<layer>.bias`. `metadata` holds the model's
 * metadata_props and `onnx.producer`, `onnx.opset`, `onnx.ir_version` (and `onnx.graph`,
 * `onnx.domain`, `onnx.model_version` when set); the onnx.* keys are the file's own fields and
 * win over a metadata_props entry of the same key.
 *
 * Throws WeightsFileError for a file that is not well-formed ONNX, ModelMismatchError for a
 * graph outside the LeNet family.
 *
 * @example
 * const contents = readOnnx(new Uint8Array(await (await fetch('lenet.onnx')).arrayBuffer()));
 * contents.architecture?.layers[0]; // { type: 'conv', name: 'conv1', outChannels: 6, padding: 2, ... }
 * contents.metadata['onnx.producer']; // 'pytorch 1.13.1'
 */
export function readOnnx(bytes: Uint8Array): WeightsFileContents {
  if (bytes.length === 0) throw new WeightsFileError('expected an ONNX model (a protobuf ModelProto), found an empty file', { byteOffset: 0 });
  const model = decodeOnnxModel(bytes);
  const opset = defaultOpset(model);
  if (!model.graph) throw new WeightsFileError('expected a ModelProto with a graph (field 7), found none: not an ONNX model', { byteOffset: 0 });
  const { architecture, tensors } = mapOnnxGraph(model.graph, opset);
  return { format: 'onnx', tensors, metadata: metadataOf(model, opset), architecture };
}

/** The default domain's opset version; a model must import it. */
function defaultOpset(model: OnnxModel): number {
  const entries = model.opsetImports.filter((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (entries.length !== 1) {
    throw new WeightsFileError(
      `opset_import: expected one entry for the default domain (ai.onnx), found ${entries.length}` +
        (model.opsetImports.length ? ` among [${model.opsetImports.map((o) => `'${o.domain.slice(0, 40)}' ${o.version}`).join(', ')}]` : ''),
      { byteOffset: 0 },
    );
  }
  const version = entries[0]!.version;
  if (!Number.isSafeInteger(version) || version < kMinOnnxOpset || version > 1000) {
    throw new WeightsFileError(`opset_import: expected an ai.onnx opset version of ${kMinOnnxOpset} or later, found ${version}`, { byteOffset: 0 });
  }
  return version;
}

function metadataOf(model: OnnxModel, opset: number): Record<string, string> {
  const own: [string, string][] = [
    ['onnx.producer', `${model.producerName} ${model.producerVersion}`.trim()],
    ['onnx.opset', String(opset)],
    ['onnx.ir_version', model.irVersion === undefined ? '' : String(model.irVersion)],
    ['onnx.graph', model.graph?.name ?? ''],
    ['onnx.domain', model.domain],
    ['onnx.model_version', model.modelVersion === undefined || model.modelVersion === 0 ? '' : String(model.modelVersion)],
  ];
  // fromEntries defines own properties: a '__proto__' key is just a key. Later entries win.
  return Object.fromEntries([...model.metadataProps, ...own.filter(([, v]) => v !== '')]);
}

/** ModelProto's fields (onnx.proto) and their wire types. */
const kModelFields: Readonly<Record<number, number>> = { 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2 };

/**
 * Whether the bytes start like an ONNX model: a protobuf whose first fields are ModelProto's
 * (ir_version first, as every ONNX writer puts it, with a plausible value), read as far as
 * they go. Cheap (at most 16 fields, each skipped by length) and never throws. A truncated
 * ONNX file still looks like one, so that readOnnx can say what is wrong with it.
 *
 * @example
 * looksLikeOnnx(bytes) ? readOnnx(bytes) : readSafetensors(bytes);
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  // ir_version (field 1, varint): tag 0x08, then a version from 1 to 127 in one byte.
  if (bytes.length < 2 || bytes[0] !== 0x08 || bytes[1]! < 1 || bytes[1]! > 0x7f) return false;
  const reader = new Reader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    for (let fields = 0; fields < 16 && reader.pos < reader.len; fields++) {
      const tag = reader.tag();
      const wire = kModelFields[tag >>> 3];
      if (wire === undefined || wire !== (tag & 7)) return false;
      if (wire === 0) reader.skip();
      else {
        const length = reader.uint32();
        if (reader.pos + length > reader.len) return true; // truncated inside a field: still ONNX-shaped
        reader.skip(length);
      }
    }
    return true;
  } catch {
    return reader.pos >= reader.len; // a varint cut by the end of the file
  }
}
