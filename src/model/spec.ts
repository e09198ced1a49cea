/**
 * A model is data: an ordered list of layers over named tensors. The CPU reference, the GPU
 * planner, the weights validator and the trainer all read this one description.
 *
 * Layouts are PyTorch's (row-major): feature maps are NCHW, conv weights [out, in, 5, 5],
 * dense weights [out, in]. A conv with a connection table stores only the listed kernels:
 * [sum of table sizes, 5, 5], output map major, inputs in ascending order.
 */

/** Element-wise activation applied after a layer (fused into its kernel where possible). */
export type Activation = 'none' | 'sigmoid' | 'tanh' | 'relu' | 'scaled-tanh';

/** Every activation, in the order documents list them. */
export const kActivations: readonly Activation[] = ['none', 'sigmoid', 'tanh', 'relu', 'scaled-tanh'];

/** The paper's scaled tanh: f(a) = A·tanh(S·a). */
export const kScaledTanhA = 1.7159;
export const kScaledTanhS = 2 / 3;

/**
 * A layer's name: from the file (`conv1`, `fc2`, …), or the paper's C1 … OUTPUT for the
 * paper's model. Unique within a model.
 */
export type LayerName = string;

export interface Conv5x5Layer {
  readonly kind: 'conv5x5';
  readonly name: LayerName;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Input height = width. */
  readonly inSize: number;
  /** Zero padding on every side. */
  readonly padding: number;
  /** Output height = width: inSize + 2·padding − 4. */
  readonly outSize: number;
  /** For each output map, the ascending list of input maps that feed it; absent = dense. */
  readonly connectionTable?: ReadonlyArray<ReadonlyArray<number>>;
  readonly activation: Activation;
  readonly weight: string;
  readonly bias: string;
}

/**
 * How a 2×2 window becomes one value: its mean, its maximum, or the paper's trainable
 * subsampling (window sum × coefficient[c] + bias[c]).
 */
export type PoolMode = 'average' | 'max' | 'trainable';

export interface Subsample2x2Layer {
  readonly kind: 'subsample2x2';
  readonly name: LayerName;
  readonly channels: number;
  readonly inSize: number;
  /** floor(inSize / 2): a trailing odd row and column are dropped, as PyTorch does. */
  readonly outSize: number;
  readonly mode: PoolMode;
  /** The trainable mode's tensors (present exactly when mode is 'trainable'). */
  readonly trainable?: { readonly coefficient: string; readonly bias: string };
  readonly activation: Activation;
}

export interface DenseLayer {
  readonly kind: 'dense';
  readonly name: LayerName;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly activation: Activation;
  /** [outFeatures, inFeatures] (a [out, c, 5, 5] conv over a 5×5 input is the same bytes). */
  readonly weight: string;
  readonly bias: string;
}

/** Euclidean RBF: y_i = Σ_j (x_j − centres[i, j])². */
export interface RbfLayer {
  readonly kind: 'rbf';
  readonly name: LayerName;
  readonly inFeatures: number;
  readonly classes: number;
  readonly centres: string;
}

/** The output as probabilities (softmax) or log-probabilities (log-softmax) over `features`. */
export interface SoftmaxLayer {
  readonly kind: 'softmax';
  readonly name: LayerName;
  readonly features: number;
  readonly log: boolean;
}

/**
 * A per-channel scale and shift, y = x·scale[c] + shift[c], then the activation: what a batch
 * norm that cannot fold into a conv or dense layer (one after an activation or a pool) runs as
 * (src/model/fold.ts). Over a [channels, size, size] map, or a vector of `channels` features
 * when `size` is absent.
 */
export interface ScaleShiftLayer {
  readonly kind: 'scale-shift';
  readonly name: LayerName;
  readonly channels: number;
  /** Side of each channel's map; absent over a vector (after a dense layer). */
  readonly size?: number;
  readonly activation: Activation;
  /** [channels] each. */
  readonly scale: string;
  readonly shift: string;
}

