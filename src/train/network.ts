/**
 * A trainable network built from a ModelSpec's layer list (the same description the CPU
 * reference and the GPU planner read): parameter layout, per-image forward and backward with
 * every buffer allocated once, and gradient accumulation over a mini-batch.
 */
import { InputError } from '../errors.js';
import { connectionOffsets, kClasses, layerActivation, layerInputSize, layerOutputSize, layerTensorNames, type LayerSpec, type ModelSpec } from '../model/spec.js';
import {
  activateInPlace,
  activationBackward,
  convBackward,
  convForward,
  denseBackward,
  denseForward,
  rbfBackward,
  rbfForward,
  softmaxCrossEntropy,
  subsampleBackward,
  subsampleForward,
  type ConvGeometry,
} from './layers.js';
import { denseTable } from '../reference/layers.js';

/** Where each trainable tensor lives in the flat parameter (and gradient) vector. */
export interface ParameterLayout {
  readonly size: number;
  readonly offsets: ReadonlyMap<string, { readonly offset: number; readonly length: number }>;
}

/**
 * Lays the spec's trainable tensors end to end, in the spec's canonical order.
 *
 * @example
 * parameterLayout(seedModel).size; // 61706
 */
export function parameterLayout(spec: ModelSpec): ParameterLayout {
  const offsets = new Map<string, { offset: number; length: number }>();
  let size = 0;
  for (const t of spec.tensors) {
    if (!t.trainable) continue;
    const length = t.shape.reduce((a, b) => a * b, 1);
    offsets.set(t.name, { offset: size, length });
    size += length;
  }
  return { size, offsets };
}

/** One layer with its views into the parameter and gradient vectors and its scratch buffers. */
interface Stage {
  readonly layer: LayerSpec;
  /** Input as the layer reads it (padded for a padded conv). */
  readonly input: Float32Array;
  /** Output after the activation. */
  readonly output: Float32Array;
  /** Gradient at the output, then (in place) at the pre-activation. */
  readonly outputGrad: Float32Array;
  /** Gradient at `input` (padded side for a padded conv); null for the first layer. */
  readonly inputGrad: Float32Array | null;
  readonly params: Float32Array[];
  readonly grads: Float32Array[];
  readonly geometry?: ConvGeometry;
  readonly windowSums?: Float32Array;
}

/**
 * Per-image forward/backward for one model. `params` and `grads` are flat vectors laid out by
 * `parameterLayout(spec)`; `fixed` holds the non-trainable tensors (the RBF centres).
 *
 * @example
 * const net = new Network(seedModel, params, grads, new Map());
 * net.forward(image);                 // image: preprocessed, inputSize²
 * const loss = net.backward(label);   // adds this image's gradient into grads
 */
export class Network {
  readonly stages: Stage[] = [];
  private readonly lossGrad = new Float32Array(kClasses);

  constructor(
    readonly spec: ModelSpec,
    params: Float32Array,
    grads: Float32Array,
    fixed: ReadonlyMap<string, Float32Array>,
    /** Also compute the gradient at the network's input (tests only). */
    withInputGrad = false,
  ) {
    const cannot = spec.layers.find((l) => l.kind === 'softmax' || l.kind === 'scale-shift' || (l.kind === 'subsample2x2' && l.mode === 'max'));
    if (cannot) throw untrainable(cannot);
    if (spec.inputChannels !== 1) throw new InputError(`the trainer trains grey (1-channel) models; '${spec.id}' takes ${spec.inputChannels} input channels`);
    const layout = parameterLayout(spec);
    const view = (vector: Float32Array, name: string): Float32Array => {
      const at = layout.offsets.get(name);
      if (at) return vector.subarray(at.offset, at.offset + at.length);
      const tensor = fixed.get(name);
      if (!tensor) throw new Error(`trainer: tensor '${name}' is neither trainable nor given as fixed`);
      return tensor;
    };
    let previous: Float32Array | null = null;
    spec.layers.forEach((layer, index) => {
      const first = index === 0;
      const paddedSide = layer.kind === 'conv5x5' ? layer.inSize + 2 * layer.padding : 0;
      const inputLength = layer.kind === 'conv5x5' ? layer.inChannels * paddedSide * paddedSide : layerInputSize(layer);
      // A padded conv reads its own zero-bordered copy; other layers read the previous output.
      const ownInput = !previous || (layer.kind === 'conv5x5' && layer.padding > 0);
      const input: Float32Array = ownInput ? new Float32Array(inputLength) : previous!;
      const outputSize = layerOutputSize(layer);
      const names = layerTensorNames(layer);
      const stage: Stage = {
        layer,
        input,
        output: new Float32Array(outputSize),
        outputGrad: new Float32Array(outputSize),
        inputGrad: first && !withInputGrad ? null : new Float32Array(inputLength),
        params: names.map((n) => view(params, n)),
        grads: names.map((n) => (layout.offsets.has(n) ? view(grads, n) : new Float32Array(0))),
        ...(layer.kind === 'conv5x5' ? { geometry: convGeometry(layer) } : {}),
        ...(layer.kind === 'subsample2x2' ? { windowSums: new Float32Array(outputSize) } : {}),
      };
      this.stages.push(stage);
      previous = stage.output;
    });
  }

  /** Side of the preprocessed input image. */
  get inputSize(): number {
    return this.spec.inputSize;
  }

  /** Runs one preprocessed image (inputSize²) through the model; returns the output scores. */
  forward(image: Float32Array): Float32Array {
    this.loadInput(this.stages[0]!, image);
    for (let s = 0; s < this.stages.length; s++) {
      const stage = this.stages[s]!;
      if (s > 0 && stage.input !== this.stages[s - 1]!.output) this.loadInput(stage, this.stages[s - 1]!.output);
      runForward(stage);
    }
    return this.stages[this.stages.length - 1]!.output;
  }

