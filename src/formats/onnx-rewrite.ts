/**
 * Graph rewriting for the ONNX mapper (onnx-graph.ts): what is computed from constants and
 * shapes rather than run, and how a tensor's layout is changed so the engine's layers can take
 * it as it is. The mapper walks the chain of layers; whatever it meets that is not a layer
 * comes here:
 *
 * - constant folding: Constant nodes, and the Shape → Gather → Unsqueeze → Concat (Squeeze,
 *   Mul, Cast) computations exporters write for a Reshape's target, evaluated with the batch
 *   as a symbol (`ConstantFolder`);
 * - reshapes decided by ONNX's rules (`resolveReshape`, `flattened`);
 * - transposes folded into weights: a dense weight stored [in, out] (`transpose`), and the
 *   channels-last flatten of an NHWC graph (a Transpose to NHWC before the Reshape, as tf2onnx
 *   writes a Keras Flatten) folded into the first dense layer's columns (`channelsLastColumns`),
 *   so the engine still flattens NCHW;
 * - batch normalization (`batchNormTensors`): a BatchNormalization node's four [C] inputs,
 *   checked, become a `batchnorm` layer's tensors; folding it into the conv or dense layer
 *   before it, where exact, is the model's (src/model/fold.ts), as for a state_dict.
 */
import { dataTypeName, intTensorValues, kFloat, kInt64, type OnnxNode, type OnnxTensor } from './onnx-proto.js';
import { clip, describeNode, mismatchAt, readAttributes, unsupportedAt, type Dim } from './onnx-node.js';

/** Largest integer tensor read as a shape or pad list. */
export const kMaxShapeValues = 64;

/** A value a node can read. */
export type Value =
  /** A tensor of the chain: the current one, or an earlier one (stale: only its shape may be read). */
  | { readonly kind: 'data'; readonly shape: readonly Dim[]; readonly stale: boolean }
  /** An initializer or a Constant node's value. */
  | { readonly kind: 'const'; readonly tensor: OnnxTensor }
  /** An integer scalar (rank 0) or vector (rank 1) computed from shapes: what Shape → Gather → … make. */
  | { readonly kind: 'ints'; readonly values: readonly Dim[]; readonly rank: 0 | 1 }
  /** An output no supported consumer may read (MaxPool's indices, Dropout's mask). */
  | { readonly kind: 'unusable'; readonly why: string };

/**
 * Folds constants and shape computations. `read(node, i)` is the mapper's: the value of the
 * node's input i (an error if no earlier node or initializer defines it).
 *
 * @example
 * const folder = new ConstantFolder((node, i) => values.get(node.inputs[i]!)!);
 * values.set(node.outputs[0]!, folder.fold(node, inputs));
 */
export class ConstantFolder {
  constructor(private readonly read: (node: OnnxNode, index: number) => Value) {}

