/**
 * The LeNet family as data. An architecture is written down as a small JSON description
 * (docs/formats.md) — what a safetensors file carries in `__metadata__['lenet5.architecture']`,
 * what the ONNX reader makes of a graph, what a caller passes as `architecture` — and
 * `buildArchitecture` turns it into the ModelSpec every other part reads, deriving every size
 * and tensor shape and refusing what the engine cannot run.
 *
 * The family: a square input of one or more channels (grey, RGB); 5×5 convolutions (stride 1,
 * zero padding 0–2, optional connection table); 2×2 stride-2 pooling (average, max, or the
 * paper's trainable subsampling); activations none, sigmoid, tanh, ReLU, scaled tanh; batch
 * norms (in inference mode: folded into the conv or dense layer they follow where that is
 * exact, else a per-channel scale and shift; src/model/fold.ts); dense layers (the flatten
 * before the first is implicit, in PyTorch's NCHW order); an optional Euclidean RBF output; an
 * optional final (log-)softmax.
 */
import { ModelMismatchError } from '../errors.js';
import { normalizePreprocessing } from './preprocess.js';
import {
  kActivations,
  kClasses,
  kImageSize,
  layerActivation,
  type Activation,
  type BatchNormSpec,
  type LayerSpec,
  type ModelSpec,
  type OutputKind,
  type PoolMode,
  type Preprocessing,
  type TensorSpec,
} from './spec.js';

/** One layer of the JSON description. Names and tensor names default as documented. */
export type LayerJson =
  | {
      readonly type: 'conv';
      readonly name?: string;
      readonly outChannels: number;
      /** Only 5 is supported. */
      readonly kernel?: number;
      readonly padding?: number;
      /** For each output map, the input maps that feed it (LeNet-5's C3). */
      readonly table?: ReadonlyArray<ReadonlyArray<number>>;
      readonly activation?: Activation;
      readonly weight?: string;
      readonly bias?: string;
    }
  | {
      readonly type: 'pool';
      readonly name?: string;
      readonly mode: PoolMode;
      /** Only 2 (window 2×2, stride 2) is supported. */
      readonly size?: number;
      readonly activation?: Activation;
      readonly coefficient?: string;
      readonly bias?: string;
    }
  | {
      readonly type: 'dense';
      readonly name?: string;
      readonly outFeatures: number;
      readonly activation?: Activation;
      readonly weight?: string;
      readonly bias?: string;
      /** The weight's stored shape: [out, in] (default) or [out, c, h, w] over a feature map. */
      readonly weightShape?: readonly number[];
    }
  | {
      /**
       * A batch norm in inference mode (PyTorch's BatchNorm1d/2d, ONNX BatchNormalization):
       * y = (x − runningMean)/√(runningVar + eps)·weight + bias per channel (or feature).
       * Tensors default to `${name}.weight`, `.bias`, `.running_mean`, `.running_var`.
       */
      readonly type: 'batchnorm';
      readonly name?: string;
      /** Default 1e-5 (PyTorch's). */
      readonly eps?: number;
      readonly weight?: string;
      readonly bias?: string;
      readonly runningMean?: string;
      readonly runningVar?: string;
    }
  | {
      /** y = x·scale[c] + shift[c] per channel: what a batch norm that cannot fold runs as. */
      readonly type: 'scale-shift';
      readonly name?: string;
      readonly activation?: Activation;
      readonly scale?: string;
      readonly shift?: string;
    }
  | { readonly type: 'rbf'; readonly name?: string; readonly classes: number; readonly centres?: string }
  | { readonly type: 'activation'; readonly activation: Activation }
  | { readonly type: 'softmax'; readonly name?: string; readonly log?: boolean };

/** The JSON description of a LeNet-family network (docs/formats.md). */
export interface ArchitectureJson {
  /** A title for people (or a preset's name). */
  readonly name?: string;
  /** Side of the square input (28, 32, …). */
  readonly inputSize: number;
  /** Maps of the input: 1 (grey, the default) or more (3 for RGB). */
  readonly inputChannels?: number;
  readonly layers: readonly LayerJson[];
  /**
   * How a raw image becomes the input; defaults: a grey model pads a 28×28 image to inputSize,
   * a colour model takes inputSize×inputSize (pad 0); background 0, ink 1. `mean` and `std`
   * (a number, or one per channel) say it as PyTorch's Normalize.
   */
  readonly preprocessing?: PreprocessingJson;
  /** Class names, one per class. */
  readonly labels?: readonly string[];
}

