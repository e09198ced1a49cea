/**
 * An ONNX graph (decoded by onnx-proto.ts) mapped onto the LeNet family: the ArchitectureJson
 * it computes and the weights its layers use, in the engine's layout.
 *
 * The graph must be a chain from one float input [batch, 1, H, H] to one output. The nodes are
 * walked in their (topological) order, keeping the one tensor the chain is at ("the data") with
 * its shape, each node either
 * - a step of the chain: it reads the data and produces the next (Conv, an activation, a pool,
 *   a flatten, Gemm, MatMul, ...), mapped to a layer or dropped when it changes nothing the
 *   engine needs to know (a zero Pad, Identity, inference Dropout, a flatten, which is
 *   implicit and NCHW in the family); or
 * - a constant or shape computation: Constant, or the Shape → Gather → Unsqueeze → Concat
 *   nodes torch writes for `x.view(x.size(0), -1)`. These are evaluated symbolically (the batch
 *   is a symbol), so a Reshape is understood when its target is what a flatten gives.
 * Anything else (another op, a second consumer of a data tensor, an attribute with a value the
 * engine does not run) is a ModelMismatchError naming the node, its index and op type, and what
 * the engine supports. What is wrong with the file as ONNX (an input no node produced, a
 * tensor whose values disagree with its dims) is a WeightsFileError.
 */
import { ModelMismatchError, WeightsFileError } from '../errors.js';
import type { ArchitectureJson, LayerJson } from '../model/architecture.js';
import type { Activation } from '../model/spec.js';
import {
  boolScalar,
  dataTypeName,
  floatTensorValues,
  intTensorValues,
  kDouble,
  kFloat,
  kFloat16,
  kInt64,
  tensorElementCount,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxNode,
  type OnnxTensor,
} from './onnx-proto.js';
import type { RawTensor } from './types.js';

/** What the ONNX reader maps a graph to. */
export interface MappedOnnxGraph {
  readonly architecture: ArchitectureJson;
  /** The weights the layers name, float32, in the engine's layout (dense weights [out, in]). */
  readonly tensors: Map<string, RawTensor>;
}

/** What the engine supports, for error messages. */
export const kSupportedOnnxOps =
  'Conv (5×5, stride 1, dilation 1, group 1, padding 0–2), Relu, Sigmoid, Tanh, the scaled tanh ' +
  '(Mul by 2/3, Tanh, Mul by 1.7159), AveragePool and MaxPool (2×2, stride 2, no padding, floor), a Pad of zeros, ' +
  'Flatten or a Reshape that flattens (with the Shape, Gather, Unsqueeze, Squeeze, Concat, Mul, Cast and Constant ' +
  'nodes that compute its shape), Gemm, MatMul (+ Add of a bias), Softmax or LogSoftmax at the end, Dropout ' +
  '(inference), Identity';

/** The scaled tanh's constants (LeCun 1998): A·tanh(S·x); float32 roundings accepted. */
const kScaledTanhS = 2 / 3;
const kScaledTanhA = 1.7159;
const kConstantTolerance = 1e-6;
/** Largest integer tensor read as a shape or pad list. */
const kMaxShapeValues = 64;

/** A dimension: a known size, or the graph's symbolic batch size. */
type Dim = number | 'N';

/** A value a node can read. */
type Value =
  /** A tensor of the chain: the current one, or an earlier one (stale: only its shape may be read). */
  | { readonly kind: 'data'; readonly shape: readonly Dim[]; readonly stale: boolean }
  /** An initializer or a Constant node's value. */
  | { readonly kind: 'const'; readonly tensor: OnnxTensor }
  /** An integer scalar (rank 0) or vector (rank 1) computed from shapes: what Shape → Gather → … make. */
  | { readonly kind: 'ints'; readonly values: readonly Dim[]; readonly rank: 0 | 1 }
  /** An output no supported consumer may read (MaxPool's indices, Dropout's mask). */
  | { readonly kind: 'unusable'; readonly why: string };

/** A dense layer whose bias an Add right after it may still supply (MatMul + Add). */
interface OpenDense {
  readonly name: string;
  readonly biasKey: string;
  readonly outFeatures: number;
}

/**
 * Maps a decoded ONNX graph to the family. `opset` is the default domain's version (it decides
 * Softmax's default axis).
 *
 * @example
 * const { architecture, tensors } = mapOnnxGraph(model.graph!, 13);
 * architecture.layers[0]; // { type: 'conv', name: 'conv1', outChannels: 6, padding: 2, ... }
 */
export function mapOnnxGraph(graph: OnnxGraph, opset: number): MappedOnnxGraph {
  return new GraphMapper(graph, opset).map();
}

class GraphMapper {
  private readonly values = new Map<string, Value>();
  private readonly layers: LayerJson[] = [];
  private readonly tensors = new Map<string, RawTensor>();
  private readonly layerNames = new Set<string>();
  private readonly counts = { conv: 0, pool: 0, fc: 0 };
  /** The chain's current tensor. */
  private data = '';
  private inputSize = 0;
  /** Whether the last layer already has its activation. */
  private activated = false;
  private openDense: OpenDense | undefined;
  /** Progress through Mul(2/3) → Tanh → Mul(1.7159): 0 none, 1 after the first Mul, 2 after Tanh. */
  private scaledTanh: 0 | 1 | 2 = 0;
  private scaledTanhStart: OnnxNode | undefined;
  private ended: OnnxNode | undefined;

  constructor(
    private readonly graph: OnnxGraph,
    private readonly opset: number,
  ) {}

  map(): MappedOnnxGraph {
    for (const t of this.graph.initializers) {
      if (!t.name) throw new WeightsFileError(`${t.path}: expected every initializer to have a name, found none`, { byteOffset: t.byteOffset });
      if (this.values.has(t.name)) throw new WeightsFileError(`two initializers are named '${clip(t.name)}': expected unique names, found a duplicate`, { tensor: t.name, byteOffset: t.byteOffset });
      this.values.set(t.name, { kind: 'const', tensor: t });
    }
    this.readInput();
    for (const node of this.graph.nodes) this.step(node);
    return this.finish();
  }

