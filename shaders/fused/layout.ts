/**
 * The contract between the fused kernels (this folder: workgroup.ts for GPUs, lanes-packed.ts
 * and lanes-split.ts for CPU implementations) and their plan (src/gpu/fused-plan.ts): the
 * whole network as the kernels see it, read from a model description; the packed weight
 * buffer laid out at load time for the kernels' access pattern; the bindings; and what a
 * kernel module hands the plan (`FusedKernel`).
 *
 * The network: conv → pool → conv → pool → dense… → dense or RBF, then optionally a
 * (log-)softmax. Any activation after any layer, any pooling mode (average, max, trainable;
 * floor for odd sizes), zero padding on either conv. `fusedLayout` declines the rest, and
 * models too big for the kernels to run well, with the reason.
 *
 * Packing, one Float32Array, every section starting on a multiple of 4 floats:
 * - conv weights as stored ([kernels, 5, 5]; a dense conv is the table {0…in−1} per map),
 *   then the conv bias;
 * - subsampling coefficient and bias per map (plain average pooling becomes 1/4 and 0, so
 *   one code path serves both; max pooling reads neither, and they stay zero);
 * - each dense (and the RBF) layer as [out/4][in][4]: the 4 weights of 4 consecutive outputs
 *   for one input sit together, so one vec4 load feeds 4 accumulators. Outputs are padded to a
 *   multiple of 4 with zero rows; the bias (or nothing, for the RBF) follows, padded alike.
 */
import { ModelMismatchError } from '../../src/errors.js';
import { tensorOf, type ModelWeights } from '../../src/model/model-weights.js';
import {
  denseTable,
  type Activation,
  type Conv5x5Layer,
  type DenseLayer,
  type LayerSpec,
  type ModelSpec,
  type PoolMode,
  type RbfLayer,
  type Subsample2x2Layer,
} from '../../src/model/spec.js';

/**
 * Most 5×5 kernels one conv stage may have: the lane kernels bake the conv weights into their
 * code, and SwiftShader's compile time grows with it (LeNet-5's stages have 6 and 96; the
 * seed's packed lane kernel is 384 KB of WGSL).
 */
export const kMaxFusedKernels = 128;

/**
 * Most workgroup memory the kernels may use for one image (the workgroup kernel and the split
 * lane kernel keep the padded input, both stages' maps and the dense outputs there): WebGPU's
 * guaranteed maxComputeWorkgroupStorageSize.
 */
export const kMaxFusedWorkgroupBytes = 16384;

/** WebGPU's guaranteed maxStorageBufferBindingSize: the packed weights are one binding. */
const kMaxBindingBytes = 134217728;

/**
 * The bindings of every fused kernel (group 0): the batch-size uniform {count}; the packed
 * weights as f32 (the workgroup kernel's conv stages) and the same buffer as vec4f (the dense
 * layers' [out/4][in][4] blocks); the preprocessed input [N, inputSize, inputSize]; the
 * output [N, classes].
 */
export const kFusedBinding = { batch: 0, weights: 1, weightBlocks: 2, input: 3, output: 4 } as const;

/** One fused kernel as its plan takes it. */
export interface FusedKernel {
  /** Pipeline-cache identity: the kernel's name and everything its WGSL depends on (JSON). */
  readonly kernel: string;
  readonly options: object;
  readonly code: string;
  /** The kFusedBinding entries its WGSL declares: its bind group has exactly these. */
  readonly bindings: readonly number[];
  /** The workgroup grid for `count` images, from the mapping in the kernel's header. */
  workgroups(count: number): [number, number, number];
}

/** A conv layer followed by its subsampling, fused into one stage. */
export interface FusedConvStage {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inSize: number;
  readonly padding: number;
  /** Conv output side (before subsampling). */
  readonly convSize: number;
  /** Side after subsampling: floor(convSize / 2) (an odd last row and column are dropped). */
  readonly poolSize: number;
  /** 'average' and 'trainable' are coefficient·(window sum) + bias; 'max' is the window's largest. */
  readonly poolMode: PoolMode;
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
  /** A final (log-)softmax over the last layer's outputs, when the model ends in one. */
  readonly softmax?: { readonly log: boolean };
  readonly classes: number;
  /** Total floats in the packed buffer (a multiple of 4). */
  readonly floats: number;
}

/**
 * Reads a model description into the fused kernel's shape, or throws ModelMismatchError when
 * the model is not conv → pool → conv → pool → dense… → dense|rbf (→ softmax), or is too big
 * for the kernel to run well (more than kMaxFusedKernels conv kernels in a stage, more than
 * kMaxFusedWorkgroupBytes of maps per image).
 *
 * @example
 * const layout = fusedLayout(seedModel);
 * layout.vectors.length; // 3 (fc1, fc2, fc3)
 */
