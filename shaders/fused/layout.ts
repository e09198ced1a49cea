/**
 * The contract between the fused kernels (this folder: workgroup.ts for GPUs, lanes-packed.ts
 * and lanes-split.ts for CPU implementations) and their plan (src/gpu/fused-plan.ts): the
 * whole network as the kernels see it, read from a model description; the packed weight
 * buffer laid out at load time for the kernels' access pattern; the bindings; and what a
 * kernel module hands the plan (`FusedKernel`).
 *
 * The network: conv → pool → conv → pool → dense… → dense or RBF, then optionally a
 * (log-)softmax. 1 or more input maps (planar, C × side × side per image), any activation
 * after any layer, any pooling mode (average, max, trainable; floor for odd sizes), zero
 * padding on either conv, and per-channel scale-shift layers (a batch norm that could not
 * fold, src/model/fold.ts) after any conv, pool or dense layer: each is a `FusedScaleShift`
 * step applied where it sits. `fusedLayout` declines the rest, and models too big for the
 * kernels to run well, with the reason.
 *
 * Packing, one Float32Array, every section starting on a multiple of 4 floats:
 * - conv weights as stored ([kernels, 5, 5]; a dense conv is the table {0…in−1} per map),
 *   then the conv bias, then each scale-shift step after the conv (scale, then shift, one
 *   value per map);
 * - subsampling coefficient and bias per map (plain average pooling becomes 1/4 and 0, so
 *   one code path serves both; max pooling reads neither, and they stay zero), then each
 *   scale-shift step after the pool;
 * - each dense (and the RBF) layer as [out/4][in][4]: the 4 weights of 4 consecutive outputs
 *   for one input sit together, so one vec4 load feeds 4 accumulators. Outputs are padded to a
 *   multiple of 4 with zero rows; the bias (or nothing, for the RBF) follows, padded alike,
 *   then each scale-shift step after the layer (scale, shift, each padded alike).
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
  type ScaleShiftLayer,
  type SoftmaxLayer,
  type Subsample2x2Layer,
} from '../../src/model/spec.js';

/**
 * Most 5×5 kernels one conv stage may have. The lane kernels bake the conv weights into
 * their code, and SwiftShader's compile time grows with them: Caffe's LeNet (20 and 1,000
 * kernels, the widest member of the family) compiles its packed lane kernel in ~32 s on the
 * 2-core machine (Node, Dawn; docs/performance.md, "Which models the fused plan runs"), while
 * the layered plan answers. Past ~1,000 kernels a conv stage's compile would pass a minute and
 * its WGSL several MB; such a model stays on the layered plan.
 */
export const kMaxFusedKernels = 1024;

/** WebGPU's guaranteed maxStorageBufferBindingSize: the packed weights are one binding. */
const kMaxBindingBytes = 134217728;

/**
 * The bindings of every fused kernel (group 0): the batch-size uniform {count}; the packed
 * weights as f32 (the workgroup kernel's conv stages) and the same buffer as vec4f (the dense
 * layers' [out/4][in][4] blocks); the preprocessed input [N, channels, inputSize, inputSize];
 * the output [N, classes].
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

/**
 * A per-channel scale and shift after a layer's activation (a scale-shift layer): y =
 * activation(x·scale[c] + shift[c]). Offsets of its [channels] tensors in the packed buffer.
 */
export interface FusedScaleShift {
  readonly activation: Activation;
  readonly scaleOffset: number;
  readonly shiftOffset: number;
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
  /** Scale-shift steps on each conv value after its activation, before the pooling. */
  readonly afterConv: readonly FusedScaleShift[];
  readonly poolActivation: Activation;
  /** Scale-shift steps on each pooled value after its activation. */
  readonly afterPool: readonly FusedScaleShift[];
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
  /** Scale-shift steps after the activation (dense layers only); their tensors padded to paddedOut. */
  readonly after: readonly FusedScaleShift[];
  readonly weightOffset: number;
  /** −1 for the RBF (no bias). */
  readonly biasOffset: number;
}