  // ---- the graph's input and output ----

  private readInput(): void {
    const inputs = this.graph.inputs.filter((v) => !this.values.has(v.name));
    if (inputs.length !== 1) {
      const names = inputs.map((v) => `'${clip(v.name)}'`).join(', ');
      throw new ModelMismatchError(`expected the graph to have one input (the image batch) besides its initializers, found ${inputs.length}${names ? `: ${names}` : ''}`);
    }
    const input = inputs[0]!;
    const what = `graph input '${clip(input.name)}'`;
    if (!input.name) throw new WeightsFileError(`${what}: expected a name, found none`, { byteOffset: input.byteOffset });
    if (input.typeKind !== 'tensor' || ![kFloat, kFloat16, kDouble].includes(input.elemType ?? -1)) {
      const found = input.typeKind === 'tensor' ? `a ${dataTypeName(input.elemType ?? 0)} tensor` : input.typeKind === 'other' ? 'a sequence, map or optional' : 'no type';
      throw new ModelMismatchError(`${what}: expected a float tensor [batch, 1, H, W], found ${found}`);
    }
    const shape = input.shape;
    const dims = shape?.map((d) => (d === undefined ? '?' : String(d))).join(', ');
    if (!shape || shape.length !== 4) {
      throw new ModelMismatchError(`${what}: expected the shape [batch, 1, H, W] (one channel, a square image), found ${shape ? `[${dims}]` : 'no shape'}`);
    }
    const [batch, channels, height, width] = shape;
    const fixed = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d > 0;
    if ((channels !== undefined && channels !== 1) || !fixed(height) || height !== width || height > 4096) {
      throw new ModelMismatchError(`${what}: expected [batch, 1, H, W] with one channel and H = W fixed, found [${dims}]`);
    }
    const batchDim: Dim = fixed(batch) ? batch : 'N';
    this.inputSize = height;
    this.data = input.name;
    this.values.set(input.name, { kind: 'data', shape: [batchDim, 1, height, height], stale: false });
  }

  private finish(): MappedOnnxGraph {
    if (this.scaledTanh !== 0) this.partialScaledTanh(undefined);
    const outputs = this.graph.outputs;
    if (outputs.length !== 1) {
      throw new ModelMismatchError(`expected the graph to have one output (the class scores), found ${outputs.length}: ${outputs.map((o) => `'${clip(o.name)}'`).join(', ')}`);
    }
    const output = outputs[0]!.name;
    if (output !== this.data) {
      const value = this.values.get(output);
      const found = value === undefined ? 'a tensor no node produces' : value.kind === 'data' ? 'an earlier tensor of the chain (the graph branches)' : 'a constant or shape computation';
      throw new ModelMismatchError(`expected the graph's output '${clip(output)}' to be the end of the chain of layers ('${clip(this.data)}'), found ${found}`);
    }
    if (!this.layers.some((l) => l.type === 'conv' || l.type === 'dense')) {
      throw new ModelMismatchError('expected a LeNet (convolutions, then dense layers), found no Conv, Gemm or MatMul layer in the graph');
    }
    return { architecture: { inputSize: this.inputSize, layers: this.layers }, tensors: this.tensors };
  }

  // ---- one node ----

  private step(node: OnnxNode): void {
    if (node.domain !== '' && node.domain !== 'ai.onnx') {
      throw this.unsupported(node, `the operator domain '${clip(node.domain)}' (the engine runs only standard ai.onnx operators)`);
    }
    const inputs = node.inputs.map((name, i) => (name === '' ? undefined : this.read(node, i)));
    const dataInputs = node.inputs.filter((name, i) => inputs[i]?.kind === 'data' && !(node.opType === 'Shape' && i === 0));
    if (dataInputs.some((name) => name !== this.data)) {
      throw this.mismatch(node, `expected a single chain of layers (a LeNet), found a branch: the node reads '${clip(dataInputs.find((n) => n !== this.data)!)}', an earlier tensor of the chain`);
    }
    if (dataInputs.length > 1) throw this.mismatch(node, `expected the chain's tensor '${clip(this.data)}' read once, found it read ${dataInputs.length} times`);
    if (node.outputs.length === 0 || node.outputs[0] === '') {
      throw new WeightsFileError(`${describeNode(node)}: expected at least one output, found none`, { byteOffset: node.byteOffset });
    }
    for (const name of node.outputs) {
      if (name !== '' && this.values.has(name)) {
        throw new WeightsFileError(`${describeNode(node)}: expected each tensor defined once, found output '${clip(name)}' already defined by an earlier node or initializer`, { byteOffset: node.byteOffset });
      }
    }
    if (dataInputs.length === 1) this.chainStep(node);
    else this.constantStep(node, inputs);
  }

  private read(node: OnnxNode, index: number): Value {
    const name = node.inputs[index]!;
    const value = this.values.get(name);
    if (value === undefined) {
      throw new WeightsFileError(
        `${describeNode(node)}: expected input ${index} '${clip(name)}' to be an initializer, the graph input or an earlier node's output (nodes in topological order), found none of these`,
        { byteOffset: node.byteOffset },
      );
    }
    if (value.kind === 'unusable') throw this.mismatch(node, `expected to read only tensors the engine computes, found '${clip(name)}', ${value.why}`);
    return value;
  }