/** The description's preprocessing: `{ pad, background, ink, perChannel }`, or `{ pad, mean, std }`. */
export type PreprocessingJson = Partial<Preprocessing> & {
  readonly mean?: number | readonly number[];
  readonly std?: number | readonly number[];
};

/** Bounds that keep a description within what a LeNet is and a device can hold. */
const kMaxLayers = 64;
const kMaxChannels = 1024;
const kMaxFeatures = 65536;
const kMaxInputSize = 256;
/** Input maps a description may ask for (an image's channels, not a feature stack). */
export const kMaxInputChannels = 16;
const kMaxLabelLength = 256;
const kMaxParameters = 64 * 1024 * 1024;

/**
 * The spec of a described network. Throws ModelMismatchError saying which layer is wrong and
 * why (an unsupported kernel size, a shape that does not chain, an activation with no layer
 * before it, …).
 *
 * @example
 * const spec = buildArchitecture({
 *   inputSize: 32,
 *   layers: [
 *     { type: 'conv', outChannels: 6, activation: 'relu' }, { type: 'pool', mode: 'max' },
 *     { type: 'conv', outChannels: 16, activation: 'relu' }, { type: 'pool', mode: 'max' },
 *     { type: 'dense', outFeatures: 120, activation: 'relu' },
 *     { type: 'dense', outFeatures: 84, activation: 'relu' }, { type: 'dense', outFeatures: 10 },
 *   ],
 * });
 * spec.tensors[0]; // { name: 'conv1.weight', shape: [6, 1, 5, 5], trainable: true }
 */