export interface FusedLayout {
  /** Maps of the input (1 grey, 3 RGB): the first stage reads them all. */
  readonly inputChannels: number;
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
 * the model is not conv → pool → conv → pool → dense… → dense|rbf (→ softmax), with
 * scale-shift layers after any conv, pool or dense layer, or is too big for the kernels to
 * run well (more than kMaxFusedKernels conv kernels in a stage). Whether a device has the
 * workgroup memory for the kernels that keep an image there is the plan's question
 * (`fusedWorkgroupBytes`).
 *
 * @example
 * const layout = fusedLayout(seedModel);
 * layout.vectors.length; // 3 (fc1, fc2, fc3)
 */
export function fusedLayout(spec: ModelSpec): FusedLayout {
  const grouped = fusedLayers(spec);
  let next = 0;
  const take = (floats: number) => {
    const at = next;
    next += Math.ceil(floats / 4) * 4;
    return at;
  };
  const steps = (layers: readonly ScaleShiftLayer[], channels: number, paddedChannels = channels): FusedScaleShift[] =>
    layers.map((l) => {
      if (l.channels !== channels) throw new ModelMismatchError(`fused plan: ${l.name} scales ${l.channels} channels, gets ${channels}`);
      return { activation: l.activation, scaleOffset: take(paddedChannels), shiftOffset: take(paddedChannels) };
    });
  const convStage = ({ conv: c, afterConv, pool: p, afterPool }: FusedConvLayers): FusedConvStage => {
    if (p.channels !== c.outChannels || p.inSize !== c.outSize || p.outSize !== Math.floor(c.outSize / 2)) {
      throw new ModelMismatchError(`fused plan: ${p.name} does not subsample ${c.name}'s ${c.outChannels}@${c.outSize}²`);
    }
    const table = c.connectionTable ?? denseTable(c.inChannels, c.outChannels);
    const kernels = table.reduce((s, t) => s + t.length, 0);
    if (kernels > kMaxFusedKernels) {
      throw new ModelMismatchError(
        `fused plan: ${c.name} has ${kernels} 5×5 kernels (${c.inChannels}→${c.outChannels} maps); the fused lane kernels write every kernel's weights into their code, which SwiftShader compiles in time that grows with them (Caffe's LeNet, 1,020 kernels: ~32 s), and take at most ${kMaxFusedKernels} per conv`,
      );
    }
    const weightOffset = take(kernels * 25);
    const biasOffset = take(c.outChannels);
    const conv = steps(afterConv, c.outChannels);
    const coefficientOffset = take(c.outChannels);
    const poolBiasOffset = take(c.outChannels);
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
      afterConv: conv,
      poolActivation: p.activation,
      afterPool: steps(afterPool, c.outChannels),
      weightOffset,
      biasOffset,
      coefficientOffset,
      poolBiasOffset,
    };
  };
  const first = convStage(grouped.convs[0]);
  const second = convStage(grouped.convs[1]);
  if (first.inChannels !== spec.inputChannels || second.inChannels !== first.outChannels || second.inSize !== first.poolSize) {
    throw new ModelMismatchError(`fused plan: layer shapes of '${spec.id}' do not chain`);
  }
  let features = second.outChannels * second.poolSize * second.poolSize;
  const vectors: FusedVectorStage[] = grouped.vectors.map(({ layer: l, after }) => {
    const out = l.kind === 'dense' ? l.outFeatures : l.classes;
    if (l.inFeatures !== features) throw new ModelMismatchError(`fused plan: ${l.name} reads ${l.inFeatures}, gets ${features}`);
    features = out;
    const paddedOut = Math.ceil(out / 4) * 4;
    const weightOffset = take(paddedOut * l.inFeatures);
    const biasOffset = l.kind === 'dense' ? take(paddedOut) : -1;
    return {
      kind: l.kind,
      inFeatures: l.inFeatures,
      outFeatures: out,
      paddedOut,
      activation: l.kind === 'dense' ? l.activation : 'none',
      after: steps(after, out, paddedOut),
      weightOffset,
      biasOffset,
    };
  });
  const softmaxLayer = grouped.softmax;
  if (softmaxLayer && softmaxLayer.features !== features) {
    throw new ModelMismatchError(`fused plan: ${softmaxLayer.name} reads ${softmaxLayer.features} values, gets ${features}`);
  }
  if (next * 4 > kMaxBindingBytes) {
    throw new ModelMismatchError(`fused plan: '${spec.id}' packs ${next * 4} bytes of weights into one binding; every device binds ${kMaxBindingBytes}`);
  }
  return {
    inputChannels: spec.inputChannels,
    inputSize: spec.inputSize,
    convs: [first, second],
    vectors,
    ...(softmaxLayer ? { softmax: { log: softmaxLayer.log } } : {}),
    classes: features,
    floats: next,
  };
}

/** The model's layers grouped as the fused kernels run them (the scale-shift layers with the layer they follow). */
interface FusedLayers {
  readonly convs: readonly [FusedConvLayers, FusedConvLayers];
  readonly vectors: ReadonlyArray<{ readonly layer: DenseLayer | RbfLayer; readonly after: readonly ScaleShiftLayer[] }>;
  readonly softmax?: SoftmaxLayer;
}

/** A conv, its pool, and the scale-shift layers after each. */
interface FusedConvLayers {
  readonly conv: Conv5x5Layer;
  readonly afterConv: readonly ScaleShiftLayer[];
  readonly pool: Subsample2x2Layer;
  readonly afterPool: readonly ScaleShiftLayer[];
}

