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
import { kMaxInputChannels, type ArchitectureJson, type LayerJson } from '../model/architecture.js';
import type { Activation } from '../model/spec.js';
import { clip, describeNode, mismatchAt, readAttributes, shapeText, unsupportedAt, type AttributeKind, type Attributes, type Dim } from './onnx-node.js';
import {
  boolScalar,
  dataTypeName,
  floatTensorValues,
  kDouble,
  kFloat,
  kFloat16,
  tensorElementCount,
  type OnnxGraph,
  type OnnxNode,
  type OnnxTensor,
} from './onnx-proto.js';
import { channelsLastColumns, ConstantFolder, flattened, resolveReshape, transpose, type Value } from './onnx-rewrite.js';
import type { RawTensor } from './types.js';

export { kSupportedOnnxOps } from './onnx-node.js';

/** What the ONNX reader maps a graph to. */
export interface MappedOnnxGraph {
  readonly architecture: ArchitectureJson;
  /** The weights the layers name, float32, in the engine's layout (dense weights [out, in]). */
  readonly tensors: Map<string, RawTensor>;
}

/** The scaled tanh's constants (LeCun 1998): A·tanh(S·x); float32 roundings accepted. */
const kScaledTanhS = 2 / 3;
const kScaledTanhA = 1.7159;
const kConstantTolerance = 1e-6;

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
  private readonly folder = new ConstantFolder((node, index) => this.read(node, index));
  private readonly layers: LayerJson[] = [];
  private readonly tensors = new Map<string, RawTensor>();
  private readonly layerNames = new Set<string>();
  private readonly counts = { conv: 0, pool: 0, fc: 0, bn: 0 };
  /** The chain's feature maps as NCHW (the engine's) or NHWC (a Keras graph's, until its Transpose). */
  private layout: 'NCHW' | 'NHWC' = 'NCHW';
  /** A map flattened channels last (NHWC), waiting for the dense layer whose columns take its order. */
  private channelsLast: { channels: number; size: number; node: OnnxNode } | undefined;
  private inputChannels = 1;
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
      throw new ModelMismatchError(`${what}: expected a float tensor [batch, C, H, W], found ${found}`);
    }
    const shape = input.shape;
    const dims = shape?.map((d) => (d === undefined ? '?' : String(d))).join(', ');
    if (!shape || shape.length !== 4) {
      throw new ModelMismatchError(`${what}: expected the shape [batch, C, H, W] (a square image of C channels), found ${shape ? `[${dims}]` : 'no shape'}`);
    }
    const fixed = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d > 0;
    const square = (h: unknown, w: unknown): h is number => fixed(h) && h === w && h <= 4096;
    const channelCount = (c: unknown): c is number => fixed(c) && c <= kMaxInputChannels;
    const [batch, d1, d2, d3] = shape;
    // NCHW as PyTorch exports; NHWC ([N, H, W, C]) as tf2onnx exports a Keras model, whose
    // Transpose to NCHW follows. A shape both could read ([N, C, C, C]) is taken as NCHW.
    const nchw = square(d2, d3) && (d1 === undefined || channelCount(d1));
    const nhwc = !nchw && square(d1, d2) && channelCount(d3);
    if (!nchw && !nhwc) {
      throw new ModelMismatchError(
        `${what}: expected [batch, C, H, W] (or a Keras model's [batch, H, W, C]) with 1 to ${kMaxInputChannels} channels and H = W fixed, found [${dims}]`,
      );
    }
    const batchDim: Dim = fixed(batch) ? batch : 'N';
    const size = (nchw ? d2 : d1) as number;
    this.inputChannels = nchw ? (d1 ?? 1) : (d3 as number);
    this.inputSize = size;
    this.layout = nchw ? 'NCHW' : 'NHWC';
    this.data = input.name;
    const dataShape = nchw ? [batchDim, this.inputChannels, size, size] : [batchDim, size, size, this.inputChannels];
    this.values.set(input.name, { kind: 'data', shape: dataShape, stale: false });
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
    if (this.channelsLast) throw this.mismatch(this.channelsLast.node, 'expected the channels-last flatten to feed a dense layer (MatMul or Gemm), found none after it');
    const architecture: ArchitectureJson = {
      inputSize: this.inputSize,
      ...(this.inputChannels !== 1 ? { inputChannels: this.inputChannels } : {}),
      layers: this.layers,
    };
    return { architecture, tensors: this.tensors };
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
      case 'Transpose': return this.transposeStep(node);
      case 'BatchNormalization': return this.batchNorm(node);
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
    if (this.layout === 'NHWC' && shape.length === 4) {
      throw this.mismatch(node, `expected a feature map in NCHW order, found one in NHWC order ${shapeText(shape)} (a Transpose with perm [0, 3, 1, 2] must come first)`);
    }
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
    this.noteChannelsLast(node, shape);
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
    if (resolved.length === 2) this.noteChannelsLast(node, shape);
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
    let data = outFirst ? values : transpose(values, inFeatures, outFeatures);
    if (this.channelsLast) {
      // The flatten before it was channels last: its columns reordered to the engine's NCHW flatten.
      data = channelsLastColumns(data, outFeatures, this.channelsLast.channels, this.channelsLast.size);
      this.channelsLast = undefined;
    }
    this.tensors.set(weightKey, { shape: [outFeatures, inFeatures], data });
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

  /**
   * A Transpose between NCHW and NHWC: the chain's layout changes, nothing runs (the engine
   * keeps maps NCHW; a later flatten in NHWC order is folded into the dense layer it feeds).
   */
  private transposeStep(node: OnnxNode): void {
    const attrs = this.attributes(node, { perm: 'ints' });
    const shape = this.shape();
    const perm = attrs.ints('perm') ?? [...shape.keys()].reverse();
    const valid = perm.length === shape.length && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
    if (!valid) throw this.mismatch(node, `perm: expected a permutation of the ${shape.length} axes of ${shapeText(shape)}, found [${perm.join(', ')}]`);
    const permuted = perm.map((p) => shape[p]!);
    const is = (order: readonly number[]) => perm.length === order.length && perm.every((p, i) => p === order[i]);
    if (is([0, 1, 2, 3]) || is([0, 1])) return this.advance(node, permuted);
    if (is([0, 3, 1, 2]) && this.layout === 'NHWC') this.layout = 'NCHW';
    else if (is([0, 2, 3, 1]) && this.layout === 'NCHW' && shape.length === 4) this.layout = 'NHWC';
    else {
      throw this.unsupported(node, `a Transpose by perm [${perm.join(', ')}] of a ${this.layout} tensor ${shapeText(shape)} (the engine supports NHWC to NCHW, [0, 3, 1, 2], and NCHW to NHWC, [0, 2, 3, 1], on feature maps)`);
    }
    this.advance(node, permuted);
  }

  /** A flatten of an NHWC map: the next dense layer takes its columns in that order. */
  private noteChannelsLast(node: OnnxNode, shape: readonly Dim[]): void {
    if (this.layout !== 'NHWC' || shape.length !== 4) return;
    if (this.channelsLast) throw this.mismatch(node, 'expected one flatten before a dense layer, found a second');
    this.channelsLast = { channels: shape[3] as number, size: shape[1] as number, node };
    this.layout = 'NCHW';
  }

  /**
   * BatchNormalization in inference mode: a `batchnorm` layer over the channels of a map
   * (NCHW) or the features of a vector, its four [C] inputs constants. Folding it into the
   * layer before, where exact, is src/model/fold.ts's, as for a state_dict's batch norm.
   */
  private batchNorm(node: OnnxNode): void {
    const attrs = this.attributes(node, { epsilon: 'float', momentum: 'float', spatial: 'int', training_mode: 'int', is_test: 'int' });
    if (node.inputs.length !== 5) throw this.mismatch(node, `expected inputs (X, scale, B, mean, var), found ${node.inputs.length} inputs`);
    if ((attrs.int('training_mode') ?? 0) !== 0) throw this.mismatch(node, 'training_mode: expected 0 (inference, the running statistics), found 1');
    if ((attrs.int('is_test') ?? 1) === 0) throw this.mismatch(node, 'is_test: expected 1 (inference, the running statistics), found 0 (opset 6 training)');
    if ((attrs.int('spatial') ?? 1) !== 1) throw this.mismatch(node, 'spatial: expected 1 (one mean and variance per channel), found 0');
    if (node.outputs.slice(1).some((o) => o !== '')) throw this.mismatch(node, `expected one output (inference), found ${node.outputs.filter((o) => o !== '').length} (training mode's running statistics)`);
    const shape = this.shape();
    if (this.layout === 'NHWC' && shape.length === 4) throw this.mismatch(node, `expected the channels on axis 1 (NCHW), found an NHWC map ${shapeText(shape)}`);
    if (shape.length !== 4 && shape.length !== 2) throw this.mismatch(node, `expected a feature map [batch, C, H, W] or features [batch, F], found ${shapeText(shape)}`);
    if (this.layers.length === 0) throw this.mismatch(node, 'expected a conv, pool or dense layer before a batch norm, found the input image');
    const channels = shape[1] as number;
    const epsilon = attrs.float('epsilon') ?? 1e-5;
    if (!(Number.isFinite(epsilon) && epsilon > 0)) throw this.mismatch(node, `epsilon: expected a finite number above 0, found ${epsilon}`);
    const roles = ['weight', 'bias', 'running_mean', 'running_var'] as const;
    const inputs = roles.map((role, i) => {
      const tensor = this.constant(node, i + 1, role === 'weight' ? 'scale' : role === 'bias' ? 'B' : role === 'running_mean' ? 'mean' : 'var');
      tensorElementCount(tensor);
      if (tensor.dims.length !== 1 || tensor.dims[0] !== channels) {
        throw this.mismatch(node, `${role} '${clip(tensor.name)}': expected [${channels}] (one per channel of ${shapeText(shape)}), found [${tensor.dims.join(', ')}]`);
      }
      return { tensor, values: floatTensorValues(tensor) };
    });
    const name = this.layerName(node, inputs[0]!.tensor, 'bn');
    const keys = roles.map((role, i) => this.batchNormKey(name, role, inputs[i]!.tensor.name));
    roles.forEach((_, i) => this.tensors.set(keys[i]!, { shape: [channels], data: inputs[i]!.values }));
    this.addLayer({ type: 'batchnorm', name, eps: epsilon, weight: keys[0]!, bias: keys[1]!, runningMean: keys[2]!, runningVar: keys[3]! });
    this.advance(node, shape);
  }

  /** A batch norm tensor's key: the initializer's own name when it is PyTorch's for this layer, else `<layer>.<role>`. */
  private batchNormKey(layer: string, role: string, initializer: string): string {
    if (initializer.length <= 200 && initializer === `${layer}.${role}` && !this.tensors.has(initializer)) return initializer;
    let key = `${layer}.${role}`;
    for (let i = 2; this.tensors.has(key); i++) key = `${layer}.${role}_${i}`;
    return key;
  }

  private addLayer(layer: LayerJson): void {
    if (this.channelsLast && layer.type !== 'dense') {
      throw this.mismatch(this.channelsLast.node, `expected the channels-last flatten to feed a dense layer, found a ${layer.type} layer after it`);
    }
    this.layers.push(layer);
    this.activated = false;
  }

  // ---- constants and shape computations (onnx-rewrite.ts) ----

  /** A node that does not read the chain: a constant, or part of a shape computation. */
  private constantStep(node: OnnxNode, inputs: ReadonlyArray<Value | undefined>): void {
    this.values.set(node.outputs[0]!, this.folder.fold(node, inputs));
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

  private ints(node: OnnxNode, index: number): number[] {
    return this.folder.ints(node, index);
  }

  private intsValue(node: OnnxNode, index: number): { values: readonly Dim[]; rank: 0 | 1 } {
    return this.folder.intsValue(node, index);
  }

  // ---- attributes ----

  private attributes<K extends string>(node: OnnxNode, allowed: Readonly<Record<K, AttributeKind>>): Attributes<K> {
    return readAttributes(node, allowed);
  }

  // ---- names ----

  /** A layer's name: its weight's PyTorch prefix, else the node's torch scope or name, else conv<k>/pool<k>/fc<k>. */
  private layerName(node: OnnxNode, weight: OnnxTensor | undefined, kind: 'conv' | 'pool' | 'fc' | 'bn'): string {
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
    return mismatchAt(node, message);
  }

  private unsupported(node: OnnxNode, found: string): ModelMismatchError {
    return unsupportedAt(node, found);
  }

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