export type LayerSpec = Conv5x5Layer | Subsample2x2Layer | DenseLayer | ScaleShiftLayer | RbfLayer | SoftmaxLayer;

/**
 * A batch norm in inference mode, y = (x − runningMean)/√(runningVar + eps)·weight + bias per
 * channel, as a file holds it: its four [channels] tensors are in `spec.tensors`, and
 * `foldBatchNorms` (src/model/fold.ts) applies it when the model's weights are made, so no
 * planner ever sees one.
 */
export interface BatchNormSpec {
  readonly name: LayerName;
  readonly channels: number;
  readonly eps: number;
  readonly weight: string;
  readonly bias: string;
  readonly runningMean: string;
  readonly runningVar: string;
  /**
   * 'fold': into the weight and bias of the conv or dense layer `layer` it directly follows.
   * 'scale-shift': the scale-shift layer named `layer` (its own name) runs it, its scale and
   * shift computed from these tensors.
   */
  readonly into: { readonly mode: 'fold' | 'scale-shift'; readonly layer: LayerName };
}

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** False for the RBF centres: fixed, stored in the file but never trained. */
  readonly trainable: boolean;
}

/**
 * How a 28×28 MNIST-style image (intensity p in [0, 1], 1 = ink) becomes the model's input:
 * x = background + (ink − background)·p, with `pad` background pixels added on every side.
 */
export interface Preprocessing {
  readonly pad: number;
  readonly background: number;
  readonly ink: number;
  /**
   * Per input channel (a colour model normalised as PyTorch's `Normalize(mean[], std[])`:
   * background = −mean/std, ink = (1 − mean)/std), one entry per channel; absent = `background`
   * and `ink` for every channel.
   */
  readonly perChannel?: ReadonlyArray<{ readonly background: number; readonly ink: number }>;
}

/**
 * Background and ink of input channel `c`.
 *
 * @example
 * channelPreprocessing({ pad: 0, background: -1, ink: 1 }, 2); // { background: -1, ink: 1 }
 */
export function channelPreprocessing(preprocessing: Preprocessing, c: number): { background: number; ink: number } {
  return preprocessing.perChannel?.[c] ?? { background: preprocessing.background, ink: preprocessing.ink };
}

/** The models the trainer and the shipped files know by name. */
export type ModelId = 'classic' | 'seed';

/**
 * What the scores mean. 'logits', 'probabilities', 'log-probabilities': class = argmax.
 * 'distances' (RBF output): class = argmin.
 */
export type OutputKind = 'logits' | 'distances' | 'probabilities' | 'log-probabilities';

export interface ModelSpec {
  /** A preset's name ('seed', 'classic', 'pytorch-tutorial', …), or 'custom'. */
  readonly id: string;
  readonly title: string;
  /** Side of the square input the first layer reads. */
  readonly inputSize: number;
  /** Maps of the input (1 for grey models, 3 for RGB). */
  readonly inputChannels: number;
  readonly layers: readonly LayerSpec[];
  /** Every tensor the weights file must hold, in a canonical order. */
  readonly tensors: readonly TensorSpec[];
  /**
   * Batch norms still to apply to the file's tensors (`foldBatchNorms`); absent or empty in
   * the spec of a ModelWeights, which every planner and the reference read.
   */
  readonly batchNorms?: readonly BatchNormSpec[];
  readonly output: OutputKind;
  readonly defaultPreprocessing: Preprocessing;
  /** Class names, one per class, where the model has them. */
  readonly labels?: readonly string[];
}

/** Side of the raw images the engine takes (MNIST). */
export const kImageSize = 28;
/** Number of classes (digits). */
export const kClasses = 10;