/** Groups `spec.layers` (conv (ss)* pool (ss)* ×2, then dense (ss)*… and dense|rbf (ss)*, then softmax?), or throws. */
function fusedLayers(spec: ModelSpec): FusedLayers {
  const layers = spec.layers;
  let at = 0;
  const take = <K extends LayerSpec['kind']>(kind: K, expected: string) => expectKind(spec, layers[at++], kind, expected);
  const scaleShifts = (): ScaleShiftLayer[] => {
    const found: ScaleShiftLayer[] = [];
    for (let l = layers[at]; l?.kind === 'scale-shift'; l = layers[++at]) found.push(l);
    return found;
  };
  const stage = (): FusedConvLayers => {
    const conv = take('conv5x5', 'a conv');
    const afterConv = scaleShifts();
    const pool = take('subsample2x2', 'a pool');
    return { conv, afterConv, pool, afterPool: scaleShifts() };
  };
  const convs: [FusedConvLayers, FusedConvLayers] = [stage(), stage()];
  const vectors: Array<{ layer: DenseLayer | RbfLayer; after: ScaleShiftLayer[] }> = [];
  for (let l = layers[at]; l && l.kind !== 'softmax'; l = layers[at]) {
    if (l.kind !== 'dense' && l.kind !== 'rbf') throw mismatch(spec, l, 'a dense or RBF layer');
    if (vectors[vectors.length - 1]?.layer.kind === 'rbf') throw mismatch(spec, l, 'nothing after the RBF output (an RBF only last)');
    at++;
    const after = scaleShifts();
    if (l.kind === 'rbf' && after.length > 0) throw mismatch(spec, after[0], 'nothing after the RBF output');
    vectors.push({ layer: l, after });
  }
  if (vectors.length === 0) throw new ModelMismatchError(`fused plan: '${spec.id}' has no dense or RBF layer after its second pooling`);
  const softmax = layers[at]?.kind === 'softmax' ? (layers[at++] as SoftmaxLayer) : undefined;
  if (softmax && vectors[vectors.length - 1]!.layer.kind === 'rbf') throw mismatch(spec, softmax, 'nothing after the RBF output (an RBF only last)');
  if (at < layers.length) throw mismatch(spec, layers[at], 'nothing after the softmax');
  return { convs, vectors, ...(softmax ? { softmax } : {}) };
}

/** Side of the first stage's input with its zero padding (what the kernels keep of each input map). */
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

/**
 * Workgroup memory for one image: the padded input maps, the first stage's padded maps, the
 * features, the dense outputs. The kernels that keep an image there (workgroup.ts,
 * lanes-split.ts) run only where the device offers this much (`maxComputeWorkgroupStorageSize`).
 */
export function fusedWorkgroupBytes(layout: FusedLayout): number {
  const [s1, s2] = layout.convs;
  const kept = layout.softmax ? layout.vectors : layout.vectors.slice(0, -1);
  const floats =
    layout.inputChannels * paddedInputSide(layout) ** 2 +
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
  const grouped = fusedLayers(weights.spec);
  const packSteps = (layers: readonly ScaleShiftLayer[], steps: readonly FusedScaleShift[]) =>
    layers.forEach((l, j) => {
      packed.set(tensorOf(weights, l.scale), steps[j]!.scaleOffset);
      packed.set(tensorOf(weights, l.shift), steps[j]!.shiftOffset);
    });
  layout.convs.forEach((stage, i) => {
    const { conv: c, afterConv, pool: p, afterPool } = grouped.convs[i as 0 | 1];
    packed.set(tensorOf(weights, c.weight), stage.weightOffset);
    packed.set(tensorOf(weights, c.bias), stage.biasOffset);
    packSteps(afterConv, stage.afterConv);
    if (p.trainable) {
      packed.set(tensorOf(weights, p.trainable.coefficient), stage.coefficientOffset);
      packed.set(tensorOf(weights, p.trainable.bias), stage.poolBiasOffset);
    } else if (p.mode === 'average') {
      packed.fill(0.25, stage.coefficientOffset, stage.coefficientOffset + stage.outChannels);
    }
    packSteps(afterPool, stage.afterPool);
  });
  layout.vectors.forEach((stage, i) => {
    const { layer: l, after } = grouped.vectors[i]!;
    const w = tensorOf(weights, l.kind === 'dense' ? l.weight : l.centres);
    for (let o = 0; o < stage.outFeatures; o++) {
      for (let j = 0; j < stage.inFeatures; j++) {
        packed[stage.weightOffset + (Math.floor(o / 4) * stage.inFeatures + j) * 4 + (o % 4)] = w[o * stage.inFeatures + j]!;
      }
    }
    if (l.kind === 'dense') packed.set(tensorOf(weights, l.bias), stage.biasOffset);
    packSteps(after, stage.after);
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
    `fused plan: the fused kernel runs conv → pool → conv → pool → dense… → dense or RBF (→ softmax), with scale-shift layers after a conv, pool or dense layer; model '${spec.id}' has ${found} where it needs ${expected}`,
  );
}
