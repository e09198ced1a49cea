/**
 * Reading one ONNX node for the graph mapper and the rewriter: its attributes (checked against
 * what its op may have, as onnx's checker checks them), how it is named in messages, and the
 * errors that name it. A value a node computes is a `Dim` list where it is a shape: a known
 * size, or the graph's symbolic batch.
 */
import { ModelMismatchError, WeightsFileError } from '../errors.js';
import type { OnnxAttribute, OnnxNode, OnnxTensor } from './onnx-proto.js';

/** What the engine supports, for error messages. */
export const kSupportedOnnxOps =
  'Conv (5×5, stride 1, dilation 1, group 1, padding 0–2 or auto_pad), Relu, Sigmoid, Tanh, the scaled tanh ' +
  '(Mul by 2/3, Tanh, Mul by 1.7159), AveragePool and MaxPool (2×2, stride 2, no padding, floor), a Pad of zeros, ' +
  'BatchNormalization (inference), Transpose (NHWC input to NCHW, and back before the flatten), ' +
  'Flatten or a Reshape that flattens (with the Shape, Gather, Unsqueeze, Squeeze, Concat, Mul, Cast and Constant ' +
  'nodes that compute its shape), Gemm, MatMul (+ Add of a bias), Softmax or LogSoftmax at the end, Dropout ' +
  '(inference), Identity';

/** A dimension: a known size, or the graph's symbolic batch size. */
export type Dim = number | 'N';

export type AttributeKind = 'int' | 'ints' | 'float' | 'floats' | 'string' | 'tensor';
const kAttributeTypes: Record<AttributeKind, { code: number; name: string }> = {
  float: { code: 1, name: 'FLOAT' }, int: { code: 2, name: 'INT' }, string: { code: 3, name: 'STRING' },
  tensor: { code: 4, name: 'TENSOR' }, floats: { code: 6, name: 'FLOATS' }, ints: { code: 7, name: 'INTS' },
};

/** The value fields an attribute has set, by the kind they hold. */
function valueFields(a: OnnxAttribute): string[] {
  const fields: string[] = [];
  if (a.f !== undefined) fields.push('float');
  if (a.i !== undefined) fields.push('int');
  if (a.s !== undefined) fields.push('string');
  if (a.t !== undefined) fields.push('tensor');
  if (a.floats.length) fields.push('floats');
  if (a.ints.length) fields.push('ints');
  if (a.stringCount) fields.push('strings');
  return [...fields, ...a.otherFields];
}

export interface Attributes<K extends string> {
  int(name: K): number | undefined;
  ints(name: K): readonly number[] | undefined;
  float(name: K): number | undefined;
  floats(name: K): readonly number[] | undefined;
  string(name: K): string | undefined;
  tensor(name: K): OnnxTensor | undefined;
}

/**
 * The node's attributes, checked against what the op may have (unknown ones, duplicates, a
 * value of the wrong type or in the wrong field are errors), with typed getters.
 *
 * @example
 * const attrs = readAttributes(node, { axis: 'int' });
 * const axis = attrs.int('axis') ?? 1;
 */
export function readAttributes<K extends string>(node: OnnxNode, allowed: Readonly<Record<K, AttributeKind>>): Attributes<K> {
  const byName = new Map<string, OnnxAttribute>();
  for (const attribute of node.attributes) {
    const kind = (allowed as Record<string, AttributeKind>)[attribute.name];
    if (kind === undefined) {
      const expected = Object.keys(allowed);
      throw mismatchAt(node, `expected ${expected.length ? `only the attributes ${expected.join(', ')}` : 'no attributes'}, found '${clip(attribute.name)}'`);
    }
    if (byName.has(attribute.name)) throw new WeightsFileError(`${describeNode(node)}: expected attribute '${clip(attribute.name)}' once, found it twice`, { byteOffset: attribute.byteOffset });
    if (attribute.refAttrName !== undefined) throw mismatchAt(node, `attribute '${attribute.name}': expected a value, found a reference to a function's attribute '${clip(attribute.refAttrName)}'`);
    const type = kAttributeTypes[kind];
    if (attribute.type !== 0 && attribute.type !== type.code) {
      throw new WeightsFileError(`${describeNode(node)}: attribute '${attribute.name}': expected type ${type.name}, found type ${attribute.type}`, { byteOffset: attribute.byteOffset });
    }
    // As onnx's checker requires: one value field, the one the type says.
    const fields = valueFields(attribute);
    if (fields.length > 1 || (fields.length === 1 && fields[0] !== kind)) {
      throw new WeightsFileError(`${describeNode(node)}: attribute '${attribute.name}': expected one ${type.name} value, found the value fields ${fields.join(', ')}`, { byteOffset: attribute.byteOffset });
    }
    byName.set(attribute.name, attribute);
  }
  const get = (name: string, kind: AttributeKind): OnnxAttribute | undefined => {
    const attribute = byName.get(name);
    if (!attribute) return undefined;
    const present = kind === 'int' ? attribute.i !== undefined : kind === 'float' ? attribute.f !== undefined
      : kind === 'string' ? attribute.s !== undefined : kind === 'tensor' ? attribute.t !== undefined : true;
    if (!present) throw new WeightsFileError(`${describeNode(node)}: attribute '${name}': expected a ${kAttributeTypes[kind].name} value, found none`, { byteOffset: attribute.byteOffset });
    return attribute;
  };
  return {
    int: (name) => {
      const value = get(name, 'int')?.i;
      if (value !== undefined && !Number.isSafeInteger(value)) throw mismatchAt(node, `attribute '${name}': expected an integer, found ${value}`);
      return value;
    },
    ints: (name) => {
      const attribute = get(name, 'ints');
      if (!attribute) return undefined;
      if (attribute.ints.some((v) => !Number.isSafeInteger(v))) throw mismatchAt(node, `attribute '${name}': expected integers, found [${attribute.ints.join(', ')}]`);
      return attribute.ints;
    },
    float: (name) => get(name, 'float')?.f,
    floats: (name) => get(name, 'floats')?.floats,
    string: (name) => {
      const bytes = get(name, 'string')?.s;
      return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
    },
    tensor: (name) => get(name, 'tensor')?.t,
  };
}

/** A ModelMismatchError naming the node: a valid graph the engine does not run. */
export function mismatchAt(node: OnnxNode, message: string): ModelMismatchError {
  return new ModelMismatchError(`${describeNode(node)}: ${message}`);
}

/** `found` says what the node is; the message adds what the engine supports. */
export function unsupportedAt(node: OnnxNode, found: string): ModelMismatchError {
  return new ModelMismatchError(`${describeNode(node)}: found ${found}; expected a LeNet-family graph, of the operators the engine supports: ${kSupportedOnnxOps}`);
}

export function shapeText(shape: readonly (Dim | number)[]): string {
  return `[${shape.map((d) => (d === 'N' ? 'batch' : String(d))).join(', ')}]`;
}

/** Names in messages are clipped: a hostile file may name a node with 64 KiB. */
export function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

export function describeNode(node: OnnxNode): string {
  return `node ${node.index}${node.name ? ` '${clip(node.name)}'` : ''} (${clip(node.opType) || 'no op_type'})`;
}