export function buildArchitecture(json: ArchitectureJson, id = 'custom'): ModelSpec {
  const description = parseArchitecture(json);
  const inputSize = description.inputSize;
  const inputChannels = description.inputChannels ?? 1;
  const layers: LayerSpec[] = [];
  const tensors: TensorSpec[] = [];
  const batchNorms: BatchNormSpec[] = [];
  const counts = { conv: 0, pool: 0, dense: 0, bn: 0, scale: 0, rbf: 0, softmax: 0 };
  // What the next layer reads: a [channels, size, size] map, or a vector of features.
  let map: { channels: number; size: number } | undefined = { channels: inputChannels, size: inputSize };
  let features = inputChannels * inputSize * inputSize;
  // A batch norm folds into the conv or dense layer it directly follows (no activation between).
  let foldTarget: LayerSpec | undefined;
  const addTensor = (name: string, shape: number[], trainable = true) => {
    if (tensors.some((t) => t.name === name)) throw layerError(layers.length, `tensor name '${name}' is used twice`);
    tensors.push({ name, shape, trainable });
  };

  description.layers.forEach((layer, index) => {
    const last = layers[layers.length - 1];
    if (last && (last.kind === 'rbf' || last.kind === 'softmax')) {
      throw layerError(index, `nothing may follow the ${last.kind === 'rbf' ? 'RBF output' : 'softmax'}, found a ${layer.type} layer`);
    }
    const canFold = foldTarget !== undefined && foldTarget === last;
    foldTarget = undefined;
    switch (layer.type) {
      case 'activation': {
        if (!last) throw layerError(index, 'an activation needs a conv, pool or dense layer before it, found none');
        if (last.activation !== 'none') {
          throw layerError(index, `two activations in a row (${last.activation}, then ${layer.activation}): the engine applies one per layer`);
        }
        layers[layers.length - 1] = { ...last, activation: layer.activation };
        return;
      }
      case 'conv': {
        if (!map) throw layerError(index, 'a conv layer after a dense layer: the family flattens once, before the first dense layer');
        const kernel = layer.kernel ?? 5;
        if (kernel !== 5) throw layerError(index, `only 5×5 convolutions are supported, found ${kernel}×${kernel}`);
        const padding = layer.padding ?? 0;
        const outSize = map.size + 2 * padding - 4;
        if (outSize < 1) throw layerError(index, `a 5×5 conv with padding ${padding} needs an input of at least ${5 - 2 * padding}×${5 - 2 * padding}, found ${map.size}×${map.size}`);
        const name = layer.name ?? `conv${++counts.conv}`;
        const table = layer.table;
        if (table) checkTable(index, table, map.channels, layer.outChannels);
        const weight = layer.weight ?? `${name}.weight`;
        const bias = layer.bias ?? `${name}.bias`;
        const kernels = table ? table.reduce((s, t) => s + t.length, 0) : 0;
        addTensor(weight, table ? [kernels, 5, 5] : [layer.outChannels, map.channels, 5, 5]);
        addTensor(bias, [layer.outChannels]);
        layers.push({
          kind: 'conv5x5', name, inChannels: map.channels, outChannels: layer.outChannels, inSize: map.size,
          padding, outSize, ...(table ? { connectionTable: table.map((t) => [...t]) } : {}),
          activation: layer.activation ?? 'none', weight, bias,
        });
        if (!layer.activation || layer.activation === 'none') foldTarget = layers[layers.length - 1];
        map = { channels: layer.outChannels, size: outSize };
        features = layer.outChannels * outSize * outSize;
        return;
      }
      case 'pool': {
        if (!map) throw layerError(index, 'a pool layer after a dense layer: pooling needs a feature map');
        const size = layer.size ?? 2;
        if (size !== 2) throw layerError(index, `only 2×2 pooling with stride 2 is supported, found ${size}×${size}`);
        if (map.size < 2) throw layerError(index, `2×2 pooling needs a map of at least 2×2, found ${map.size}×${map.size}`);
        const name = layer.name ?? `pool${++counts.pool}`;
        const outSize = Math.floor(map.size / 2);
        let trainable: { coefficient: string; bias: string } | undefined;
        if (layer.mode === 'trainable') {
          trainable = { coefficient: layer.coefficient ?? `${name}.coefficient`, bias: layer.bias ?? `${name}.bias` };
          addTensor(trainable.coefficient, [map.channels]);
          addTensor(trainable.bias, [map.channels]);
        } else if (layer.coefficient !== undefined || layer.bias !== undefined) {
          throw layerError(index, `only the trainable mode has a coefficient and bias, found them on a ${layer.mode} pool`);
        }
        layers.push({
          kind: 'subsample2x2', name, channels: map.channels, inSize: map.size, outSize, mode: layer.mode,
          ...(trainable ? { trainable } : {}), activation: layer.activation ?? 'none',
        });
        map = { channels: map.channels, size: outSize };
        features = map.channels * outSize * outSize;
        return;
      }
      case 'dense': {
        const name = layer.name ?? `fc${++counts.dense}`;
        const weight = layer.weight ?? `${name}.weight`;
        const bias = layer.bias ?? `${name}.bias`;
        const shape = layer.weightShape ? [...layer.weightShape] : [layer.outFeatures, features];
        if (!denseShapeFits(shape, layer.outFeatures, features, map)) {
          const mapShape = map ? ` or [${layer.outFeatures}, ${map.channels}, ${map.size}, ${map.size}]` : '';
          throw layerError(index, `dense weight shape must be [${layer.outFeatures}, ${features}]${mapShape}, found [${shape.join(', ')}]`);
        }
        addTensor(weight, shape);
        addTensor(bias, [layer.outFeatures]);
        layers.push({
          kind: 'dense', name, inFeatures: features, outFeatures: layer.outFeatures,
          activation: layer.activation ?? 'none', weight, bias,
        });
        if (!layer.activation || layer.activation === 'none') foldTarget = layers[layers.length - 1];
        map = undefined;
        features = layer.outFeatures;
        return;
      }
      case 'batchnorm': {
        if (!last) throw layerError(index, 'a batchnorm needs a conv, pool or dense layer before it, found none');
        const name = layer.name ?? `bn${++counts.bn}`;
        const channels = map ? map.channels : features;
        const names = {
          weight: layer.weight ?? `${name}.weight`,
          bias: layer.bias ?? `${name}.bias`,
          runningMean: layer.runningMean ?? `${name}.running_mean`,
          runningVar: layer.runningVar ?? `${name}.running_var`,
        };
        for (const tensor of Object.values(names)) addTensor(tensor, [channels]);
        if (canFold) {
          batchNorms.push({ name, channels, eps: layer.eps ?? 1e-5, ...names, into: { mode: 'fold', layer: last.name } });
          foldTarget = last; // a second batch norm folds into the same layer
        } else {
          layers.push({ kind: 'scale-shift', name, channels, ...(map ? { size: map.size } : {}), activation: 'none', scale: `${name}.scale`, shift: `${name}.shift` });
          batchNorms.push({ name, channels, eps: layer.eps ?? 1e-5, ...names, into: { mode: 'scale-shift', layer: name } });
        }
        return;
      }
      case 'scale-shift': {
        if (!last) throw layerError(index, 'a scale-shift layer needs a conv, pool or dense layer before it, found none');
        const name = layer.name ?? `scale${++counts.scale}`;
        const channels = map ? map.channels : features;
        const scale = layer.scale ?? `${name}.scale`;
        const shift = layer.shift ?? `${name}.shift`;
        addTensor(scale, [channels]);
        addTensor(shift, [channels]);
        layers.push({ kind: 'scale-shift', name, channels, ...(map ? { size: map.size } : {}), activation: layer.activation ?? 'none', scale, shift });
        return;
      }
      case 'rbf': {
        const name = layer.name ?? (counts.rbf++ === 0 ? 'rbf' : `rbf${counts.rbf}`);
        const centres = layer.centres ?? `${name}.centres`;
        addTensor(centres, [layer.classes, features], false);
        layers.push({ kind: 'rbf', name, inFeatures: features, classes: layer.classes, centres });
        map = undefined;
        features = layer.classes;
        return;
      }
      case 'softmax': {
        if (map) throw layerError(index, 'softmax needs a vector of scores (after a dense or RBF layer), found a feature map');
        const log = layer.log ?? false;
        const name = layer.name ?? (counts.softmax++ === 0 ? (log ? 'log_softmax' : 'softmax') : `softmax${counts.softmax}`);
        layers.push({ kind: 'softmax', name, features, log });
        return;
      }
    }
  });

  checkNames(layers);
  const last = layers[layers.length - 1];
  if (!last) throw new ModelMismatchError('an architecture needs at least one layer, found none');
  if (map || features !== kClasses) {
    const found = map ? `a ${map.channels}@${map.size}×${map.size} feature map` : `${features} values`;
    throw new ModelMismatchError(`the network must end in ${kClasses} class scores (one per digit), found ${found}`);
  }
  const parameters = tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  if (parameters > kMaxParameters) {
    throw new ModelMismatchError(`the network has ${parameters} parameters; the engine takes at most ${kMaxParameters}`);
  }
  const output: OutputKind =
    last.kind === 'rbf' ? 'distances' : last.kind === 'softmax' ? (last.log ? 'log-probabilities' : 'probabilities') : 'logits';
  if (output !== 'distances' && layers.some((l) => l.kind === 'rbf')) {
    throw new ModelMismatchError('an RBF layer must be the last layer (its distances are the class scores)');
  }
  const pad = inputChannels === 1 ? (inputSize - kImageSize) / 2 : 0;
  const labels = description.labels;
  if (labels && labels.length !== features) {
    throw new ModelMismatchError(`labels: expected one class name per class (${features}), found ${labels.length}`);
  }
  return {
    id,
    title: description.name ?? 'LeNet-family network',
    inputSize,
    inputChannels,
    layers,
    tensors,
    ...(batchNorms.length > 0 ? { batchNorms } : {}),
    output,
    defaultPreprocessing: {
      pad: Number.isInteger(pad) && pad >= 0 ? pad : 0,
      background: 0,
      ink: 1,
      ...preprocessingOf(description.preprocessing, inputChannels),
    },
    ...(labels ? { labels: [...labels] } : {}),
  };
}

