/**
 * The whole network as the fused kernel sees it: the fixed LeNet-5 shape (conv → subsample →
 * conv → subsample → dense… → dense or RBF), read from a model description, and the packed
 * weight buffer laid out at load time for the kernel's access pattern.
 *
 * Packing, one Float32Array, every section starting on a multiple of 4 floats:
 * - conv weights as stored ([kernels, 5, 5]; a dense conv is the table {0…in−1} per map),
 *   then the conv bias;
 * - subsampling coefficient and bias per map (plain average pooling becomes 1/4 and 0, so
 *   one kernel serves both models);
 * - each dense (and the RBF) layer as [out/4][in][4]: the 4 weights of 4 consecutive outputs
 *   for one input sit together, so one vec4 load feeds 4 accumulators. Outputs are padded to a
 *   multiple of 4 with zero rows; the bias (or nothing, for the RBF) follows, padded alike.
 */
import { ModelMismatchError } from '../errors.js';
import { tensorOf, type ModelWeights } from '../model/model-weights.js';
import { denseTable } from '../reference/layers.js';
import {
  connectionOffsets,
  type Activation,
  type Conv5x5Layer,
  type DenseLayer,
  type LayerSpec,
  type ModelSpec,
  type RbfLayer,
  type Subsample2x2Layer,
} from '../model/spec.js';

/**
 * Most 5×5 kernels one conv stage may have: the lane kernel bakes the conv weights into its
 * code, and SwiftShader's compile time grows with it (LeNet-5's stages have 6 and 96).
 */
export const kMaxFusedKernels = 128;

/** A conv layer followed by its subsampling, fused into one stage. */
export interface FusedConvStage {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inSize: number;
  readonly padding: number;
  /** Conv output side (before subsampling). */
  readonly convSize: number;
  /** Side after subsampling. */
  readonly poolSize: number;
  readonly table: ReadonlyArray<ReadonlyArray<number>>;
  readonly convActivation: Activation;
  readonly poolActivation: Activation;
  /** Float offsets into the packed buffer. */
  readonly weightOffset: number;
  readonly biasOffset: number;
  readonly coefficientOffset: number;
  readonly poolBiasOffset: number;
}

/** A dense or RBF layer in [out/4][in][4] layout. */
export interface FusedVectorStage {
  readonly kind: 'dense' | 'rbf';
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** outFeatures rounded up to a multiple of 4. */
  readonly paddedOut: number;
  readonly activation: Activation;
  readonly weightOffset: number;
  /** −1 for the RBF (no bias). */
  readonly biasOffset: number;
}

export interface FusedLayout {
  readonly inputSize: number;
  readonly convs: readonly [FusedConvStage, FusedConvStage];
  readonly vectors: readonly FusedVectorStage[];
  readonly classes: number;
  /** Total floats in the packed buffer (a multiple of 4). */
  readonly floats: number;
}

/**
 * Reads a model description into the fused kernel's shape, or throws ModelMismatchError when
 * the model is not conv → subsample → conv → subsample → dense… → dense|rbf.
 *
 * @example
 * const layout = fusedLayout(seedModel);
 * layout.vectors.length; // 3 (fc1, fc2, fc3)
 */
