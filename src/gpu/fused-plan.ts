/**
 * The fused plan: the whole network as one dispatch (the kernels in shaders/fused/), behind
 * the same `Plan` seam as the layered plan, so the engine's runner writes the input, encodes
 * the step, submits once and reads back once. Everything is made at build time: the packed
 * weights, the batch/input/output buffers for `maxBatch` images, the pipelines (cached per
 * device) and their bind groups. Nothing is created on the inference path.
 *
 * The kernels follow the adapter (`fusedVariantFor`): CPU implementations get the lane
 * kernels, barrier-free with the conv weights baked in (split for small batches, packed for
 * large ones); GPUs get the one-image-per-workgroup kernel with its activations in workgroup
 * memory. Which kernel runs which batch, and how a small batch is spread, is this plan's
 * policy (below); the kernels' own mapping sets the grid. The plan keeps no per-layer
 * buffers: the engine reads activations through a layered plan.
 */
import { fusedLayout, fusedWorkgroupBytes, kFusedBinding, packFusedWeights, type FusedKernel, type FusedLayout } from '../../shaders/fused/layout.js';
import { kLaneWorkgroupSize } from '../../shaders/fused/lanes.js';
import { packedLaneKernel, type PackedConv2 } from '../../shaders/fused/lanes-packed.js';
import { splitLaneKernel } from '../../shaders/fused/lanes-split.js';
import { workgroupKernel } from '../../shaders/fused/workgroup.js';
import { ModelMismatchError } from '../errors.js';
import { convKernelCount, type ModelSpec } from '../model/spec.js';
import type { ModelWeights } from '../model/model-weights.js';
import { adapterInfoOf, isCpuImplementation } from './device.js';
import { cachedPipeline } from './pipeline-cache.js';
import type { Plan, PlanStep } from './plan.js';
import { checkMaxBatch, destroyOnError, PlanBuffers, scoped } from './plan-resources.js';

/** Which kernels a fused plan uses: the lane kernels (CPU implementations) or the workgroup kernel (GPUs). */
export type FusedVariant = 'invocation' | 'workgroup';

// Dispatch policy of the lane kernels: batch thresholds measured on one adapter (SwiftShader,
// 2 cores, Chromium 156; docs/performance.md). A GPU never runs them.

/**
 * Largest batch the split lane kernel runs: the measured crossover with the packed one
 * (Winograd second conv; Node, medians of 21 alternated runs, upload → readback): batch 1
 * 1.13 against 2.42 ms, 2: 1.92 / 2.49, 3: 2.54 / 2.50, 4: 3.62 / 2.52.
 */
export const kSplitMaxBatch = 2;
/** Largest batch whose split kernel finishes within ~1 ms (one workgroup per core): the runner nudges these. */
export const kQuickLaneBatch = 2;
/** Small batches are spread over at least this many workgroups (CPU threads) when they can be. */
export const kLaneMinWorkgroups = 4;
/** Images each packed-lane invocation carries, sharing each dense weight load (8 crashes SwiftShader's compiler). */
export const kImagesPerInvocation = 4;
/**
 * The packed kernel's second conv: Winograd F(2×2, 5×5) measured 1.13–1.16× the images/s of
 * the direct fma chains on the seed model and 1.03–1.14× on the classic one (batch 1024,
 * alternated in one process), at the same compile time, within 0.24 of the error allowance.
 */
export const kPackedConv2: PackedConv2 = 'winograd';

/** What an adapter says about itself (GPUAdapterInfo's fields the choice reads). */
export interface AdapterDescription {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly description?: string;
}

/**
 * The kernel variant for an adapter: 'invocation' on CPU implementations of WebGPU
 * (SwiftShader, llvmpipe/lavapipe, WARP), 'workgroup' on GPUs and when nothing is known.
 *
 * @example
 * fusedVariantFor(adapter.info); // 'invocation' under SwiftShader
 */
export function fusedVariantFor(info: AdapterDescription | undefined): FusedVariant {
  return isCpuImplementation(info) ? 'invocation' : 'workgroup';
}

/**
 * Whether a device can run the packed lane kernel with subgroups: it has the 'subgroups'
 * feature and its adapter's smallest subgroup holds a whole lane workgroup.
 *
 * @example
 * const subgroups = lanesShareSubgroup(device);
 */
export function lanesShareSubgroup(device: GPUDevice): boolean {
  return device.features.has('subgroups') && (adapterInfoOf(device)?.subgroupMinSize ?? 0) >= kLaneWorkgroupSize;
}