/**
 * The JSON description of a spec: `buildArchitecture(architectureJsonOf(spec))` gives the
 * same layers and tensors. What `saveWeights` writes into a file's metadata.
 *
 * @example
 * JSON.stringify(architectureJsonOf(seedModel)); // '{"name":"…","inputSize":28,"layers":[…]}'
 */
export function architectureJsonOf(spec: ModelSpec): ArchitectureJson {
  const shapeOf = (name: string) => spec.tensors.find((t) => t.name === name)?.shape;
  const batchNorms = spec.batchNorms ?? [];
  const batchNormJson = (bn: BatchNormSpec): LayerJson => ({
    type: 'batchnorm', name: bn.name, eps: bn.eps, weight: bn.weight, bias: bn.bias, runningMean: bn.runningMean, runningVar: bn.runningVar,
  });
  // A folded batch norm's activation sits on the layer it folds into: written after the batch norm.
  const layers: LayerJson[] = spec.layers.flatMap((layer): LayerJson[] => {
    const folded = batchNorms.filter((bn) => bn.into.mode === 'fold' && bn.into.layer === layer.name);
    const own = batchNorms.find((bn) => bn.into.mode === 'scale-shift' && bn.into.layer === layer.name);
    const activation = layerActivation(layer);
    if (own) return [batchNormJson(own), ...(activation !== 'none' ? [{ type: 'activation', activation } as const] : [])];
    const json = layerJson(layer);
    if (folded.length === 0) return [json];
    return [{ ...json, activation: 'none' } as LayerJson, ...folded.map(batchNormJson), { type: 'activation', activation }];
  });
  return {
    name: spec.title,
    inputSize: spec.inputSize,
    ...(spec.inputChannels !== 1 ? { inputChannels: spec.inputChannels } : {}),
    layers,
    preprocessing: spec.defaultPreprocessing,
    ...(spec.labels ? { labels: spec.labels } : {}),
  };

  function layerJson(layer: LayerSpec): LayerJson {
    switch (layer.kind) {
      case 'conv5x5':
        return {
          type: 'conv', name: layer.name, outChannels: layer.outChannels, padding: layer.padding,
          ...(layer.connectionTable ? { table: layer.connectionTable } : {}),
          activation: layer.activation, weight: layer.weight, bias: layer.bias,
        };
      case 'subsample2x2':
        return {
          type: 'pool', name: layer.name, mode: layer.mode, activation: layer.activation,
          ...(layer.trainable ? { coefficient: layer.trainable.coefficient, bias: layer.trainable.bias } : {}),
        };
      case 'dense': {
        const shape = shapeOf(layer.weight);
        return {
          type: 'dense', name: layer.name, outFeatures: layer.outFeatures, activation: layer.activation,
          weight: layer.weight, bias: layer.bias, ...(shape && shape.length !== 2 ? { weightShape: shape } : {}),
        };
      }
      case 'scale-shift':
        return { type: 'scale-shift', name: layer.name, activation: layer.activation, scale: layer.scale, shift: layer.shift };
      case 'rbf':
        return { type: 'rbf', name: layer.name, classes: layer.classes, centres: layer.centres };
      case 'softmax':
        return { type: 'softmax', name: layer.name, log: layer.log };
    }
  }
}