  /** A node that reads the chain's tensor. */
  private chainStep(node: OnnxNode): void {
    if (this.scaledTanh !== 0 && !(this.scaledTanh === 1 && node.opType === 'Tanh') && !(this.scaledTanh === 2 && node.opType === 'Mul')) {
      this.partialScaledTanh(node);
    }
    if (this.ended && !['Identity', 'Dropout'].includes(node.opType)) {
      throw this.mismatch(node, `expected nothing after the final ${this.ended.opType} (${describeNode(this.ended)}), found this node`);
    }
    const dense = this.openDense;
    this.openDense = undefined;
    switch (node.opType) {
      case 'Conv': return this.conv(node);
      case 'Relu': return this.activation(node, 'relu');
      case 'Sigmoid': return this.activation(node, 'sigmoid');
      case 'Tanh':
        if (this.scaledTanh === 1) {
          this.attributes(node, {});
          this.scaledTanh = 2;
          return this.advance(node, this.shape());
        }
        return this.activation(node, 'tanh');
      case 'Mul': return this.mul(node);
      case 'AveragePool': return this.pool(node, 'average');
      case 'MaxPool': return this.pool(node, 'max');
      case 'Pad': return this.pad(node);
      case 'Flatten': return this.flatten(node);
      case 'Reshape': return this.reshape(node);
      case 'Gemm': return this.gemm(node);
      case 'MatMul': return this.matmul(node);
      case 'Add': return this.add(node, dense);
      case 'Softmax': return this.softmax(node, false);
      case 'LogSoftmax': return this.softmax(node, true);
      case 'Dropout': return this.dropout(node);
      case 'Identity':
        this.attributes(node, {});
        return this.advance(node, this.shape());
      default:
        throw this.unsupported(node, 'an operator the engine does not run');
    }
  }

  /** The chain's tensor's shape. */
  private shape(): readonly Dim[] {
    const value = this.values.get(this.data);
    return value && value.kind === 'data' ? value.shape : [];
  }

  /** The chain moves on to the node's first output, of the given shape. */
  private advance(node: OnnxNode, shape: readonly Dim[]): void {
    const previous = this.values.get(this.data);
    if (previous && previous.kind === 'data') this.values.set(this.data, { ...previous, stale: true });
    this.data = node.outputs[0]!;
    this.values.set(this.data, { kind: 'data', shape, stale: false });
    node.outputs.slice(1).forEach((name, i) => {
      if (name !== '') this.values.set(name, { kind: 'unusable', why: `output ${i + 1} of ${describeNode(node)}, which the engine does not compute` });
    });
  }

  private map4(node: OnnxNode): { channels: number; size: number } {
    const shape = this.shape();
    if (shape.length !== 4 || this.layers.some((l) => l.type === 'dense')) {
      throw this.mismatch(node, `expected a feature map [batch, C, H, W], found ${this.layers.some((l) => l.type === 'dense') ? 'the output of a dense layer' : `a tensor of shape ${shapeText(shape)}`}`);
    }
    return { channels: shape[1] as number, size: shape[2] as number };
  }

  private vector(node: OnnxNode): number {
    const shape = this.shape();
    if (shape.length !== 2) throw this.mismatch(node, `expected a flattened [batch, features] tensor, found shape ${shapeText(shape)} (a Flatten or Reshape must come first)`);
    return shape[1] as number;
  }

  // ---- layers ----

  private conv(node: OnnxNode): void {
    const attrs = this.attributes(node, { kernel_shape: 'ints', strides: 'ints', dilations: 'ints', group: 'int', pads: 'ints', auto_pad: 'string' });
    const { channels, size } = this.map4(node);
    if (node.inputs.length < 2 || node.inputs.length > 3) throw this.mismatch(node, `expected inputs (X, W) or (X, W, B), found ${node.inputs.length} inputs`);
    const weight = this.constant(node, 1, 'weight');
    tensorElementCount(weight); // dims checked (non-negative, no overflow) before they are compared
    const dims = weight.dims;
    if (dims.length !== 4 || dims[2] !== 5 || dims[3] !== 5) {
      throw this.mismatch(node, `weight '${clip(weight.name)}': expected a 5×5 kernel, shape [out, ${channels}, 5, 5], found [${dims.join(', ')}]`);
    }
    const outChannels = dims[0]!;
    if (dims[1] !== channels) throw this.mismatch(node, `weight '${clip(weight.name)}': expected [${outChannels}, ${channels}, 5, 5] for an input of ${channels} channels, found [${dims.join(', ')}]`);
    if (outChannels < 1) throw this.mismatch(node, `weight '${clip(weight.name)}': expected at least one output channel, found [${dims.join(', ')}]`);
    this.expectInts(node, 'kernel_shape', attrs.ints('kernel_shape'), [5, 5]);
    this.expectInts(node, 'strides', attrs.ints('strides'), [1, 1], 'stride 1');
    this.expectInts(node, 'dilations', attrs.ints('dilations'), [1, 1], 'dilation 1');
    const group = attrs.int('group') ?? 1;
    if (group !== 1) throw this.mismatch(node, `group: expected 1 (every output map reads every input map), found ${group}`);
    const padding = this.convPadding(node, attrs.string('auto_pad') ?? 'NOTSET', attrs.ints('pads'));
    const outSize = size + 2 * padding - 4;
    if (outSize < 1) throw this.mismatch(node, `a 5×5 kernel with padding ${padding} needs an input of at least ${5 - 2 * padding}×${5 - 2 * padding}, found ${size}×${size}`);
    const weightValues = floatTensorValues(weight);
    const bias = this.biasValues(node, 2, outChannels);

    // A conv whose kernel covers its whole input (LeNet-5's C5) is a dense layer over the map.
    const asDense = padding === 0 && size === 5;
    const name = this.layerName(node, weight, asDense ? 'fc' : 'conv');
    const weightKey = this.tensorKey(name, 'weight', weight.name);
    const biasKey = this.tensorKey(name, 'bias', bias.name);
    this.tensors.set(weightKey, { shape: [...dims], data: weightValues });
    this.tensors.set(biasKey, { shape: [outChannels], data: bias.values });
    this.addLayer(
      asDense
        ? { type: 'dense', name, outFeatures: outChannels, weight: weightKey, bias: biasKey, weightShape: [...dims] }
        : { type: 'conv', name, outChannels, padding, weight: weightKey, bias: biasKey },
    );
    this.advance(node, [this.shape()[0]!, outChannels, outSize, outSize]);
  }