/**
 * Why the fused kernels will not run a model, or undefined when they will: the model must be
 * conv → pool → conv → pool → dense… (→ RBF) (→ softmax), with scale-shift layers after any
 * of them and at most kMaxFusedKernels 5×5 kernels per conv, which `fusedLayout` checks; and
 * given a `device`, the kernels it would get must fit it: the workgroup kernel (GPUs) keeps
 * an image in workgroup memory (`fusedWorkgroupBytes` within the device's
 * maxComputeWorkgroupStorageSize). The lane kernels always fit: the packed one keeps its
 * images in private memory, and the split one is left out where an image does not fit.
 *
 * @example
 * fusedDeclineReason(seedModel); // undefined
 * fusedDeclineReason(presetModel('caffe-lenet')!); // undefined: 20 and 1,000 kernels
 */
export function fusedDeclineReason(spec: ModelSpec, device?: GPUDevice): string | undefined {
  try {
    const layout = fusedLayout(spec);
    if (device && fusedVariantFor(adapterInfoOf(device)) === 'workgroup') workgroupMemoryFits(device, layout, spec.id);
    return undefined;
  } catch (e) {
    if (e instanceof ModelMismatchError) return e.message;
    throw e;
  }
}

/**
 * The 5×5 kernels in a model's conv layers (both conv stages of a model the fused plan runs):
 * what its lane kernels' compile time grows with (they write every kernel's weights into their
 * code).
 *
 * @example
 * fusedConvKernels(presetModel('caffe-lenet')!); // 1020
 */
export function fusedConvKernels(spec: ModelSpec): number {
  return spec.layers.reduce((sum, l) => (l.kind === 'conv5x5' ? sum + convKernelCount(l.inChannels, l.outChannels, l.connectionTable) : sum), 0);
}

/** Throws ModelMismatchError when one image of `layout` needs more workgroup memory than `device` offers (the workgroup kernel's need). */
function workgroupMemoryFits(device: GPUDevice, layout: FusedLayout, id: string): void {
  const bytes = fusedWorkgroupBytes(layout);
  const offered = device.limits.maxComputeWorkgroupStorageSize;
  if (bytes > offered) {
    throw new ModelMismatchError(
      `fused plan: '${id}' needs ${bytes} bytes of workgroup memory per image (padded input, both pooled stages, dense outputs); the workgroup kernel keeps one image there, and this device offers ${offered}`,
    );
  }
}

export interface FusedPlanOptions {
  /** Largest batch one dispatch takes (buffers are sized for it). */
  readonly maxBatch: number;
  /** Kernel variant; default: `fusedVariantFor(device.adapterInfo)`. */
  readonly variant?: FusedVariant;
  /**
   * `invocation` variant: false keeps the packed lane kernel off subgroups. Default:
   * subgroups where the device allows them (`lanesShareSubgroup`); the device must have been
   * requested with the 'subgroups' feature, as `acquireDevice` does.
   */
  readonly subgroups?: boolean;
  /** `invocation` variant: the packed kernel's second conv. Default kPackedConv2. */
  readonly conv2?: PackedConv2;
  /**
   * `invocation` variant: false leaves out the split kernel, so the packed one runs every
   * batch (slower at batches ≤ kSplitMaxBatch, but one pipeline to compile instead of two:
   * each takes seconds on SwiftShader). Default true; left out anyway where one image does
   * not fit the device's workgroup memory (`fusedWorkgroupBytes`).
   */
  readonly smallBatchKernel?: boolean;
}

/** One kernel of a plan and the batch sizes it runs. */
export interface PlannedKernel {
  /** The step's label after the plan's: 'invocation.split', 'invocation.subgroups', 'invocation', 'workgroup'. */
  readonly name: string;
  readonly kernel: FusedKernel;
  runs(count: number): boolean;
}

/**
 * Builds the fused plan of a whole model on a device.
 *
 * @example
 * const plan = await buildFusedPlan(device, weights, { maxBatch: 1024 });
 * const scores = await new PlanRunner(device, plan).run(preprocessed, 7);
 */