  /**
   * The value of a node that does not read the chain: a Constant, or a step of a shape
   * computation (Shape of the chain's tensor, then Gather, Unsqueeze, Squeeze, Concat, Mul,
   * Cast), evaluated with the batch as a symbol. `inputs` are the node's inputs as read.
   */
  fold(node: OnnxNode, inputs: ReadonlyArray<Value | undefined>): Value {
    const set = (value: Value): Value => value;
    const ints = (i: number) => this.ints(node, i);
    switch (node.opType) {
      case 'Constant': return set({ kind: 'const', tensor: this.constantValue(node) });
      case 'Identity': {
        readAttributes(node, {});
        const value = inputs[0];
        if (!value) throw mismatchAt(node, 'expected one input, found none');
        return set(value);
      }
      case 'Shape': {
        const attrs = readAttributes(node, { start: 'int', end: 'int' });
        const value = inputs[0];
        if (!value || value.kind !== 'data') throw unsupportedAt(node, 'the Shape of a constant (the engine computes shapes of the chain\'s tensors only)');
        const rank = value.shape.length;
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
        return set({ kind: 'ints', values: value.shape.slice(clamp(attrs.int('start') ?? 0), clamp(attrs.int('end') ?? rank)), rank: 1 });
      }
      case 'Gather': {
        const attrs = readAttributes(node, { axis: 'int' });
        const source = this.intsValue(node, 0);
        const indices = this.intsValue(node, 1);
        if ((attrs.int('axis') ?? 0) !== 0 || source.rank !== 1) throw unsupportedAt(node, 'a Gather other than from a shape vector along axis 0');
        const picked = indices.values.map((i) => {
          const index = typeof i === 'number' && i < 0 ? i + source.values.length : i;
          if (typeof index !== 'number' || index < 0 || index >= source.values.length) {
            throw mismatchAt(node, `expected an index into the ${source.values.length} dimensions gathered from, found index ${i}`);
          }
          return source.values[index]!;
        });
        return set({ kind: 'ints', values: picked, rank: indices.rank });
      }
      case 'Unsqueeze': {
        const attrs = readAttributes(node, { axes: 'ints' });
        const value = this.intsValue(node, 0);
        const axes = attrs.ints('axes') ?? (node.inputs.length > 1 ? ints(1) : undefined);
        if (value.rank !== 0 || !axes || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) throw unsupportedAt(node, 'an Unsqueeze other than of a scalar to a vector');
        return set({ kind: 'ints', values: value.values, rank: 1 });
      }
      case 'Squeeze': {
        const attrs = readAttributes(node, { axes: 'ints' });
        const value = this.intsValue(node, 0);
        const axes = attrs.ints('axes') ?? (node.inputs.length > 1 ? ints(1) : [0]);
        if (value.rank !== 1 || value.values.length !== 1 || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) throw unsupportedAt(node, 'a Squeeze other than of a one-element vector to a scalar');
        return set({ kind: 'ints', values: value.values, rank: 0 });
      }
      case 'Concat': {
        const attrs = readAttributes(node, { axis: 'int' });
        const parts = node.inputs.map((_, i) => this.intsValue(node, i));
        if ((attrs.int('axis') ?? 0) !== 0 && attrs.int('axis') !== -1) throw unsupportedAt(node, 'a Concat along an axis other than 0');
        if (parts.some((p) => p.rank !== 1)) throw unsupportedAt(node, 'a Concat of scalars (shapes are vectors)');
        const values = parts.flatMap((p) => p.values);
        if (values.length > kMaxShapeValues) throw mismatchAt(node, `expected a shape of at most ${kMaxShapeValues} values, found ${values.length}`);
        return set({ kind: 'ints', values, rank: 1 });
      }
      case 'Mul': {
        readAttributes(node, {});
        const [a, b] = [this.intsValue(node, 0), this.intsValue(node, 1)];
        const n = Math.max(a.values.length, b.values.length);
        if (node.inputs.length !== 2 || (a.values.length !== n && a.values.length !== 1) || (b.values.length !== n && b.values.length !== 1)) {
          throw unsupportedAt(node, 'a Mul of shapes that do not broadcast');
        }
        const values = Array.from({ length: n }, (_, i) => {
          const x = a.values[a.values.length === 1 ? 0 : i]!;
          const y = b.values[b.values.length === 1 ? 0 : i]!;
          if (x === 'N' || y === 'N') throw unsupportedAt(node, 'a multiplication of the batch size (the engine supports only a flatten, to [batch, features])');
          const product = x * y;
          if (!Number.isSafeInteger(product)) throw mismatchAt(node, `expected a size, found the absurd product ${x} × ${y}`);
          return product;
        });
        return set({ kind: 'ints', values, rank: a.rank === 1 || b.rank === 1 ? 1 : 0 });
      }
      case 'Cast': {
        const attrs = readAttributes(node, { to: 'int', saturate: 'int' });
        const to = attrs.int('to');
        if (to !== kInt64 && to !== 6) throw unsupportedAt(node, `a Cast to ${dataTypeName(to ?? 0)} outside the chain (the engine casts only shapes, to INT64 or INT32)`);
        return set({ kind: 'ints', ...this.intsValue(node, 0) });
      }
      default:
        throw unsupportedAt(node, inputs.some((v) => v !== undefined)
          ? 'an operator the engine does not run (it reads no tensor of the chain, and is not a shape computation the engine understands)'
          : 'an operator the engine does not run');
    }
  }

  /** A Constant node's value as a tensor (value, value_float(s), value_int(s)). */
  constantValue(node: OnnxNode): OnnxTensor {
    const attrs = readAttributes(node, { value: 'tensor', value_float: 'float', value_floats: 'floats', value_int: 'int', value_ints: 'ints' });
    if (node.attributes.length !== 1) throw mismatchAt(node, `expected exactly one value attribute, found ${node.attributes.length}`);
    const base = {
      name: node.outputs[0]!, rawData: undefined, rawDataOffset: 0, floatData: [], int32Data: [], int64Data: [], doubleData: [],
      otherData: [], dataLocation: 0, externalData: [], hasSegment: false, byteOffset: node.byteOffset, path: `${describeNode(node)} value`,
    };
    const tensor = attrs.tensor('value');
    if (tensor) return { ...tensor, name: node.outputs[0]! };
    const f = attrs.float('value_float');
    if (f !== undefined) return { ...base, dims: [], dataType: kFloat, floatData: [f] };
    const floats = attrs.floats('value_floats');
    if (floats) return { ...base, dims: [floats.length], dataType: kFloat, floatData: floats };
    const i = attrs.int('value_int');
    if (i !== undefined) return { ...base, dims: [], dataType: kInt64, int64Data: [i] };
    const list = attrs.ints('value_ints')!;
    return { ...base, dims: [list.length], dataType: kInt64, int64Data: list };
  }

