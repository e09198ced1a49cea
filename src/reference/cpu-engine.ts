/**
 * The CPU engine: the same InferenceEngine interface over the plain TypeScript reference
 * (float64 accumulation). It is the fallback where WebGPU is missing, and slow by design.
 */
import type { Backend, InferenceEngine, InferenceResult, LayerActivation } from '../engine-api.js';
import { EngineDestroyedError } from '../errors.js';
import { modelInfo, type ModelInfo, type ModelWeights } from '../model/model-weights.js';
import { planarImages, preprocess, type ImageDataLike, type InferOptions, type Pixels } from '../model/preprocess.js';
import { kClasses, layerOutputShape, type ModelSpec } from '../model/spec.js';
import { classify, referenceForward, referenceOutput } from './forward.js';

/** Images per reference pass: bounds the float64 intermediates and yields to the event loop. */
const kCpuChunk = 64;

/**
 * Runs a model with the CPU reference.
 *
 * @example
 * const engine = new CpuEngine(weights);
 * const { classes } = await engine.infer(bytes, 3);
 */
export class CpuEngine implements InferenceEngine {
  readonly backend: Backend = 'cpu';
  readonly adapterName = 'CPU reference';
  readonly plan = undefined;
  readonly spec: ModelSpec;
  readonly model: ModelInfo;
  private destroyed = false;

  /**
   * @param fallbackReason Why the WebGPU engine could not be used, when this engine stands in
   *   for it (the 'auto' backend); undefined when the CPU was asked for.
   */
  constructor(
    readonly weights: ModelWeights,
    readonly fallbackReason?: string,
  ) {
    this.spec = weights.spec;
    this.model = modelInfo(weights);
  }

  /** The CPU has no GPU plan to move to: resolves at once, or rejects with EngineDestroyedError once destroyed. */
  async fastest(): Promise<undefined> {
    this.checkUsable('fastest');
    return undefined;
  }

  async infer(images: Pixels | ImageDataLike, imageCount?: number, options?: InferOptions): Promise<InferenceResult> {
    this.checkUsable('infer');
    const { input: shape } = this.model;
    const { pixels, count } = planarImages(images, imageCount, shape, options);
    const perImage = shape.channels * shape.size * shape.size;
    const scores = new Float32Array(count * kClasses);
    for (let start = 0; start < count; start += kCpuChunk) {
      const chunk = Math.min(kCpuChunk, count - start);
      const raw = pixels.subarray(start * perImage, (start + chunk) * perImage);
      const input = preprocess(raw, chunk, this.weights.preprocessing, undefined, shape);
      scores.set(referenceOutput(this.weights, input, chunk), start * kClasses);
      if (start + chunk < count) await new Promise((resolve) => setTimeout(resolve, 0));
      this.checkUsable('infer');
    }
    const output = this.spec.output;
    return { count, scores, classes: classify(scores, count, output), output };
  }

  async activations(images: Pixels | ImageDataLike, options?: InferOptions): Promise<LayerActivation[]> {
    this.checkUsable('activations');
    const { pixels } = planarImages(images, 1, this.model.input, options);
    const input = preprocess(pixels, 1, this.weights.preprocessing, undefined, this.model.input);
    const layers = referenceForward(this.weights, input, 1);
    return this.spec.layers.map((layer) => ({
      name: layer.name,
      shape: layerOutputShape(layer),
      data: Float32Array.from(layers.get(layer.name)!),
    }));
  }

  /** Nothing to recover on the CPU: resolves, or rejects with EngineDestroyedError once destroyed. */
  async recover(): Promise<void> {
    this.checkUsable('recover');
  }

  destroy(): void {
    this.destroyed = true;
  }

  private checkUsable(what: string): void {
    if (this.destroyed) throw new EngineDestroyedError(what);
  }
}