/**
 * One line that says what the network is, for people: every layer in order.
 *
 * @example
 * describeArchitecture(seedModel);
 * // '28×28 → conv 1→6 5×5 pad 2, sigmoid → avg pool → conv 6→16 5×5, sigmoid → avg pool → dense 400→120, sigmoid → …'
 */
export function describeArchitecture(spec: ModelSpec): string {
  const withActivation = (text: string, activation: Activation) => (activation === 'none' ? text : `${text}, ${activation}`);
  const batchNorm = (layer: LayerSpec) =>
    (spec.batchNorms ?? []).some((bn) => bn.into.mode === 'fold' && bn.into.layer === layer.name) ? ' + batch norm' : '';
  const parts = spec.layers.map((layer) => {
    switch (layer.kind) {
      case 'conv5x5': {
        const pad = layer.padding > 0 ? ` pad ${layer.padding}` : '';
        const table = layer.connectionTable ? ' (table)' : '';
        return withActivation(`conv ${layer.inChannels}→${layer.outChannels} 5×5${pad}${table}${batchNorm(layer)}`, layer.activation);
      }
      case 'subsample2x2': {
        const mode = layer.mode === 'average' ? 'avg pool' : layer.mode === 'max' ? 'max pool' : 'trainable subsampling';
        return withActivation(mode, layer.activation);
      }
      case 'dense':
        return withActivation(`dense ${layer.inFeatures}→${layer.outFeatures}${batchNorm(layer)}`, layer.activation);
      case 'scale-shift': {
        const isBatchNorm = (spec.batchNorms ?? []).some((bn) => bn.into.layer === layer.name);
        return withActivation(isBatchNorm ? 'batch norm' : 'scale-shift', layer.activation);
      }
      case 'rbf':
        return `RBF ${layer.inFeatures}→${layer.classes}`;
      case 'softmax':
        return layer.log ? 'log-softmax' : 'softmax';
    }
  });
  const input = `${spec.inputChannels === 1 ? '' : `${spec.inputChannels}×`}${spec.inputSize}×${spec.inputSize}`;
  return [input, ...parts].join(' → ') + ` ⇒ ${spec.output}`;
}