/** The shape of a layer's output for one image: [channels, height, width] or [features]. */
export function layerOutputShape(layer: LayerSpec): number[] {
  switch (layer.kind) {
    case 'conv5x5':
      return [layer.outChannels, layer.outSize, layer.outSize];
    case 'subsample2x2':
      return [layer.channels, layer.outSize, layer.outSize];
    case 'dense':
      return [layer.outFeatures];
    case 'scale-shift':
      return layer.size === undefined ? [layer.channels] : [layer.channels, layer.size, layer.size];
    case 'rbf':
      return [layer.classes];
    case 'softmax':
      return [layer.features];
  }
}

/** Number of values a layer outputs for one image. */
export function layerOutputSize(layer: LayerSpec): number {
  return layerOutputShape(layer).reduce((a, b) => a * b, 1);
}

/** Number of values a layer reads for one image. */
export function layerInputSize(layer: LayerSpec): number {
  switch (layer.kind) {
    case 'conv5x5':
      return layer.inChannels * layer.inSize * layer.inSize;
    case 'subsample2x2':
      return layer.channels * layer.inSize * layer.inSize;
    case 'scale-shift':
      return layerOutputSize(layer);
    case 'dense':
    case 'rbf':
      return layer.inFeatures;
    case 'softmax':
      return layer.features;
  }
}

/** Start of each output map's kernels within a tabled conv weight ([k, 5, 5]). */
export function connectionOffsets(table: ReadonlyArray<ReadonlyArray<number>>): number[] {
  const offsets: number[] = [];
  let next = 0;
  for (const inputs of table) {
    offsets.push(next);
    next += inputs.length;
  }
  return offsets;
}

/** The table of a dense conv: every output map reads every input map. */
export function denseTable(inChannels: number, outChannels: number): number[][] {
  return Array.from({ length: outChannels }, () => Array.from({ length: inChannels }, (_, c) => c));
}

/** The tensors a layer reads, in the order its kernels take them. */
export function layerTensorNames(layer: LayerSpec): string[] {
  switch (layer.kind) {
    case 'conv5x5':
    case 'dense':
      return [layer.weight, layer.bias];
    case 'subsample2x2':
      return layer.trainable ? [layer.trainable.coefficient, layer.trainable.bias] : [];
    case 'scale-shift':
      return [layer.scale, layer.shift];
    case 'rbf':
      return [layer.centres];
    case 'softmax':
      return [];
  }
}

/** Count of parameters stored in a model's tensors (trainable ones only, or all). */
export function parameterCount(spec: ModelSpec, trainableOnly = true): number {
  return spec.tensors
    .filter((t) => t.trainable || !trainableOnly)
    .reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The 5×5 kernels of a conv: one per (output, input) pair its connection table lists, or
 * inChannels × outChannels without a table (the layout of its weight tensor, [kernels, 5, 5]).
 *
 * @example
 * convKernelCount(6, 16); // 96
 */
export function convKernelCount(inChannels: number, outChannels: number, connectionTable?: ReadonlyArray<ReadonlyArray<number>>): number {
  return connectionTable ? connectionTable.reduce((sum, inputs) => sum + inputs.length, 0) : inChannels * outChannels;
}

/** Multiply-adds per image, per layer (the figures in LENET5.md). */
export function multiplyAdds(layer: LayerSpec): number {
  switch (layer.kind) {
    case 'conv5x5': {
      return convKernelCount(layer.inChannels, layer.outChannels, layer.connectionTable) * 25 * layer.outSize * layer.outSize;
    }
    case 'subsample2x2':
    case 'scale-shift':
    case 'softmax':
      return 0;
    case 'dense':
      return layer.inFeatures * layer.outFeatures;
    case 'rbf':
      return layer.inFeatures * layer.classes;
  }
}

/** The activation a layer applies to its output ('none' for the RBF and softmax). */
export function layerActivation(layer: LayerSpec): Activation {
  return layer.kind === 'rbf' || layer.kind === 'softmax' ? 'none' : layer.activation;
}

/** Whether the class is the smallest score (RBF distances) rather than the largest. */
export function classIsSmallest(output: OutputKind): boolean {
  return output === 'distances';
}
