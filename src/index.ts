/**
 * lenet5-webgpu: LeNet-5 inference on hand-written WGSL compute kernels, exact against a plain
 * TypeScript reference, which is also the fallback where WebGPU is missing.
 *
 * @example
 * import { createEngine } from 'lenet5-webgpu';
 * const engine = await createEngine('/weights/seed.safetensors');
 * const { classes, scores } = await engine.infer(mnistBytes, 100); // 100 × 784 bytes, 0..255
 * const layers = await engine.activations(mnistBytes.subarray(0, 784)); // C1 … OUTPUT
 * engine.destroy();
 *
 * @module lenet5-webgpu
 */
import type { Backend, InferenceEngine } from './engine-api.js';
import { checkEngineOptions } from './engine-options.js';
import { InputError, WebGPUUnavailableError } from './errors.js';
import { WebGpuEngine } from './gpu/engine.js';
import type { PlanChoice } from './gpu/plans.js';
import type { ModelWeights } from './model/model-weights.js';
import { CpuEngine } from './reference/cpu-engine.js';
import { loadWeights, type LoadOptions } from './formats/load.js';
import { kUseNodeEntry, runningInNode } from './runtime.js';

/** Where the weights come from: file bytes (safetensors, .pth, ONNX), a URL to fetch them from, or weights in memory. */
export type WeightsSource = Uint8Array | ArrayBuffer | string | URL | ModelWeights;

export interface EngineOptions extends LoadOptions {
  /** Run on this device (it is not destroyed with the engine). Default: request one. */
  readonly device?: GPUDevice;
  /**
   * 'webgpu': WebGPU or a WebGPUUnavailableError. 'cpu': the CPU reference. 'auto' (default):
   * WebGPU, else the CPU reference, whose `fallbackReason` says why.
   */
  readonly backend?: Backend | 'auto';
  /** Largest batch per GPU run; larger batches are split. Default 1024. */
  readonly maxBatch?: number;
  /**
   * GPU planner. 'auto' (default): answer at once with the layered plan and move to the fused
   * plan (the whole network in one kernel, compiled in the background) between calls once it
   * is ready; `engine.plan` says which runs. 'layered' or 'fused': that plan only.
   */
  readonly plan?: PlanChoice;
  /** Layered plan: fuse activations into each kernel (default true) or run them standalone. */
  readonly fuseActivations?: boolean;
}

/**
 * Creates an inference engine for a weights file.
 *
 * @example
 * const engine = await createEngine(bytes, { backend: 'auto' });
 * if (engine.fallbackReason) console.warn(`running on the CPU: ${engine.fallbackReason}`);
 * const { classes } = await engine.infer(pixels, 1);
 */
export async function createEngine(source: WeightsSource, options: EngineOptions = {}): Promise<InferenceEngine> {
  checkEngineOptions(options);
  const backend = options.backend ?? 'auto';
  const weights = await resolveWeights(source, options);
  if (backend === 'cpu') return new CpuEngine(weights);
  try {
    return await WebGpuEngine.create(weights, options);
  } catch (e) {
    if (backend === 'auto' && e instanceof WebGPUUnavailableError) return new CpuEngine(weights, e.message);
    throw e;
  }
}

/**
 * Validated weights from any source: bytes (safetensors, PyTorch .pth, ONNX; sniffed from the
 * bytes) are read with `loadWeights`, a string or URL is fetched first, ModelWeights pass
 * through.
 *
 * @example
 * const weights = await resolveWeights(new URL('/models/lenet.pth', location.href), { architecture: 'pytorch-tutorial' });
 */
export async function resolveWeights(source: WeightsSource, options: LoadOptions = {}): Promise<ModelWeights> {
  const load: LoadOptions = {
    ...(options.architecture !== undefined ? { architecture: options.architecture } : {}),
    ...(options.preprocessing !== undefined ? { preprocessing: options.preprocessing } : {}),
    ...(options.labels !== undefined ? { labels: options.labels } : {}),
  };
  if (source instanceof Uint8Array) return loadWeights(source, load);
  if (source instanceof ArrayBuffer) return loadWeights(new Uint8Array(source), load);
  if (typeof source === 'string' || source instanceof URL) return loadWeights(await fetchBytes(source), load);
  if (source && typeof source === 'object' && 'spec' in source && 'tensors' in source) return source;
  throw new InputError(`weights source must be bytes, a URL or ModelWeights, found ${describe(source)}`);
}

async function fetchBytes(url: string | URL): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    // Node's fetch has no file: scheme and no base URL for a path.
    const hint = runningInNode() ? `; ${kUseNodeEntry}` : '';
    throw new InputError(`could not fetch weights from ${String(url)}: ${(e as Error).message}${hint}`);
  }
  if (!response.ok) throw new InputError(`could not fetch weights from ${String(url)}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

// The public surface: the engine and its options, the errors, the formats, the models.
// Reference kernels and other internals: `lenet5-webgpu/reference` (src/reference.ts).
export type { Backend, InferenceEngine, InferenceResult, LayerActivation } from './engine-api.js';
export * from './errors.js';
export { kDefaultMaxBatch } from './gpu/engine.js';
export { recommendedFeatures, recommendedLimits, trainingKernelTargetOf, type RecommendedFeature } from './gpu/device.js';
export type { KernelTarget } from '../shaders/conv5x5.js';
export type { PlanChoice, PlanKind } from './gpu/plans.js';
export {
  loadWeights,
  readWeightsFile,
  saveWeights,
  kMetadataKeys,
  type LoadOptions,
  type PreprocessingOption,
} from './formats/load.js';
export type { RawTensor, WeightsFileContents, WeightsFormat } from './formats/types.js';
export type { ModelInfo, ModelOrigin, ModelWeights } from './model/model-weights.js';
export {
  architectureJsonOf,
  buildArchitecture,
  describeArchitecture,
  parseArchitecture,
  type ArchitectureJson,
  type LayerJson,
} from './model/architecture.js';
export {
  classicModel,
  isPresetName,
  kCifar10Labels,
  kPresetNames,
  presetJson,
  presetModel,
  seedModel,
  type ClassicActivation,
  type PresetName,
} from './model/presets.js';
export type {
  Activation,
  BatchNormSpec,
  Conv5x5Layer,
  DenseLayer,
  LayerName,
  LayerSpec,
  ModelSpec,
  OutputKind,
  PoolMode,
  Preprocessing,
  RbfLayer,
  ScaleShiftLayer,
  SoftmaxLayer,
  Subsample2x2Layer,
  TensorSpec,
} from './model/spec.js';
export type { ImageDataLike, InferOptions, ModelInput, PixelLayout, Pixels } from './model/preprocess.js';
export { parseIdxImages, parseIdxLabels, type IdxImages } from './data/idx.js';
export { createTrainer, type FitOptions, type GpuTrainer, type GpuTrainerOptions, type TrainProgress } from './train/gpu-trainer.js';
export type { LabelledImages, LossTotals } from './gpu/training-plan.js';
export { createSaliency, type Saliency, type SaliencyOptions, type SaliencyPlan, type SaliencyTarget } from './gpu/saliency-plan.js';