/**
 * Checks an untrusted description (parsed JSON from a file or a caller) field by field, so
 * that `buildArchitecture` sees only well-typed values. Unknown fields are errors: a typo
 * must not silently fall back to a default.
 *
 * @example
 * parseArchitecture(JSON.parse(metadata['lenet5.architecture']!));
 */
export function parseArchitecture(value: unknown): ArchitectureJson {
  const root = record(value, 'the architecture');
  allowOnly(root, ['name', 'inputSize', 'inputChannels', 'layers', 'preprocessing', 'labels'], 'the architecture');
  const inputSize = integer(root['inputSize'], 'inputSize', 5, kMaxInputSize);
  const inputChannels = root['inputChannels'] === undefined ? undefined : integer(root['inputChannels'], 'inputChannels', 1, kMaxInputChannels);
  const rawLayers = root['layers'];
  if (!Array.isArray(rawLayers) || rawLayers.length === 0 || rawLayers.length > kMaxLayers) {
    throw new ModelMismatchError(`architecture 'layers' must be a list of 1 to ${kMaxLayers} layers, found ${describeValue(rawLayers)}`);
  }
  const name = root['name'] === undefined ? undefined : text(root['name'], 'name');
  const layers = rawLayers.map((raw, i) => parseLayer(raw, i));
  const preprocessing = root['preprocessing'] === undefined ? undefined : parsePreprocessing(root['preprocessing']);
  const labels = root['labels'] === undefined ? undefined : labelsOf(root['labels'], 'labels');
  return {
    ...(name !== undefined ? { name } : {}),
    inputSize,
    ...defined({ inputChannels }),
    layers,
    ...(preprocessing ? { preprocessing } : {}),
    ...(labels ? { labels } : {}),
  };
}

/**
 * Checks class names (a description's `labels`, a file's, a caller's): a list of 1 to 1024
 * non-empty strings of at most 256 characters. The count is checked against the model's
 * classes where the model is known.
 *
 * @example
 * labelsOf(['airplane', 'automobile', …], 'labels');
 */
export function labelsOf(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > kMaxFeatures) {
    throw new ModelMismatchError(`${what}: expected a list of class names, found ${describeValue(value)}`);
  }
  return value.map((label, i) => {
    if (typeof label !== 'string' || label.length === 0 || label.length > kMaxLabelLength) {
      throw new ModelMismatchError(`${what}[${i}]: expected a class name (a non-empty string of at most ${kMaxLabelLength} characters), found ${describeValue(label)}`);
    }
    return label;
  });
}