export function fusedLayout(spec: ModelSpec): FusedLayout {
  const layers = spec.layers;
  if (spec.inputChannels !== 1) {
    throw new ModelMismatchError(
      `fused plan: its kernels read one input map; '${spec.id}' takes ${spec.inputChannels} (colour input), which the layered plan runs`,
    );
  }
  const scaleShift = layers.find((l) => l.kind === 'scale-shift');
  if (scaleShift) {
    throw new ModelMismatchError(
      `fused plan: ${scaleShift.name} is a per-channel scale and shift (a batch norm after an activation or a pool, which cannot fold into a conv or dense layer); the fused kernels have no such stage, the layered plan runs it`,
    );
  }
  const [c1, p1, c2, p2, ...rest] = layers;
  const conv = (l: LayerSpec | undefined): Conv5x5Layer => expectKind(spec, l, 'conv5x5', 'a conv');
  const pool = (l: LayerSpec | undefined): Subsample2x2Layer => expectKind(spec, l, 'subsample2x2', 'a pool');
  let next = 0;
  const take = (floats: number) => {
    const at = next;
    next += Math.ceil(floats / 4) * 4;
    return at;
  };
  const convStage = (c: Conv5x5Layer, p: Subsample2x2Layer): FusedConvStage => {
    if (p.channels !== c.outChannels || p.inSize !== c.outSize || p.outSize !== Math.floor(c.outSize / 2)) {
      throw new ModelMismatchError(`fused plan: ${p.name} does not subsample ${c.name}'s ${c.outChannels}@${c.outSize}²`);
    }
    const table = c.connectionTable ?? denseTable(c.inChannels, c.outChannels);
    const kernels = table.reduce((s, t) => s + t.length, 0);
    if (kernels > kMaxFusedKernels) {
      throw new ModelMismatchError(
        `fused plan: ${c.name} has ${kernels} 5×5 kernels (${c.inChannels}→${c.outChannels} maps); the fused kernel writes every kernel's weights into its code, which SwiftShader compiles in time that grows with them, and takes at most ${kMaxFusedKernels} per conv (LeNet-5 has 6 and 96)`,
      );
    }
    return {
      inChannels: c.inChannels,
      outChannels: c.outChannels,
      inSize: c.inSize,
      padding: c.padding,
      convSize: c.outSize,
      poolSize: p.outSize,
      poolMode: p.mode,
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
  const tail = rest[rest.length - 1];
  const softmaxLayer = tail?.kind === 'softmax' ? tail : undefined;
  const softmax = softmaxLayer ? { log: softmaxLayer.log } : undefined;
  const vectorLayers = softmax ? rest.slice(0, -1) : rest;
  const vectors: FusedVectorStage[] = vectorLayers.map((l, i) => {
    if (l.kind !== 'dense' && l.kind !== 'rbf') throw mismatch(spec, l, 'a dense or RBF layer');
    if (l.kind === 'rbf' && (i !== vectorLayers.length - 1 || softmax)) throw mismatch(spec, l, 'a dense layer (an RBF only last)');
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
  if (vectors.length === 0) throw new ModelMismatchError(`fused plan: '${spec.id}' has no dense or RBF layer after its second pooling`);
  if (softmaxLayer && softmaxLayer.features !== features) {
    throw new ModelMismatchError(`fused plan: ${softmaxLayer.name} reads ${softmaxLayer.features} values, gets ${features}`);
  }
  const layout: FusedLayout = { inputSize: spec.inputSize, convs: [first, second], vectors, ...(softmax ? { softmax } : {}), classes: features, floats: next };
  const bytes = fusedWorkgroupBytes(layout);
  if (bytes > kMaxFusedWorkgroupBytes) {
    throw new ModelMismatchError(
      `fused plan: '${spec.id}' needs ${bytes} bytes of workgroup memory per image (padded input, both pooled stages, dense outputs); the fused kernel keeps one image in at most ${kMaxFusedWorkgroupBytes}`,
    );
  }
  if (next * 4 > kMaxBindingBytes) {
    throw new ModelMismatchError(`fused plan: '${spec.id}' packs ${next * 4} bytes of weights into one binding; every device binds ${kMaxBindingBytes}`);
  }
  return layout;
}

/** Side of the first stage's input with its zero padding (what the kernels keep of the image). */
export function paddedInputSide(layout: FusedLayout): number {
  return layout.convs[0].inSize + 2 * layout.convs[0].padding;
}

/**
 * Side of the first stage's pooled maps as the kernels keep them: with the second conv's zero
 * padding around them, so that the second conv reads its border from memory like any value.
 */
export function paddedMapSide(layout: FusedLayout): number {
  return layout.convs[0].poolSize + 2 * layout.convs[1].padding;
}

/** Workgroup memory for one image: padded input, first stage's padded maps, features, dense outputs. */
export function fusedWorkgroupBytes(layout: FusedLayout): number {
  const [s1, s2] = layout.convs;
  const kept = layout.softmax ? layout.vectors : layout.vectors.slice(0, -1);
  const floats =
    paddedInputSide(layout) ** 2 +
    s1.outChannels * paddedMapSide(layout) ** 2 +
    s2.outChannels * s2.poolSize ** 2 +
    kept.reduce((s, v) => s + v.paddedOut, 0);
  return floats * 4;
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
    } else if (p.mode === 'average') {
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

function expectKind<K extends LayerSpec['kind']>(
  spec: ModelSpec,
  layer: LayerSpec | undefined,
  kind: K,
  expected: string,
): Extract<LayerSpec, { kind: K }> {
  if (!layer || layer.kind !== kind) throw mismatch(spec, layer, expected);
  return layer as Extract<LayerSpec, { kind: K }>;
}

function mismatch(spec: ModelSpec, layer: LayerSpec | undefined, expected: string): ModelMismatchError {
  const found = layer ? `${layer.kind} layer ${layer.name} (layer ${spec.layers.indexOf(layer)})` : 'no further layer';
  return new ModelMismatchError(
    `fused plan: the fused kernel runs conv → pool → conv → pool → dense… → dense or RBF (→ softmax); model '${spec.id}' has ${found} where it needs ${expected}`,
  );
}