  private convPadding(node: OnnxNode, autoPad: string, pads: readonly number[] | undefined): number {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return 2; // stride 1, 5×5: 2 on each side
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') {
      throw this.mismatch(node, `auto_pad: expected NOTSET, VALID, SAME_UPPER or SAME_LOWER, found '${clip(autoPad)}'`);
    }
    const list = pads ?? [0, 0, 0, 0];
    if (list.length !== 4 || list.some((p) => p !== list[0]) || list[0]! < 0 || list[0]! > 2 || (autoPad === 'VALID' && list[0] !== 0)) {
      throw this.mismatch(node, `pads: expected the same padding of 0, 1 or 2 on every side, [p, p, p, p], found [${list.join(', ')}]${autoPad === 'VALID' ? ' with auto_pad VALID' : ''}`);
    }
    return list[0]!;
  }

  private activation(node: OnnxNode, activation: Activation): void {
    this.attributes(node, {});
    if (node.inputs.length !== 1) throw this.mismatch(node, `expected one input, found ${node.inputs.length}`);
    this.addActivation(node, activation);
    this.advance(node, this.shape());
  }

  private addActivation(node: OnnxNode, activation: Activation): void {
    const last = this.layers[this.layers.length - 1];
    if (!last) throw this.mismatch(node, `expected a Conv, pool or dense layer before an activation, found ${activation} applied to the input image`);
    if (this.activated) {
      const previous = [...this.layers].reverse().find((l) => l.type === 'activation');
      throw this.mismatch(node, `expected one activation per layer (the engine applies one), found a second in a row (${previous && previous.type === 'activation' ? previous.activation : 'one'}, then ${activation})`);
    }
    this.layers.push({ type: 'activation', activation });
    this.activated = true;
  }

  /** Mul by a constant: only as part of the scaled tanh, A·tanh(S·x). */
  private mul(node: OnnxNode): void {
    this.attributes(node, {});
    const other = node.inputs.findIndex((name) => name !== this.data);
    const factor = other >= 0 && node.inputs.length === 2 ? this.scalar(node, other) : undefined;
    const near = (value: number, target: number) => value !== undefined && Math.abs(value - target) <= kConstantTolerance * target;
    if (this.scaledTanh === 0 && factor !== undefined && near(factor, kScaledTanhS)) {
      this.scaledTanh = 1;
      this.scaledTanhStart = node;
      return this.advance(node, this.shape());
    }
    if (this.scaledTanh === 2 && factor !== undefined && near(factor, kScaledTanhA)) {
      this.scaledTanh = 0;
      this.addActivation(node, 'scaled-tanh');
      return this.advance(node, this.shape());
    }
    if (this.scaledTanh === 2) this.partialScaledTanh(node);
    throw this.unsupported(node, `a Mul by ${factor === undefined ? 'a tensor that is not a constant scalar' : factor} (the engine has Mul only in the scaled tanh, 1.7159·tanh(2/3·x))`);
  }

  private partialScaledTanh(node: OnnxNode | undefined): never {
    const start = this.scaledTanhStart!;
    const found = node ? `${describeNode(node)}` : 'the end of the graph';
    throw this.mismatch(start, `expected this Mul by 2/3 to start the scaled tanh (Mul by 2/3, Tanh, Mul by 1.7159), found ${found} ${this.scaledTanh === 1 ? 'instead of Tanh' : 'instead of the Mul by 1.7159'}`);
  }

  private pool(node: OnnxNode, mode: 'average' | 'max'): void {
    // count_include_pad changes nothing without padding; storage_order only MaxPool's unused indices.
    const allowed: Record<string, AttributeKind> = { kernel_shape: 'ints', strides: 'ints', pads: 'ints', auto_pad: 'string', ceil_mode: 'int', dilations: 'ints' };
    allowed[mode === 'average' ? 'count_include_pad' : 'storage_order'] = 'int';
    const attrs = this.attributes(node, allowed);
    const { size } = this.map4(node);
    const kernel = attrs.ints('kernel_shape');
    if (!kernel || kernel.length !== 2 || kernel[0] !== 2 || kernel[1] !== 2) {
      throw this.mismatch(node, `kernel_shape: expected [2, 2], found ${kernel ? `[${kernel.join(', ')}]` : 'none'}`);
    }
    const strides = attrs.ints('strides');
    if (!strides || strides.length !== 2 || strides[0] !== 2 || strides[1] !== 2) {
      throw this.mismatch(node, `strides: expected [2, 2], found ${strides ? `[${strides.join(', ')}]` : 'none (ONNX defaults to stride 1)'}`);
    }
    this.expectInts(node, 'pads', attrs.ints('pads'), [0, 0, 0, 0], 'no padding');
    this.expectInts(node, 'dilations', attrs.ints('dilations'), [1, 1], 'dilation 1');
    const ceilMode = attrs.int('ceil_mode') ?? 0;
    if (ceilMode !== 0) throw this.mismatch(node, `ceil_mode: expected 0 (floor, PyTorch's default), found ${ceilMode}`);
    const autoPad = attrs.string('auto_pad') ?? 'NOTSET';
    const evenSame = (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') && size % 2 === 0;
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID' && !evenSame) {
      throw this.mismatch(node, `auto_pad: expected NOTSET or VALID, found '${clip(autoPad)}' on a ${size}×${size} map`);
    }
    if (size < 2) throw this.mismatch(node, `2×2 pooling needs a map of at least 2×2, found ${size}×${size}`);
    const name = this.layerName(node, undefined, 'pool');
    this.addLayer({ type: 'pool', name, mode });
    const shape = this.shape();
    const outSize = Math.floor(size / 2);
    this.advance(node, [shape[0]!, shape[1]!, outSize, outSize]);
  }

  /** A Pad of zeros (torch writes one before each AveragePool) is dropped; any other is refused. */
  private pad(node: OnnxNode): void {
    const attrs = this.attributes(node, { mode: 'string', pads: 'ints', value: 'float' });
    let pads = attrs.ints('pads');
    if (pads === undefined) {
      if (node.inputs.length < 2 || node.inputs[1] === '') throw this.mismatch(node, 'expected the pads as an attribute or a second input, found neither');
      pads = this.ints(node, 1);
    }
    if (pads.length !== 2 * this.shape().length || pads.some((p) => p !== 0)) {
      throw this.unsupported(node, `a Pad by [${pads.join(', ')}] (the engine drops a Pad of zeros, and pads only inside a Conv, 0–2 on every side)`);
    }
    this.advance(node, this.shape());
  }

  private flatten(node: OnnxNode): void {
    const attrs = this.attributes(node, { axis: 'int' });
    const shape = this.shape();
    const axis = attrs.int('axis') ?? 1;
    if (axis !== 1 && axis !== 1 - shape.length) throw this.mismatch(node, `axis: expected 1 (flatten all but the batch), found ${axis}`);
    this.advance(node, flattened(shape));
  }

  /** A Reshape to [batch, features] (in any of the ways torch writes its target) is a flatten. */
  private reshape(node: OnnxNode): void {
    const attrs = this.attributes(node, { allowzero: 'int' });
    const shape = this.shape();
    if (node.inputs.length !== 2 || node.inputs[0] !== this.data) throw this.mismatch(node, `expected inputs (data, shape), found ${node.inputs.length} inputs`);
    const target = this.intsValue(node, 1).values;
    const allowZero = (attrs.int('allowzero') ?? 0) !== 0;
    const resolved = resolveReshape(shape, target, allowZero);
    const flat = flattened(shape);
    const same = (a: readonly Dim[], b: readonly Dim[]) => a.length === b.length && a.every((d, i) => d === b[i]);
    if (!resolved || !(same(resolved, flat) || same(resolved, shape))) {
      throw this.unsupported(node, `a Reshape of ${shapeText(shape)} to ${shapeText(target)} (the engine supports only a flatten, to [batch, ${flat[1]}])`);
    }
    this.advance(node, resolved);
  }

  private gemm(node: OnnxNode): void {
    const attrs = this.attributes(node, { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' });
    const inFeatures = this.vector(node);
    if (node.inputs[0] !== this.data) throw this.mismatch(node, `expected the layer's input as A (the first input), found '${clip(node.inputs[0] ?? '')}' there`);
    if (node.inputs.length < 2 || node.inputs.length > 3) throw this.mismatch(node, `expected inputs (A, B) or (A, B, C), found ${node.inputs.length}`);
    const alpha = attrs.float('alpha') ?? 1;
    const beta = attrs.float('beta') ?? 1;
    const transA = attrs.int('transA') ?? 0;
    const transB = attrs.int('transB') ?? 0;
    if (alpha !== 1 || beta !== 1 || transA !== 0 || (transB !== 0 && transB !== 1)) {
      throw this.mismatch(node, `expected alpha 1, beta 1, transA 0 and transB 0 or 1 (a Linear layer), found alpha ${alpha}, beta ${beta}, transA ${transA}, transB ${transB}`);
    }
    const weight = this.constant(node, 1, 'B');
    const outFeatures = this.denseWeightOut(node, weight, inFeatures, transB === 1);
    // The weight's values first: they prove its dims against the bytes before a bias is sized by them.
    const values = floatTensorValues(weight);
    this.dense(node, weight, values, transB === 1, inFeatures, outFeatures, this.biasValues(node, 2, outFeatures));
  }

  private matmul(node: OnnxNode): void {
    this.attributes(node, {});
    const inFeatures = this.vector(node);
    if (node.inputs.length !== 2 || node.inputs[0] !== this.data) throw this.mismatch(node, `expected inputs (layer input, weight [in, out]), the layer input first, found [${node.inputs.map((n) => `'${clip(n)}'`).join(', ')}]`);
    const weight = this.constant(node, 1, 'weight');
    const outFeatures = this.denseWeightOut(node, weight, inFeatures, false);
    const values = floatTensorValues(weight);
    this.dense(node, weight, values, false, inFeatures, outFeatures, { name: '', values: new Float32Array(outFeatures), synthetic: true });
  }

  private denseWeightOut(node: OnnxNode, weight: OnnxTensor, inFeatures: number, outFirst: boolean): number {
    tensorElementCount(weight);
    const dims = weight.dims;
    const expected = outFirst ? `[out, ${inFeatures}]` : `[${inFeatures}, out]`;
    if (dims.length !== 2 || dims[outFirst ? 1 : 0] !== inFeatures || dims[outFirst ? 0 : 1]! < 1) {
      throw this.mismatch(node, `weight '${clip(weight.name)}': expected ${expected} for ${inFeatures} input features, found [${dims.join(', ')}]`);
    }
    return dims[outFirst ? 0 : 1]!;
  }

  private dense(
    node: OnnxNode,
    weight: OnnxTensor,
    values: Float32Array,
    outFirst: boolean,
    inFeatures: number,
    outFeatures: number,
    bias: { name: string; values: Float32Array; synthetic?: boolean },
  ): void {
    const name = this.layerName(node, weight, 'fc');
    const weightKey = this.tensorKey(name, 'weight', weight.name);
    const biasKey = this.tensorKey(name, 'bias', bias.name);
    this.tensors.set(weightKey, { shape: [outFeatures, inFeatures], data: outFirst ? values : transpose(values, inFeatures, outFeatures) });
    this.tensors.set(biasKey, { shape: [outFeatures], data: bias.values });
    this.addLayer({ type: 'dense', name, outFeatures, weight: weightKey, bias: biasKey });
    this.advance(node, [this.shape()[0]!, outFeatures]);
    if (bias.synthetic) this.openDense = { name, biasKey, outFeatures };
  }

  /** Add of a constant [out] right after a dense layer without bias (MatMul + Add) is its bias. */
  private add(node: OnnxNode, dense: OpenDense | undefined): void {
    this.attributes(node, {});
    const other = node.inputs.findIndex((name) => name !== this.data);
    if (!dense || node.inputs.length !== 2 || other < 0) {
      throw this.unsupported(node, 'an Add on the chain (the engine supports Add only as the bias right after a MatMul or a Gemm without one)');
    }
    const bias = this.constant(node, other, 'bias');
    tensorElementCount(bias);
    const dims = bias.dims;
    if (!((dims.length === 1 && dims[0] === dense.outFeatures) || (dims.length === 2 && dims[0] === 1 && dims[1] === dense.outFeatures))) {
      throw this.mismatch(node, `bias '${clip(bias.name)}': expected [${dense.outFeatures}] or [1, ${dense.outFeatures}], found [${dims.join(', ')}]`);
    }
    const values = floatTensorValues(bias);
    const key = isPytorchName(bias.name) && prefixOf(bias.name) === dense.name && !this.tensors.has(bias.name) ? bias.name : dense.biasKey;
    this.tensors.delete(dense.biasKey);
    this.tensors.set(key, { shape: [dense.outFeatures], data: values });
    const layer = this.layers[this.layers.length - 1];
    if (layer && layer.type === 'dense') this.layers[this.layers.length - 1] = { ...layer, bias: key };
    this.advance(node, this.shape());
  }

  private softmax(node: OnnxNode, log: boolean): void {
    const attrs = this.attributes(node, { axis: 'int' });
    this.vector(node);
    const axis = attrs.int('axis') ?? (this.opset >= 13 ? -1 : 1);
    if (axis !== 1 && axis !== -1) throw this.mismatch(node, `axis: expected the class axis (1 or -1), found ${axis}`);
    this.layers.push({ type: 'softmax', log });
    this.activated = true;
    this.ended = node;
    this.advance(node, this.shape());
  }

  private dropout(node: OnnxNode): void {
    const attrs = this.attributes(node, { ratio: 'float', seed: 'int', is_test: 'int' });
    if ((attrs.int('is_test') ?? 1) === 0) throw this.mismatch(node, 'is_test: expected 1 (inference), found 0 (training)');
    if (node.inputs.length >= 3 && node.inputs[2] !== '') {
      const mode = this.constant(node, 2, 'training_mode');
      if (boolScalar(mode)) throw this.mismatch(node, 'training_mode: expected false (inference), found true');
    }
    this.advance(node, this.shape());
  }

  private addLayer(layer: LayerJson): void {
    this.layers.push(layer);
    this.activated = false;
  }

  // ---- constants and shape computations ----

  /** A node that does not read the chain: a constant, or part of a shape computation. */
  private constantStep(node: OnnxNode, inputs: ReadonlyArray<Value | undefined>): void {
    const out = node.outputs[0]!;
    const set = (value: Value): void => void this.values.set(out, value);
    const ints = (i: number) => this.ints(node, i);
    switch (node.opType) {
      case 'Constant': return set({ kind: 'const', tensor: this.constantValue(node) });
      case 'Identity': {
        this.attributes(node, {});
        const value = inputs[0];
        if (!value) throw this.mismatch(node, 'expected one input, found none');
        return set(value);
      }
      case 'Shape': {
        const attrs = this.attributes(node, { start: 'int', end: 'int' });
        const value = inputs[0];
        if (!value || value.kind !== 'data') throw this.unsupported(node, 'the Shape of a constant (the engine computes shapes of the chain\'s tensors only)');
        const rank = value.shape.length;
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
        return set({ kind: 'ints', values: value.shape.slice(clamp(attrs.int('start') ?? 0), clamp(attrs.int('end') ?? rank)), rank: 1 });
      }
      case 'Gather': {
        const attrs = this.attributes(node, { axis: 'int' });
        const source = this.intsValue(node, 0);
        const indices = this.intsValue(node, 1);
        if ((attrs.int('axis') ?? 0) !== 0 || source.rank !== 1) throw this.unsupported(node, 'a Gather other than from a shape vector along axis 0');
        const picked = indices.values.map((i) => {
          const index = typeof i === 'number' && i < 0 ? i + source.values.length : i;
          if (typeof index !== 'number' || index < 0 || index >= source.values.length) {
            throw this.mismatch(node, `expected an index into the ${source.values.length} dimensions gathered from, found index ${i}`);
          }
          return source.values[index]!;
        });
        return set({ kind: 'ints', values: picked, rank: indices.rank });
      }
      case 'Unsqueeze': {
        const attrs = this.attributes(node, { axes: 'ints' });
        const value = this.intsValue(node, 0);
        const axes = attrs.ints('axes') ?? (node.inputs.length > 1 ? ints(1) : undefined);
        if (value.rank !== 0 || !axes || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) throw this.unsupported(node, 'an Unsqueeze other than of a scalar to a vector');
        return set({ kind: 'ints', values: value.values, rank: 1 });
      }
      case 'Squeeze': {
        const attrs = this.attributes(node, { axes: 'ints' });
        const value = this.intsValue(node, 0);
        const axes = attrs.ints('axes') ?? (node.inputs.length > 1 ? ints(1) : [0]);
        if (value.rank !== 1 || value.values.length !== 1 || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) throw this.unsupported(node, 'a Squeeze other than of a one-element vector to a scalar');
        return set({ kind: 'ints', values: value.values, rank: 0 });
      }
      case 'Concat': {
        const attrs = this.attributes(node, { axis: 'int' });
        const parts = node.inputs.map((_, i) => this.intsValue(node, i));
        if ((attrs.int('axis') ?? 0) !== 0 && attrs.int('axis') !== -1) throw this.unsupported(node, 'a Concat along an axis other than 0');
        if (parts.some((p) => p.rank !== 1)) throw this.unsupported(node, 'a Concat of scalars (shapes are vectors)');
        const values = parts.flatMap((p) => p.values);
        if (values.length > kMaxShapeValues) throw this.mismatch(node, `expected a shape of at most ${kMaxShapeValues} values, found ${values.length}`);
        return set({ kind: 'ints', values, rank: 1 });
      }
      case 'Mul': {
        this.attributes(node, {});
        const [a, b] = [this.intsValue(node, 0), this.intsValue(node, 1)];
        const n = Math.max(a.values.length, b.values.length);
        if (node.inputs.length !== 2 || (a.values.length !== n && a.values.length !== 1) || (b.values.length !== n && b.values.length !== 1)) {
          throw this.unsupported(node, 'a Mul of shapes that do not broadcast');
        }
        const values = Array.from({ length: n }, (_, i) => {
          const x = a.values[a.values.length === 1 ? 0 : i]!;
          const y = b.values[b.values.length === 1 ? 0 : i]!;
          if (x === 'N' || y === 'N') throw this.unsupported(node, 'a multiplication of the batch size (the engine supports only a flatten, to [batch, features])');
          const product = x * y;
          if (!Number.isSafeInteger(product)) throw this.mismatch(node, `expected a size, found the absurd product ${x} × ${y}`);
          return product;
        });
        return set({ kind: 'ints', values, rank: a.rank === 1 || b.rank === 1 ? 1 : 0 });
      }
      case 'Cast': {
        const attrs = this.attributes(node, { to: 'int', saturate: 'int' });
        const to = attrs.int('to');
        if (to !== kInt64 && to !== 6) throw this.unsupported(node, `a Cast to ${dataTypeName(to ?? 0)} outside the chain (the engine casts only shapes, to INT64 or INT32)`);
        return set({ kind: 'ints', ...this.intsValue(node, 0) });
      }
      default:
        throw this.unsupported(node, inputs.some((v) => v !== undefined)
          ? 'an operator the engine does not run (it reads no tensor of the chain, and is not a shape computation the engine understands)'
          : 'an operator the engine does not run');
    }
  }

  /** A Constant node's value as a tensor (value, value_float(s), value_int(s)). */
  private constantValue(node: OnnxNode): OnnxTensor {
    const attrs = this.attributes(node, { value: 'tensor', value_float: 'float', value_floats: 'floats', value_int: 'int', value_ints: 'ints' });
    if (node.attributes.length !== 1) throw this.mismatch(node, `expected exactly one value attribute, found ${node.attributes.length}`);
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

  /** A node's input that must be a constant tensor (initializer or Constant). */
  private constant(node: OnnxNode, index: number, role: string): OnnxTensor {
    const value = this.read(node, index);
    if (value.kind !== 'const') {
      throw this.mismatch(node, `${role} '${clip(node.inputs[index]!)}': expected a constant (an initializer or a Constant node), found a computed tensor`);
    }
    return value.tensor;
  }

  /** An optional bias input: its values, or zeros when absent. */
  private biasValues(node: OnnxNode, index: number, count: number): { name: string; values: Float32Array; synthetic?: boolean } {
    if (node.inputs.length <= index || node.inputs[index] === '') return { name: '', values: new Float32Array(count), synthetic: true };
    const bias = this.constant(node, index, 'bias');
    tensorElementCount(bias);
    const dims = bias.dims;
    const fits = (dims.length === 1 && dims[0] === count) || (dims.length === 2 && dims[0] === 1 && dims[1] === count);
    if (!fits) throw this.mismatch(node, `bias '${clip(bias.name)}': expected [${count}], found [${dims.join(', ')}]`);
    return { name: bias.name, values: floatTensorValues(bias) };
  }

  /** A constant float scalar input (the scaled tanh's factors), or undefined if it is not one. */
  private scalar(node: OnnxNode, index: number): number | undefined {
    const value = this.read(node, index);
    if (value.kind !== 'const' || ![kFloat, kFloat16, kDouble].includes(value.tensor.dataType) || tensorElementCount(value.tensor) !== 1) return undefined;
    return floatTensorValues(value.tensor)[0];
  }

  /** An input that is a list of known integers (a constant, or a computed shape without the batch symbol). */
  private ints(node: OnnxNode, index: number): number[] {
    const value = this.intsValue(node, index);
    return value.values.map((v) => (v === 'N' ? -1 : v));
  }

  private intsValue(node: OnnxNode, index: number): { values: readonly Dim[]; rank: 0 | 1 } {
    if (index >= node.inputs.length || node.inputs[index] === '') throw this.mismatch(node, `expected an input ${index}, found none`);
    const value = this.read(node, index);
    if (value.kind === 'ints') return value;
    if (value.kind === 'const') {
      const rank = value.tensor.dims.length;
      if (rank > 1) throw this.mismatch(node, `input ${index} '${clip(node.inputs[index]!)}': expected an integer scalar or vector, found dims [${value.tensor.dims.join(', ')}]`);
      return { values: intTensorValues(value.tensor, kMaxShapeValues), rank: rank as 0 | 1 };
    }
    throw this.mismatch(node, `input ${index} '${clip(node.inputs[index]!)}': expected a constant or a shape computed from the chain, found ${value.kind === 'data' ? 'a tensor of the chain' : 'an unusable output'}`);
  }

  // ---- attributes ----

  /** The node's attributes, checked against what the op may have; unknown ones are errors. */
  private attributes<K extends string>(node: OnnxNode, allowed: Readonly<Record<K, AttributeKind>>): Attributes<K> {
    const byName = new Map<string, OnnxAttribute>();
    for (const attribute of node.attributes) {
      const kind = (allowed as Record<string, AttributeKind>)[attribute.name];
      if (kind === undefined) {
        const expected = Object.keys(allowed);
        throw this.mismatch(node, `expected ${expected.length ? `only the attributes ${expected.join(', ')}` : 'no attributes'}, found '${clip(attribute.name)}'`);
      }
      if (byName.has(attribute.name)) throw new WeightsFileError(`${describeNode(node)}: expected attribute '${clip(attribute.name)}' once, found it twice`, { byteOffset: attribute.byteOffset });
      if (attribute.refAttrName !== undefined) throw this.mismatch(node, `attribute '${attribute.name}': expected a value, found a reference to a function's attribute '${clip(attribute.refAttrName)}'`);
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
        if (value !== undefined && !Number.isSafeInteger(value)) throw this.mismatch(node, `attribute '${name}': expected an integer, found ${value}`);
        return value;
      },
      ints: (name) => {
        const attribute = get(name, 'ints');
        if (!attribute) return undefined;
        if (attribute.ints.some((v) => !Number.isSafeInteger(v))) throw this.mismatch(node, `attribute '${name}': expected integers, found [${attribute.ints.join(', ')}]`);
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

  // ---- names ----

  /** A layer's name: its weight's PyTorch prefix, else the node's torch scope or name, else conv<k>/pool<k>/fc<k>. */
  private layerName(node: OnnxNode, weight: OnnxTensor | undefined, kind: 'conv' | 'pool' | 'fc'): string {
    const k = ++this.counts[kind];
    const candidates = [
      weight && isPytorchName(weight.name) ? prefixOf(weight.name) : undefined,
      scopeOf(node.name),
      meaningfulNodeName(node),
      `${kind}${k}`,
    ];
    let name = candidates.find((c): c is string => c !== undefined && c.length > 0 && !this.layerNames.has(c))
      ?? candidates.find((c): c is string => c !== undefined && c.length > 0)!;
    for (let i = 2; this.layerNames.has(name); i++) name = `${candidates.find((c) => c)!}_${i}`;
    this.layerNames.add(name);
    return name;
  }

  /** The key of a layer's tensor: the initializer's own name when it is PyTorch's for this layer, else `<layer>.<role>`. */
  private tensorKey(layer: string, role: 'weight' | 'bias', initializer: string): string {
    if (isPytorchName(initializer) && prefixOf(initializer) === layer && initializer.endsWith(`.${role}`) && !this.tensors.has(initializer)) return initializer;
    let key = `${layer}.${role}`;
    for (let i = 2; this.tensors.has(key); i++) key = `${layer}.${role}_${i}`;
    return key;
  }

  // ---- errors ----

  private expectInts(node: OnnxNode, name: string, found: readonly number[] | undefined, expected: readonly number[], meaning?: string): void {
    if (found !== undefined && (found.length !== expected.length || found.some((v, i) => v !== expected[i]))) {
      throw this.mismatch(node, `${name}: expected [${expected.join(', ')}]${meaning ? ` (${meaning})` : ''}, found [${found.join(', ')}]`);
    }
  }

  private mismatch(node: OnnxNode, message: string): ModelMismatchError {
    return new ModelMismatchError(`${describeNode(node)}: ${message}`);
  }

  /** `found` says what the node is; the message adds what the engine supports. */
  private unsupported(node: OnnxNode, found: string): ModelMismatchError {
    return new ModelMismatchError(`${describeNode(node)}: found ${found}; expected a LeNet-family graph, of the operators the engine supports: ${kSupportedOnnxOps}`);
  }
}

type AttributeKind = 'int' | 'ints' | 'float' | 'floats' | 'string' | 'tensor';
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

interface Attributes<K extends string> {
  int(name: K): number | undefined;
  ints(name: K): readonly number[] | undefined;
  float(name: K): number | undefined;
  floats(name: K): readonly number[] | undefined;
  string(name: K): string | undefined;
  tensor(name: K): OnnxTensor | undefined;
}

/** [batch, c, h, w] → [batch, c·h·w]; a [batch, f] stays. */
function flattened(shape: readonly Dim[]): Dim[] {
  if (shape.length <= 2) return [...shape];
  return [shape[0]!, shape.slice(1).reduce<number>((a, b) => a * (b as number), 1)];
}

/**
 * What a Reshape of `shape` to `target` gives, by ONNX's rules: 0 copies the input's dimension
 * (unless allowzero), one -1 takes what is left. The batch may be a symbol ('N', from a dynamic
 * batch axis): then the target must place it exactly once (as 'N', a 0 copying it, or a -1
 * with the rest accounted for). Undefined when the result is not a reshape this can decide.
 */
function resolveReshape(shape: readonly Dim[], target: readonly Dim[], allowZero: boolean): Dim[] | undefined {
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

function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}

const kPytorchName = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*\.(weight|bias)$/;

function isPytorchName(name: string): boolean {
  return name.length <= 200 && kPytorchName.test(name);
}

function prefixOf(name: string): string {
  return name.slice(0, name.lastIndexOf('.'));
}

/** torch ≥ 1.13 names nodes by module scope: '/features/features.0/Conv' → 'features.0'. */
function scopeOf(nodeName: string): string | undefined {
  const match = /^\/(?:[^/]+\/)*([^/]+)\/[^/]+$/.exec(nodeName);
  return match ? sanitise(match[1]!) : undefined;
}

/** A node name a person gave (not an exporter's 'Conv_0' or '/Relu_1'). */
function meaningfulNodeName(node: OnnxNode): string | undefined {
  const name = node.name;
  if (!name || name.startsWith('/') || new RegExp(`^${node.opType}_?\\d*$`).test(name) || /^(node|onnx::)/i.test(name)) return undefined;
  return sanitise(name);
}

function sanitise(name: string): string | undefined {
  const clean = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return /[A-Za-z0-9]/.test(clean) ? clean : undefined;
}

function shapeText(shape: readonly (Dim | number)[]): string {
  return `[${shape.map((d) => (d === 'N' ? 'batch' : String(d))).join(', ')}]`;
}

/** Names in messages are clipped: a hostile file may name a node with 64 KiB. */
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function describeNode(node: OnnxNode): string {
  return `node ${node.index}${node.name ? ` '${clip(node.name)}'` : ''} (${clip(node.opType) || 'no op_type'})`;
}