function parseLayer(raw: unknown, index: number): LayerJson {
  const where = `layer ${index}`;
  const l = record(raw, where);
  const type = l['type'];
  const opt = <T>(key: string, read: (v: unknown, what: string) => T): T | undefined =>
    l[key] === undefined ? undefined : read(l[key], `${where}.${key}`);
  const activation = () => opt('activation', activationOf);
  const nameOf = () => opt('name', text);
  switch (type) {
    case 'conv':
      allowOnly(l, ['type', 'name', 'outChannels', 'kernel', 'padding', 'table', 'activation', 'weight', 'bias'], where);
      return {
        type, outChannels: integer(l['outChannels'], `${where}.outChannels`, 1, kMaxChannels),
        ...defined({
          name: nameOf(), kernel: opt('kernel', (v, w) => integer(v, w, 1, 32)), padding: opt('padding', (v, w) => integer(v, w, 0, 2)),
          table: opt('table', tableOf), activation: activation(), weight: opt('weight', text), bias: opt('bias', text),
        }),
      };
    case 'pool': {
      allowOnly(l, ['type', 'name', 'mode', 'size', 'activation', 'coefficient', 'bias'], where);
      const mode = l['mode'];
      if (mode !== 'average' && mode !== 'max' && mode !== 'trainable') {
        throw new ModelMismatchError(`${where}.mode: expected 'average', 'max' or 'trainable', found ${describeValue(mode)}`);
      }
      return {
        type, mode,
        ...defined({
          name: nameOf(), size: opt('size', (v, w) => integer(v, w, 1, 32)), activation: activation(),
          coefficient: opt('coefficient', text), bias: opt('bias', text),
        }),
      };
    }
    case 'dense':
      allowOnly(l, ['type', 'name', 'outFeatures', 'activation', 'weight', 'bias', 'weightShape'], where);
      return {
        type, outFeatures: integer(l['outFeatures'], `${where}.outFeatures`, 1, kMaxFeatures),
        ...defined({
          name: nameOf(), activation: activation(), weight: opt('weight', text), bias: opt('bias', text),
          weightShape: opt('weightShape', shapeOf),
        }),
      };
    case 'batchnorm':
      allowOnly(l, ['type', 'name', 'eps', 'weight', 'bias', 'runningMean', 'runningVar'], where);
      return {
        type,
        ...defined({
          name: nameOf(), eps: opt('eps', positiveFinite), weight: opt('weight', text), bias: opt('bias', text),
          runningMean: opt('runningMean', text), runningVar: opt('runningVar', text),
        }),
      };
    case 'scale-shift':
      allowOnly(l, ['type', 'name', 'activation', 'scale', 'shift'], where);
      return { type, ...defined({ name: nameOf(), activation: activation(), scale: opt('scale', text), shift: opt('shift', text) }) };
    case 'rbf':
      allowOnly(l, ['type', 'name', 'classes', 'centres'], where);
      return { type, classes: integer(l['classes'], `${where}.classes`, 1, kMaxFeatures), ...defined({ name: nameOf(), centres: opt('centres', text) }) };
    case 'activation':
      allowOnly(l, ['type', 'activation'], where);
      return { type, activation: activationOf(l['activation'], `${where}.activation`) };
    case 'softmax':
      allowOnly(l, ['type', 'name', 'log'], where);
      return { type, ...defined({ name: nameOf(), log: opt('log', booleanOf) }) };
    default:
      throw new ModelMismatchError(
        `${where}.type: expected 'conv', 'pool', 'dense', 'batchnorm', 'scale-shift', 'rbf', 'activation' or 'softmax', found ${describeValue(type)}`,
      );
  }
}

function parsePreprocessing(raw: unknown): PreprocessingJson {
  const p = record(raw, 'preprocessing');
  allowOnly(p, ['pad', 'background', 'ink', 'perChannel', 'mean', 'std'], 'preprocessing');
  const finite = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelMismatchError(`${what}: expected a finite number, found ${describeValue(v)}`);
    return v;
  };
  const numbers = (v: unknown, what: string): number | number[] => {
    if (!Array.isArray(v)) return finite(v, what);
    if (v.length < 1 || v.length > kMaxInputChannels) throw new ModelMismatchError(`${what}: expected a number or 1 to ${kMaxInputChannels} numbers, found ${describeValue(v)}`);
    return v.map((x, i) => finite(x, `${what}[${i}]`));
  };
  const perChannel = (v: unknown, what: string) => {
    if (!Array.isArray(v) || v.length < 1 || v.length > kMaxInputChannels) throw new ModelMismatchError(`${what}: expected 1 to ${kMaxInputChannels} { background, ink } entries, found ${describeValue(v)}`);
    return v.map((entry, i) => {
      const e = record(entry, `${what}[${i}]`);
      allowOnly(e, ['background', 'ink'], `${what}[${i}]`);
      return { background: finite(e['background'], `${what}[${i}].background`), ink: finite(e['ink'], `${what}[${i}].ink`) };
    });
  };
  const read = <T>(key: string, reader: (v: unknown, what: string) => T): T | undefined =>
    p[key] === undefined ? undefined : reader(p[key], `preprocessing.${key}`);
  return defined({
    pad: read('pad', (v, what) => integer(v, what, 0, 64)),
    background: read('background', finite),
    ink: read('ink', finite),
    perChannel: read('perChannel', perChannel),
    mean: read('mean', numbers),
    std: read('std', numbers),
  });
}

/** A description's preprocessing for a model of `channels` input maps. */
function preprocessingOf(json: PreprocessingJson | undefined, channels: number): Partial<Preprocessing> {
  if (!json) return {};
  const { mean, std, perChannel, ...rest } = json;
  const fail = (message: string) => new ModelMismatchError(`preprocessing: ${message}`);
  if (mean !== undefined || std !== undefined) {
    if (rest.background !== undefined || rest.ink !== undefined || perChannel) throw fail('give mean and std, or background and ink, not both');
    if (mean === undefined || std === undefined) throw fail('mean and std go together; found only one');
    return { ...defined({ pad: rest.pad }), ...normalizePreprocessing(mean, std, channels, fail) };
  }
  if (perChannel && perChannel.length !== channels) throw fail(`perChannel: expected one entry per input channel (${channels}), found ${perChannel.length}`);
  perChannel?.forEach((entry, c) => {
    if (entry.ink === entry.background) throw fail(`perChannel[${c}]: expected an ink different from the background (${entry.background}), found ${entry.ink}`);
  });
  return { ...rest, ...(perChannel ? { perChannel, background: perChannel[0]!.background, ink: perChannel[0]!.ink } : {}) };
}