export function fusedLayout(spec: ModelSpec): FusedLayout {
  const layers = spec.layers;
  const [c1, p1, c2, p2, ...rest] = layers;
  const conv = (l: LayerSpec | undefined): Conv5x5Layer => expectKind(spec, l, 'conv5x5');
  const pool = (l: LayerSpec | undefined): Subsample2x2Layer => expectKind(spec, l, 'subsample2x2');
  let next = 0;
  const take = (floats: number) => {
    const at = next;
    next += Math.ceil(floats / 4) * 4;
    return at;
  };
  const convStage = (c: Conv5x5Layer, p: Subsample2x2Layer): FusedConvStage => {
    if (p.channels !== c.outChannels || p.inSize !== c.outSize || c.outSize % 2 !== 0) {
      throw new ModelMismatchError(`fused plan: ${p.name} does not subsample ${c.name}'s ${c.outChannels}@${c.outSize}²`);
    }
    if (p.mode === 'max') throw new ModelMismatchError(`fused plan: ${p.name} is max pooling, which the fused kernel does not compute`);
    const table = c.connectionTable ?? denseTable(c.inChannels, c.outChannels);
    const kernels = table.reduce((s, t) => s + t.length, 0);
    if (kernels > kMaxFusedKernels) {
      throw new ModelMismatchError(
        `fused plan: ${c.name} has ${kernels} 5×5 kernels; the fused kernel bakes at most ${kMaxFusedKernels} per conv into its code (LeNet-5 has 6 and 96)`,
      );
    }
    return {
      inChannels: c.inChannels,
      outChannels: c.outChannels,
      inSize: c.inSize,
      padding: c.padding,
      convSize: c.outSize,
      poolSize: p.outSize,
      table,
      convActivation: c.activation,
      poolActivation: p.activation,
      weightOffset: take(kernels * 25),
      biasOffset: take(c.outChannels),
      coefficientOffset: take(c.outChannels),
      poolBiasOffset: take(c.outChannels),
    };
  };
  const first = convStage(conv(c1), pool(p1));
  const second = convStage(conv(c2), pool(p2));
  if (first.inChannels !== 1 || second.inChannels !== first.outChannels || second.inSize !== first.poolSize) {
    throw new ModelMismatchError(`fused plan: layer shapes of '${spec.id}' do not chain`);
  }
  let features = second.outChannels * second.poolSize * second.poolSize;
  const vectors: FusedVectorStage[] = rest.map((l, i) => {
    if (l.kind !== 'dense' && l.kind !== 'rbf') throw mismatch(spec, l, 'dense or rbf');
    if (l.kind === 'rbf' && i !== rest.length - 1) throw mismatch(spec, l, 'dense (rbf only last)');
    const out = l.kind === 'dense' ? l.outFeatures : l.classes;
    if (l.inFeatures !== features) throw new ModelMismatchError(`fused plan: ${l.name} reads ${l.inFeatures}, gets ${features}`);
    features = out;
    const paddedOut = Math.ceil(out / 4) * 4;
    return {
      kind: l.kind,
      inFeatures: l.inFeatures,
      outFeatures: out,
      paddedOut,
      activation: l.kind === 'dense' ? l.activation : 'none',
      weightOffset: take(paddedOut * l.inFeatures),
      biasOffset: l.kind === 'dense' ? take(paddedOut) : -1,
    };
  });
  if (vectors.length === 0) throw new ModelMismatchError(`fused plan: '${spec.id}' has no output layer`);
  return { inputSize: spec.inputSize, convs: [first, second], vectors, classes: features, floats: next };
}

/**
 * The packed weights for `fusedLayout(weights.spec)`: see the header for the layout.
 *
 * @example
 * const packed = packFusedWeights(weights, fusedLayout(weights.spec));
 * device.queue.writeBuffer(buffer, 0, packed);
 */
export function packFusedWeights(weights: ModelWeights, layout: FusedLayout): Float32Array {
  const packed = new Float32Array(layout.floats);
  const layers = weights.spec.layers;
  layout.convs.forEach((stage, i) => {
    const c = layers[2 * i] as Conv5x5Layer;
    const p = layers[2 * i + 1] as Subsample2x2Layer;
    packed.set(tensorOf(weights, c.weight), stage.weightOffset);
    packed.set(tensorOf(weights, c.bias), stage.biasOffset);
    if (p.trainable) {
      packed.set(tensorOf(weights, p.trainable.coefficient), stage.coefficientOffset);
      packed.set(tensorOf(weights, p.trainable.bias), stage.poolBiasOffset);
    } else {
      packed.fill(0.25, stage.coefficientOffset, stage.coefficientOffset + stage.outChannels);
    }
  });
  layout.vectors.forEach((stage, i) => {
    const l = layers[4 + i] as DenseLayer | RbfLayer;
    const w = tensorOf(weights, l.kind === 'dense' ? l.weight : l.centres);
    for (let o = 0; o < stage.outFeatures; o++) {
      for (let j = 0; j < stage.inFeatures; j++) {
        packed[stage.weightOffset + (Math.floor(o / 4) * stage.inFeatures + j) * 4 + (o % 4)] = w[o * stage.inFeatures + j]!;
      }
    }
    if (l.kind === 'dense') packed.set(tensorOf(weights, l.bias), stage.biasOffset);
  });
  return packed;
}

/** Start of each output map's kernels in a stage's weights, as `connectionOffsets` gives. */
export function tableOffsets(stage: FusedConvStage): number[] {
  return connectionOffsets(stage.table);
}

function expectKind<K extends LayerSpec['kind']>(
  spec: ModelSpec,
  layer: LayerSpec | undefined,
  kind: K,
): Extract<LayerSpec, { kind: K }> {
  if (!layer || layer.kind !== kind) throw mismatch(spec, layer, kind);
  return layer as Extract<LayerSpec, { kind: K }>;
}

function mismatch(spec: ModelSpec, layer: LayerSpec | undefined, expected: string): ModelMismatchError {
  return new ModelMismatchError(
    `fused plan: model '${spec.id}' needs ${expected} at this point, found ${layer ? `${layer.kind} ${layer.name}` : 'no layer'}`,
  );
}
