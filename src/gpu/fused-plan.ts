/**
 * The fused plan: the whole network as one dispatch (shaders/fused-lenet.ts), behind the same
 * `Plan` seam as the layered plan, so the engine's runner writes the input, encodes the one
 * step, submits once and reads back once. Everything is made at build time: the packed
 * weights, the batch/input/output buffers for `maxBatch` images, the pipeline (cached per
 * device) and its bind group. Nothing is created on the inference path.
 *
 * The kernel variant follows the adapter (`fusedVariantFor`): CPU implementations get the
 * barrier-free lane kernel with the conv weights baked in; GPUs get the one-image-per-workgroup
 * kernel with its activations in workgroup memory. The plan keeps no per-layer buffers: the
 * engine reads activations through a layered plan.
 */
import { kBatchUniformBytes } from '../../shaders/common.js';
import { fusedLenet, fusedWorkgroups, type FusedVariant } from '../../shaders/fused-lenet.js';
import {
  kPackedLanes,
  kQuickLaneBatch,
  kSplitLanes,
  kLaneWorkgroupSize,
  kSplitMaxBatch,
  type LaneShape,
} from '../../shaders/fused-lenet-lanes.js';
import { GpuError, InputError, ModelMismatchError } from '../errors.js';
import type { ModelSpec } from '../model/spec.js';
import type { ModelWeights } from '../model/model-weights.js';
import { fusedLayout, packFusedWeights } from './fused-layout.js';
import { cachedPipeline } from './pipeline-cache.js';
import type { Plan, PlanStep } from './plan.js';

export type { FusedVariant } from '../../shaders/fused-lenet.js';

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
  const text = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.description ?? ''}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|warp|\bcpu\b/.test(text) ? 'invocation' : 'workgroup';
}

/**
 * Whether a device can run the packed shape with subgroups: it has the 'subgroups' feature
 * and its adapter's smallest subgroup holds a whole lane workgroup.
 *
 * @example
 * const shape = { ...kPackedLanes, subgroups: lanesShareSubgroup(device) };
 */
export function lanesShareSubgroup(device: GPUDevice): boolean {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo & { subgroupMinSize?: number } }).adapterInfo;
  return device.features.has('subgroups') && (info?.subgroupMinSize ?? 0) >= kLaneWorkgroupSize;
}

/**
 * Why the fused kernel will not run a model, or undefined when it will: the model must be
 * conv → pool → conv → pool → dense… (→ RBF) (→ softmax), with at most kMaxFusedKernels 5×5
 * kernels per conv and its maps within kMaxFusedWorkgroupBytes, which `fusedLayout` checks.
 *
 * @example
 * fusedDeclineReason(seedModel); // undefined
 * fusedDeclineReason(presetModel('caffe-lenet')!); // 'fused plan: conv2 has 1000 5×5 kernels …'
 */
export function fusedDeclineReason(spec: ModelSpec): string | undefined {
  try {
    fusedLayout(spec);
    return undefined;
  } catch (e) {
    if (e instanceof ModelMismatchError) return e.message;
    throw e;
  }
}