  /** An input that is a list of known integers (a constant, or a computed shape without the batch symbol). */
  ints(node: OnnxNode, index: number): number[] {
    const value = this.intsValue(node, index);
    return value.values.map((v) => (v === 'N' ? -1 : v));
  }

  intsValue(node: OnnxNode, index: number): { values: readonly Dim[]; rank: 0 | 1 } {
    if (index >= node.inputs.length || node.inputs[index] === '') throw mismatchAt(node, `expected an input ${index}, found none`);
    const value = this.read(node, index);
    if (value.kind === 'ints') return value;
    if (value.kind === 'const') {
      const rank = value.tensor.dims.length;
      if (rank > 1) throw mismatchAt(node, `input ${index} '${clip(node.inputs[index]!)}': expected an integer scalar or vector, found dims [${value.tensor.dims.join(', ')}]`);
      return { values: intTensorValues(value.tensor, kMaxShapeValues), rank: rank as 0 | 1 };
    }
    throw mismatchAt(node, `input ${index} '${clip(node.inputs[index]!)}': expected a constant or a shape computed from the chain, found ${value.kind === 'data' ? 'a tensor of the chain' : 'an unusable output'}`);
  }
}

/** [batch, c, h, w] → [batch, c·h·w]; a [batch, f] stays. */
export function flattened(shape: readonly Dim[]): Dim[] {
  if (shape.length <= 2) return [...shape];
  return [shape[0]!, shape.slice(1).reduce<number>((a, b) => a * (b as number), 1)];
}

/**
 * What a Reshape of `shape` to `target` gives, by ONNX's rules: 0 copies the input's dimension
 * (unless allowzero), one -1 takes what is left. The batch may be a symbol ('N', from a dynamic
 * batch axis): then the target must place it exactly once (as 'N', a 0 copying it, or a -1
 * with the rest accounted for). Undefined when the result is not a reshape this can decide.
 */
export function resolveReshape(shape: readonly Dim[], target: readonly Dim[], allowZero: boolean): Dim[] | undefined {
  const batch = shape[0]!;
  const rest = shape.slice(1).reduce<number>((a, b) => a * (b as number), 1);
  const out: Dim[] = [];
  for (const [i, d] of target.entries()) {
    const value = d === 0 && !allowZero ? shape[i] : d;
    if (value === undefined || (typeof value === 'number' && (value < -1 || value === 0))) return undefined;
    out.push(value);
  }
  if (out.filter((d) => d === -1).length > 1) return undefined;
  const inferred = out.includes(-1);
  const known = out.filter((d): d is number => d !== 'N' && d !== -1).reduce((a, b) => a * b, 1);
  if (batch === 'N') {
    const batchCount = out.filter((d) => d === 'N').length;
    if (batchCount > 1) return undefined;
    if (batchCount === 0) return inferred && known === rest ? out.map((d) => (d === -1 ? 'N' : d)) : undefined;
    if (!inferred) return known === rest ? out : undefined;
    return rest % known === 0 ? out.map((d) => (d === -1 ? rest / known : d)) : undefined;
  }
  const total = batch * rest;
  if (!inferred) return known === total ? out : undefined;
  return total % known === 0 ? out.map((d) => (d === -1 ? total / known : d)) : undefined;
}

export function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}


/**
 * A dense weight [out, C·H·W] whose columns follow a channels-last flatten (index (y·W + x)·C + c,
 * what a Keras Flatten of an NHWC map gives) reordered to the NCHW flatten the engine computes
 * (index c·H·W + y·W + x): the same layer, for the same map, flattened the engine's way.
 *
 * @example
 * channelsLastColumns(kerasDense, 120, 16, 5); // [120, 400], columns in NCHW order
 */
export function channelsLastColumns(weight: Float32Array, outFeatures: number, channels: number, size: number): Float32Array {
  const inFeatures = channels * size * size;
  const out = new Float32Array(weight.length);
  for (let o = 0; o < outFeatures; o++) {
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < size * size; p++) out[o * inFeatures + c * size * size + p] = weight[o * inFeatures + p * channels + c]!;
    }
  }
  return out;
}
