/**
 * Getting a GPUDevice: from the caller, or from `navigator.gpu`. A missing API or adapter is a
 * WebGPUUnavailableError (the 'auto' backend falls back to the CPU on it); a lost device and
 * errors outside any error scope are reported, not swallowed.
 */
import { WebGPUUnavailableError } from '../errors.js';
import { kUseNodeEntry, runningInNode } from '../runtime.js';
import type { KernelTarget } from '../../shaders/conv5x5.js';

/** A device with a readable description of the adapter behind it. */
export interface GpuContext {
  readonly device: GPUDevice;
  /** 'vendor architecture device (description)', or 'caller-supplied GPUDevice'. */
  readonly adapterName: string;
  /** True when this library created the device (and so destroys it). */
  readonly ownsDevice: boolean;
}

/** Readable adapter description from GPUAdapterInfo, skipping empty fields. */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device].filter((p) => p);
  const text = parts.join(' ');
  if (info.description) return text ? `${text} (${info.description})` : info.description;
  return text || 'unknown adapter';
}

/**
 * Optional features the engine uses where the adapter has them: 'subgroups' lets the CPU
 * lane kernel share its dense-layer weight loads (shaders/fused/lanes.ts).
 */
const kWantedFeatures = ['subgroups'] as const;

/**
 * A feature `recommendedFeatures` may return. Its own literal union rather than WebGPU's
 * GPUFeatureName: the package's declarations then name no WebGPU type alias, which a project
 * without WebGPU types could not resolve (scripts/lib-types.ts), and tfjs-core's older
 * @webgpu/types lacks 'subgroups'.
 */
export type RecommendedFeature = (typeof kWantedFeatures)[number];

/**
 * Whether an adapter is a CPU implementation of WebGPU (SwiftShader, llvmpipe/lavapipe, WARP),
 * from its vendor, architecture and description; false for GPUs and when nothing is known.
 *
 * @example
 * isCpuImplementation(adapter.info); // true under SwiftShader
 */
export function isCpuImplementation(info: { readonly vendor?: string; readonly architecture?: string; readonly description?: string } | undefined): boolean {
  const text = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.description ?? ''}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|warp|\bcpu\b/.test(text);
}

/**
 * What the layered and training kernels size their blocks for on this device
 * (shaders/conv5x5.ts): 'cpu' on CPU implementations, 'gpu' otherwise.
 *
 * @example
 * conv5x5({ ...options, target: kernelTargetOf(device) });
 */
export function kernelTargetOf(device: GPUDevice): KernelTarget {
  return isCpuImplementation(adapterInfoOf(device)) ? 'cpu' : 'gpu';
}

/**
 * What a training run's conv and dense kernels are built for on this device: 'cpu-unrolled'
 * on CPU implementations (a run's thousands of steps pay for their longer build; docs/training.md),
 * 'gpu' otherwise.
 *
 * @example
 * buildTrainingPlan(device, spec, tensors, train, null, { ...options, kernelTarget: trainingKernelTargetOf(device) });
 */
export function trainingKernelTargetOf(device: GPUDevice): KernelTarget {
  return kernelTargetOf(device) === 'cpu' ? 'cpu-unrolled' : 'gpu';
}

/**
 * A device's adapter info (`GPUDevice.adapterInfo`, with the subgroup sizes where the
 * implementation gives them); undefined where the implementation predates it.
 *
 * @example
 * adapterInfoOf(device)?.vendor; // 'google' under SwiftShader
 */
export function adapterInfoOf(device: GPUDevice): (GPUAdapterInfo & { subgroupMinSize?: number }) | undefined {
  return (device as GPUDevice & { adapterInfo?: GPUAdapterInfo & { subgroupMinSize?: number } }).adapterInfo;
}

/**
 * Requests an adapter and a device (with whichever of kWantedFeatures the adapter has, and
 * `recommendedLimits`), or wraps the caller's device.
 *
 * @example
 * const { device, adapterName } = await acquireDevice();
 */
export async function acquireDevice(device?: GPUDevice, gpu?: GPU): Promise<GpuContext> {
  if (device) {
    const info = adapterInfoOf(device);
    return { device, adapterName: info ? describeAdapter(info) : 'caller-supplied GPUDevice', ownsDevice: false };
  }
  const api = gpu ?? (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
  if (!api) {
    throw new WebGPUUnavailableError(
      runningInNode()
        ? `navigator.gpu is missing: Node has no WebGPU of its own; ${kUseNodeEntry}, or pass a GPUDevice`
        : 'navigator.gpu is missing: this browser has no WebGPU, or the page is not a secure context (https or localhost)',
    );
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await api.requestAdapter();
  } catch (e) {
    throw new WebGPUUnavailableError(`requestAdapter() failed: ${(e as Error).message}`);
  }
  if (!adapter) throw new WebGPUUnavailableError('requestAdapter() returned no adapter: no usable GPU');
  let created: GPUDevice;
  try {
    created = await adapter.requestDevice({
      label: 'lenet5.device',
      requiredFeatures: recommendedFeatures(adapter),
      requiredLimits: recommendedLimits(adapter),
    });
  } catch (e) {
    throw new WebGPUUnavailableError(`requestDevice() failed: ${(e as Error).message}`);
  }
  return { device: created, adapterName: describeAdapter(adapter.info), ownsDevice: true };
}

/**
 * The features of kWantedFeatures that `adapter` offers: request them for a device you pass
 * to createEngine, and the engine can use its fastest kernels.
 *
 * @example
 * const device = await adapter.requestDevice({ requiredFeatures: recommendedFeatures(adapter) });
 * const engine = await createEngine(weights, { device });
 */
export function recommendedFeatures(adapter: GPUAdapter): RecommendedFeature[] {
  return kWantedFeatures.filter((feature) => adapter.features.has(feature));
}

/**
 * The limits the engine's kernels gain from, at the most `adapter` offers: request them for a
 * device you pass to createEngine. maxComputeWorkgroupStorageSize: the fused plan's workgroup
 * kernel (GPUs) and small-batch kernel (CPU adapters) keep a whole image in workgroup memory,
 * and a wide or colour model needs more than WebGPU's guaranteed 16,384 bytes (Caffe's LeNet
 * 19,856, the CIFAR-10 tutorial's Net 19,408); desktop GPUs and SwiftShader offer 32,768.
 * With less, the fused plan runs such a model without those kernels (CPU adapters) or not at
 * all (GPUs: the layered plan runs it).
 *
 * @example
 * const device = await adapter.requestDevice({ requiredFeatures: recommendedFeatures(adapter), requiredLimits: recommendedLimits(adapter) });
 */
export function recommendedLimits(adapter: GPUAdapter): { maxComputeWorkgroupStorageSize: number } {
  return { maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize };
}
