import type { ModelInfo, ModelWeights } from './model/model-weights.js';
import type { ImageDataLike, InferOptions, Pixels } from './model/preprocess.js';
import type { LayerName, ModelSpec, OutputKind } from './model/spec.js';
import type { PlanKind } from './gpu/plans.js';

/** What `infer` returns: 10 scores per image and the predicted digit of each. */
export interface InferenceResult {
  readonly count: number;
  /** count × 10, row-major: logits, RBF distances or (log-)probabilities, as `output` says. */
  readonly scores: Float32Array;
  /** count predicted digits: argmin of distances, else argmax. */
  readonly classes: Uint8Array;
  readonly output: OutputKind;
}

/** One layer's output for one image, for visualisation. */
export interface LayerActivation {
  readonly name: LayerName;
  /** [channels, height, width] or [features]. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Which implementation runs the network. */
export type Backend = 'webgpu' | 'cpu';

/**
 * An inference engine for one model. The WebGPU engine and the CPU reference engine both
 * implement it, so pages and tools use either without knowing which.
 *
 * @example
 * const engine = await createEngine('/weights/seed.safetensors');
 * const { classes } = await engine.infer(mnistBytes, 100); // 100 × 784 bytes
 * engine.destroy();
 */
export interface InferenceEngine {
  readonly backend: Backend;
  readonly spec: ModelSpec;
  readonly weights: ModelWeights;
  /** The model: its architecture in one line, how it was identified, its preprocessing. */
  readonly model: ModelInfo;
  /** Adapter description (vendor, architecture, device) or 'CPU reference'. */
  readonly adapterName: string;
  /** Why WebGPU was not used, when the 'auto' backend fell back to the CPU reference. */
  readonly fallbackReason?: string;
  /** The GPU plan running now ('layered' or 'fused'); undefined on the CPU reference. */
  readonly plan: PlanKind | undefined;
  /** Why the fused plan is not used (it declined this model, or failed to build), if so. */
  readonly planFallbackReason?: string | undefined;
  /**
   * Resolves with the plan the engine settles on: with the default plan 'auto', once the fused
   * plan has compiled and taken over with all its kernels (or could not); at once otherwise,
   * and on the CPU. On a CPU adapter the fused plan's small-batch kernel comes when a call of
   * 1–2 images arrives or the engine is idle; large calls run at full speed before that.
   * Rejects with EngineDestroyedError when called after `destroy()`.
   *
   * @example
   * const engine = await createEngine(url); // answers at once
   * await engine.fastest(); // 'fused': full speed from here on
   */
  fastest(): Promise<PlanKind | undefined>;
  /**
   * Classifies `count` raw images of `model.input` — planar C×size×size per image (a grey
   * MNIST-style model: 28×28), bytes 0..255 or float intensities in [0, 1] — applying the
   * model's preprocessing. With `{ layout: 'rgba' }` the bytes are canvas pixels (size×size×4
   * per image, alpha ignored for a colour model; for a grey one the pixel over white,
   * inverted, is the ink); an `ImageData` of size×size is one image.
   *
   * Any batch the pixel array can hold is accepted (1,000,000 images are 784 MB of bytes): it
   * is run maxBatch images at a time (default 1024), each run's buffers within the device's
   * `maxStorageBufferBindingSize` (checked when the engine is made) and its dispatches within
   * `maxComputeWorkgroupsPerDimension` (2-D grids past 65,535 workgroups). Beyond the input,
   * a call holds 41 bytes per image (scores and classes) plus one run's buffers.
   *
   * Rejects with InputError when `pixels` is not a Uint8Array, Uint8ClampedArray, Float32Array
   * or Float64Array (or an ImageData), its length is not count × C × size² (× 4 for RGBA), a
   * float pixel is not finite or outside [0, 1], or `count` is not a positive integer; with
   * DeviceLostError once the GPU device is lost (until `recover()`), and EngineDestroyedError
   * after `destroy()`.
   *
   * @example
   * const { classes } = await engine.infer(mnistBytes, 10_000); // 10,000 × 784 bytes
   * await cifarEngine.infer(canvas.getContext('2d')!.getImageData(0, 0, 32, 32));
   */
  infer(pixels: Pixels, count: number, options?: InferOptions): Promise<InferenceResult>;
  infer(image: ImageDataLike): Promise<InferenceResult>;
  /**
   * Every layer's output, first to last (`model.layers`), for one raw image (as `infer`
   * takes it). A batch norm folded into its conv or dense layer has no entry of its own:
   * that layer's output is the normalised one.
   *
   * @example
   * const layers = await engine.activations(pixels);
   * layers.find((layer) => layer.name === 'conv1')?.shape; // [6, 28, 28]
   */
  activations(pixels: Pixels | ImageDataLike, options?: InferOptions): Promise<LayerActivation[]>;
  /**
   * After a DeviceLostError, continues on a new GPU device (`device`, else one requested from
   * navigator.gpu), rebuilding the plan from the same weights: results are the same as before
   * the loss. Resolves at once when nothing is lost (always, on the CPU engine).
   *
   * @example
   * engine.infer(pixels, 1).catch(async (e) => {
   *   if (e instanceof DeviceLostError) await engine.recover();
   * });
   */
  recover(device?: GPUDevice): Promise<void>;
  /** Releases every GPU object. Idempotent; later calls reject with EngineDestroyedError. */
  destroy(): void;
}