export interface FusedPlanOptions {
  /** Largest batch one dispatch takes (buffers are sized for it). */
  readonly maxBatch: number;
  /** Kernel variant; default: `fusedVariantFor(device.adapterInfo)`. */
  readonly variant?: FusedVariant;
  /**
   * `invocation` variant: false keeps the lane kernel off subgroups. Default: subgroups where
   * the device allows them (`lanesShareSubgroup`); the device must have been requested with
   * the 'subgroups' feature, as `acquireDevice` does.
   */
  readonly subgroups?: boolean;
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
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new InputError(`fused plan: maxBatch must be a positive integer, found ${maxBatch}`);
  }
  const layout = fusedLayout(weights.spec);
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const variant = options.variant ?? fusedVariantFor(info);
  const inputValues = layout.inputSize * layout.inputSize;
  const outputValues = layout.classes;
  const limit = device.limits.maxStorageBufferBindingSize;
  if (maxBatch * inputValues * 4 > limit) {
    throw new InputError(
      `fused plan: maxBatch ${maxBatch} needs a ${maxBatch * inputValues * 4}-byte input buffer, the device allows ${limit}`,
    );
  }
  const label = `fused.${weights.spec.id}`;
  const packed = packFusedWeights(weights, layout);
  // CPU adapters get two lane kernels, split (batches ≤ kSplitMaxBatch) and packed (larger).
  const subgroups = variant === 'invocation' && (options.subgroups ?? true) && lanesShareSubgroup(device);
  const kernels: Array<{ name: string; shape?: LaneShape; runs: (count: number) => boolean }> =
    variant === 'invocation'
      ? [
          { name: 'invocation.split', shape: kSplitLanes, runs: (count) => count <= kSplitMaxBatch },
          {
            name: subgroups ? 'invocation.subgroups' : 'invocation',
            shape: { ...kPackedLanes, subgroups },
            runs: (count) => count > kSplitMaxBatch,
          },
        ]
      : [{ name: variant, runs: () => true }];
  // The lane kernel bakes the weights into its code: the key must tell weights apart.
  const pipelines = kernels.map(({ name, shape }) =>
    cachedPipeline(device, `${label}.${name}`, {
      kernel: 'fused-lenet',
      options: { variant, shape: shape ?? null, layout, weights: variant === 'invocation' ? fingerprint(packed) : 'buffer' },
      code: fusedLenet({ layout, variant, packed, shape }),
    }),
  );

  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const owned: GPUBuffer[] = [];
  const buffer = (name: string, size: number, usage: GPUBufferUsageFlags) => {
    const b = device.createBuffer({ label: `${label}.${name}`, size, usage });
    owned.push(b);
    return b;
  };
  const weightBuffer = buffer('weights', packed.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(weightBuffer, 0, packed.buffer, packed.byteOffset, packed.byteLength);
  const batchBuffer = buffer('batch', kBatchUniformBytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const inputBuffer = buffer('input', maxBatch * inputValues * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const outputBuffer = buffer('output', maxBatch * outputValues * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  const validation = device.popErrorScope();
  const oom = device.popErrorScope();
  const destroy = () => {
    for (const b of owned) b.destroy();
    owned.length = 0;
  };

  let steps: PlanStep[];
  try {
    const compiled = await Promise.all(pipelines);
    device.pushErrorScope('validation');
    steps = kernels.map(({ name, shape, runs }, k) => ({
      label: `${label}.${name}`,
      pipeline: compiled[k]!,
      bindGroup: device.createBindGroup({
        label: `${label}.${name}.bindGroup`,
        layout: compiled[k]!.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: batchBuffer } },
          // The lane kernel reads only the vec4 view (its conv weights are literals).
          ...(variant === 'workgroup' ? [{ binding: 1, resource: { buffer: weightBuffer } }] : []),
          { binding: 2, resource: { buffer: weightBuffer } },
          { binding: 3, resource: { buffer: inputBuffer } },
          { binding: 4, resource: { buffer: outputBuffer } },
        ],
      }),
      workgroups: (count: number) => (runs(count) ? fusedWorkgroups(variant, count, shape) : null),
    }));
    const bindError = await device.popErrorScope();
    const error = (await validation) ?? (await oom) ?? bindError;
    if (error) throw new GpuError(`${label}: ${error.message}`);
  } catch (e) {
    destroy();
    throw e;
  }

  return {
    kind: `fused-${variant}`,
    maxBatch,
    steps,
    ...(variant === 'invocation' ? { nudgeMaxBatch: kQuickLaneBatch } : {}),
    batchBuffer,
    inputBuffer,
    inputValues,
    outputBuffer,
    outputValues,
    destroy,
  };
}

/** FNV-1a over the packed weights' bytes: a short, stable pipeline-cache key. */
function fingerprint(packed: Float32Array): string {
  const bytes = new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
  let hash = 0x811c9dc5;
  for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  return `${hash.toString(16)}-${packed.length}`;
}