function checkTable(index: number, table: ReadonlyArray<ReadonlyArray<number>>, inChannels: number, outChannels: number): void {
  if (table.length !== outChannels) {
    throw layerError(index, `connection table needs one entry per output map (${outChannels}), found ${table.length}`);
  }
  table.forEach((inputs, o) => {
    const ascending = inputs.every((c, j) => j === 0 || c > inputs[j - 1]!);
    if (inputs.length === 0 || !ascending || inputs.some((c) => c < 0 || c >= inChannels)) {
      throw layerError(index, `connection table entry ${o} must list distinct input maps 0…${inChannels - 1} in ascending order, found [${inputs.join(', ')}]`);
    }
  });
}

/** A dense weight is [out, in], or [out, c, h, w] over the c×h×w map it reads. */
export function denseShapeFits(
  shape: readonly number[],
  outFeatures: number,
  inFeatures: number,
  map: { channels: number; size: number } | undefined,
): boolean {
  if (shape.length === 2) return shape[0] === outFeatures && shape[1] === inFeatures;
  return !!map && shape.length === 4 && shape[0] === outFeatures && shape[1] === map.channels && shape[2] === map.size && shape[3] === map.size;
}

function checkNames(layers: readonly LayerSpec[]): void {
  const seen = new Set<string>();
  for (const layer of layers) {
    if (seen.has(layer.name)) throw new ModelMismatchError(`two layers are named '${layer.name}': layer names must be unique`);
    seen.add(layer.name);
  }
}

function layerError(index: number, message: string): ModelMismatchError {
  return new ModelMismatchError(`architecture layer ${index}: ${message}`);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelMismatchError(`${what} must be a JSON object, found ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function allowOnly(value: Record<string, unknown>, keys: readonly string[], what: string): void {
  const unknown = Object.keys(value).filter((k) => !keys.includes(k));
  if (unknown.length > 0) {
    throw new ModelMismatchError(`${what}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 4).map((k) => `'${k}'`).join(', ')}; expected only ${keys.join(', ')}`);
  }
}

function integer(value: unknown, what: string, low: number, high: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < low || value > high) {
    throw new ModelMismatchError(`${what}: expected an integer from ${low} to ${high}, found ${describeValue(value)}`);
  }
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new ModelMismatchError(`${what}: expected a non-empty string of at most 256 characters, found ${describeValue(value)}`);
  }
  return value;
}

function positiveFinite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ModelMismatchError(`${what}: expected a finite number above 0, found ${describeValue(value)}`);
  }
  return value;
}

function booleanOf(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new ModelMismatchError(`${what}: expected true or false, found ${describeValue(value)}`);
  return value;
}

function activationOf(value: unknown, what: string): Activation {
  if (!kActivations.includes(value as Activation)) {
    throw new ModelMismatchError(`${what}: expected one of ${kActivations.map((a) => `'${a}'`).join(', ')}, found ${describeValue(value)}`);
  }
  return value as Activation;
}

function tableOf(value: unknown, what: string): number[][] {
  if (!Array.isArray(value) || value.length > kMaxChannels) throw new ModelMismatchError(`${what}: expected a list of lists of input maps, found ${describeValue(value)}`);
  return value.map((row, o) => {
    if (!Array.isArray(row) || row.length > kMaxChannels) throw new ModelMismatchError(`${what}[${o}]: expected a list of input maps, found ${describeValue(row)}`);
    return row.map((c, j) => integer(c, `${what}[${o}][${j}]`, 0, kMaxChannels - 1));
  });
}

function shapeOf(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > 4) throw new ModelMismatchError(`${what}: expected a shape of 1 to 4 dimensions, found ${describeValue(value)}`);
  return value.map((d, i) => integer(d, `${what}[${i}]`, 1, kMaxFeatures));
}

/** The object without its undefined fields (so optional fields stay absent). */
function defined<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 37)}…` : value}'`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}