export async function buildFusedPlan(device: GPUDevice, weights: ModelWeights, options: FusedPlanOptions): Promise<Plan> {
  const { maxBatch } = options;
  const { layout, packed, variant, kernels, smallBatchKernel } = fusedKernels(device, weights, options);
  const inputValues = layout.inputChannels * layout.inputSize * layout.inputSize;
  const outputValues = layout.classes;
  checkMaxBatch(device, maxBatch, Math.max(inputValues, outputValues) * 4);
  const label = `fused.${weights.spec.id}`;
  const pipelines = kernels.map(({ name, kernel }) => cachedPipeline(device, `${label}.${name}`, kernel));

  const buffers = new PlanBuffers(device);
  return destroyOnError(buffers, async () => {
    const bound: Readonly<Record<number, GPUBuffer>> = await scoped(device, `${label} buffers`, () => ({
      [kFusedBinding.batch]: buffers.batchUniform(`${label}.batch`),
      [kFusedBinding.weights]: buffers.upload(`${label}.weights`, packed),
      [kFusedBinding.input]: buffers.create(`${label}.input`, maxBatch * inputValues * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST),
      [kFusedBinding.output]: buffers.create(`${label}.output`, maxBatch * outputValues * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC),
    }));
    // The f32 view and the vec4 view of the weights are one buffer.
    const bufferOf = (binding: number) => bound[binding === kFusedBinding.weightBlocks ? kFusedBinding.weights : binding]!;
    const compiled = await Promise.all(pipelines);
    const steps: PlanStep[] = await scoped(device, `${label} bind groups`, () =>
      kernels.map(({ name, kernel, runs }, k) => ({
        label: `${label}.${name}`,
        pipeline: compiled[k]!,
        bindGroup: device.createBindGroup({
          label: `${label}.${name}.bindGroup`,
          layout: compiled[k]!.getBindGroupLayout(0),
          entries: kernel.bindings.map((binding) => ({ binding, resource: { buffer: bufferOf(binding) } })),
        }),
        workgroups: (count: number) => (runs(count) ? kernel.workgroups(count) : null),
      })),
    );
    return {
      kind: `fused-${variant}`,
      maxBatch,
      steps,
      // Only the split kernel is quick enough at small batches for the nudge to help.
      ...(variant === 'invocation' && smallBatchKernel ? { nudgeMaxBatch: kQuickLaneBatch } : {}),
      batchBuffer: bound[kFusedBinding.batch]!,
      inputBuffer: bound[kFusedBinding.input]!,
      inputValues,
      outputBuffer: bound[kFusedBinding.output]!,
      outputValues,
      destroy: () => buffers.destroy(),
    };
  });
}

/** What a fused plan compiles for a model on a device, before any GPU object is made. */
export interface FusedKernels {
  readonly layout: FusedLayout;
  /** The packed weights (`packFusedWeights`): the weights binding, and the lane kernels' literals. */
  readonly packed: Float32Array;
  readonly variant: FusedVariant;
  readonly smallBatchKernel: boolean;
  /** Each kernel with its WGSL and the batches it runs. */
  readonly kernels: readonly PlannedKernel[];
}

/**
 * The layout, packed weights and kernels (WGSL generated) a fused plan of `weights` on
 * `device` uses: what `buildFusedPlan` compiles, and what `npm run probe:cold` times.
 *
 * @example
 * const { kernels } = fusedKernels(device, weights, { maxBatch: 1024 });
 * kernels.map((k) => k.kernel.code.length); // WGSL bytes per pipeline
 */
export function fusedKernels(device: GPUDevice, weights: ModelWeights, options: FusedPlanOptions): FusedKernels {
  const layout = fusedLayout(weights.spec);
  const variant = options.variant ?? fusedVariantFor(adapterInfoOf(device));
  const packed = packFusedWeights(weights, layout);
  const subgroups = variant === 'invocation' && (options.subgroups ?? true) && lanesShareSubgroup(device);
  if (variant === 'workgroup') workgroupMemoryFits(device, layout, weights.spec.id);
  // The split kernel keeps an image in workgroup memory: where one does not fit, the packed kernel runs every batch.
  const smallBatchKernel = (options.smallBatchKernel ?? true) && fusedWorkgroupBytes(layout) <= device.limits.maxComputeWorkgroupStorageSize;
  const conv2 = options.conv2 ?? kPackedConv2;
  return { layout, packed, variant, smallBatchKernel, kernels: plannedKernels(variant, layout, packed, { subgroups, smallBatchKernel, conv2 }) };
}

/**
 * The plan's kernels. CPU adapters: the split lane kernel for batches ≤ kSplitMaxBatch and
 * the packed one (kImagesPerInvocation images per invocation) above, or the packed one for
 * every batch without `smallBatchKernel`. GPUs: the workgroup kernel for every batch.
 */
function plannedKernels(
  variant: FusedVariant,
  layout: FusedLayout,
  packed: Float32Array,
  o: { subgroups: boolean; smallBatchKernel: boolean; conv2: PackedConv2 },
): PlannedKernel[] {
  if (variant === 'workgroup') return [{ name: 'workgroup', kernel: workgroupKernel(layout), runs: () => true }];
  const { subgroups, smallBatchKernel, conv2 } = o;
  const packedKernel = packedLaneKernel(layout, packed, { images: kImagesPerInvocation, subgroups, minWorkgroups: kLaneMinWorkgroups, conv2 });
  const packedName = subgroups ? 'invocation.subgroups' : 'invocation';
  if (!smallBatchKernel) return [{ name: packedName, kernel: packedKernel, runs: () => true }];
  return [
    { name: 'invocation.split', kernel: splitLaneKernel(layout, packed), runs: (count) => count <= kSplitMaxBatch },
    { name: packedName, kernel: packedKernel, runs: (count) => count > kSplitMaxBatch },
  ];
}