  /**
   * After `forward`, backpropagates softmax cross-entropy for `label` (over the negated
   * distances for an RBF output), adds the parameter gradients into `grads`, returns the loss.
   */
  backward(label: number): number {
    const last = this.stages[this.stages.length - 1]!;
    const loss = softmaxCrossEntropy(last.output, kClasses, label, this.spec.output === 'distances', this.lossGrad);
    this.backwardFrom(this.lossGrad);
    return loss;
  }

  /** Backpropagates a given gradient at the output (tests use this to check each layer). */
  backwardFrom(outputGrad: Float32Array): void {
    this.stages[this.stages.length - 1]!.outputGrad.set(outputGrad.subarray(0, kClasses));
    for (let s = this.stages.length - 1; s >= 0; s--) {
      const stage = this.stages[s]!;
      runBackward(stage);
      if (s > 0) this.passGradient(stage, this.stages[s - 1]!);
    }
  }

  /** Gradient at the network's (unpadded) input, when built with `withInputGrad`. */
  inputGradient(): Float32Array {
    const first = this.stages[0]!;
    const out = new Float32Array(this.inputSize * this.inputSize);
    if (!first.inputGrad) throw new Error('trainer: network was built without input gradients');
    cropInto(first, first.inputGrad, out);
    return out;
  }

  private loadInput(stage: Stage, source: Float32Array): void {
    const layer = stage.layer;
    if (layer.kind !== 'conv5x5' || layer.padding === 0) {
      if (stage.input !== source) stage.input.set(source.subarray(0, stage.input.length));
      return;
    }
    const side = layer.inSize;
    const padded = side + 2 * layer.padding;
    for (let c = 0; c < layer.inChannels; c++) {
      for (let y = 0; y < side; y++) {
        const from = (c * side + y) * side;
        stage.input.set(source.subarray(from, from + side), (c * padded + y + layer.padding) * padded + layer.padding);
      }
    }
  }

  private passGradient(stage: Stage, previous: Stage): void {
    const grad = stage.inputGrad!;
    const layer = stage.layer;
    if (layer.kind === 'conv5x5' && layer.padding > 0) cropInto(stage, grad, previous.outputGrad);
    else previous.outputGrad.set(grad.subarray(0, previous.outputGrad.length));
  }
}

function convGeometry(layer: LayerSpec & { kind: 'conv5x5' }): ConvGeometry {
  const table = layer.connectionTable ?? denseTable(layer.inChannels, layer.outChannels);
  return {
    inChannels: layer.inChannels,
    outChannels: layer.outChannels,
    paddedSize: layer.inSize + 2 * layer.padding,
    outSize: layer.outSize,
    table,
    kernelStart: connectionOffsets(table),
  };
}

/** Copies the interior of a padded conv input gradient into an unpadded array. */
function cropInto(stage: Stage, padded: Float32Array, out: Float32Array): void {
  const layer = stage.layer;
  if (layer.kind !== 'conv5x5' || layer.padding === 0) {
    out.set(padded.subarray(0, out.length));
    return;
  }
  const side = layer.inSize;
  const ps = side + 2 * layer.padding;
  for (let c = 0; c < layer.inChannels; c++) {
    for (let y = 0; y < side; y++) {
      const from = (c * ps + y + layer.padding) * ps + layer.padding;
      out.set(padded.subarray(from, from + side), (c * side + y) * side);
    }
  }
}

function runForward(stage: Stage): void {
  const { layer, input, output, params } = stage;
  switch (layer.kind) {
    case 'conv5x5':
      convForward(stage.geometry!, input, params[0]!, params[1]!, output);
      break;
    case 'subsample2x2':
      subsampleForward(layer.channels, layer.inSize, input, params[0] ?? null, params[1] ?? null, stage.windowSums!, output);
      break;
    case 'dense':
      denseForward(layer.inFeatures, layer.outFeatures, input, params[0]!, params[1]!, output);
      break;
    case 'rbf':
      rbfForward(layer.inFeatures, layer.classes, input, params[0]!, output);
      return;
    case 'softmax':
      throw untrainable(layer);
  }
  activateInPlace(layer.activation, output, output.length);
}

function runBackward(stage: Stage): void {
  const { layer, input, output, outputGrad: dPre, params, grads, inputGrad } = stage;
  activationBackward(layerActivation(layer), output, dPre, dPre, dPre.length);
  switch (layer.kind) {
    case 'conv5x5':
      convBackward(stage.geometry!, input, params[0]!, dPre, grads[0]!, grads[1]!, inputGrad);
      return;
    case 'subsample2x2':
      subsampleBackward(layer.channels, layer.inSize, params[0] ?? null, stage.windowSums!, dPre, grads[0] ?? null, grads[1] ?? null, inputGrad);
      return;
    case 'dense':
      denseBackward(layer.inFeatures, layer.outFeatures, input, params[0]!, dPre, grads[0]!, grads[1]!, inputGrad);
      return;
    case 'rbf':
      rbfBackward(layer.inFeatures, layer.classes, input, params[0]!, dPre, inputGrad!);
      return;
    case 'softmax':
      throw untrainable(layer);
  }
}

/** The trainer's layers: no backward pass for max pooling, and the loss is its own softmax. */
function untrainable(layer: LayerSpec): InputError {
  return new InputError(
    `the trainer cannot train layer '${layer.name}' (${layer.kind === 'softmax' ? 'a softmax output: the loss applies its own' : layer.kind === 'scale-shift' ? 'a per-channel scale and shift (batch norm)' : 'max pooling'}); ` +
      `it trains conv, average or trainable pooling, dense and RBF layers`,
  );
}
