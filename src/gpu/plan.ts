/**
 * A plan is what a model becomes on the GPU: buffers allocated once for `maxBatch` images, the
 * weights uploaded once, and a fixed list of steps `{ label, pipeline, bindGroup, workgroups }`
 * that a run encodes in order. The `Plan` interface is the seam between planners (this
 * layer-by-layer one, the reference path; a fused whole-network one) and the runner.
 */
import type { LayerName } from '../model/spec.js';

/** One dispatch of a plan. */
export interface PlanStep {
  /** e.g. 'C3.conv5x5' (its pipeline is labelled 'C3.conv5x5.pipeline'). */
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  /**
   * The workgroup grid for a batch of `count` images (count ≤ maxBatch), or null when this
   * step does not run for that count (a plan may hold one kernel per range of batch sizes).
   */
  workgroups(count: number): readonly [number, number, number] | null;
}

/**
 * A model laid out on one device. The runner writes the batch size N (one u32 at offset 0)
 * into `batchBuffer` and N preprocessed images into `inputBuffer`, encodes `steps` in order,
 * and copies N × `outputValues` floats out of `outputBuffer`.
 */
export interface Plan {
  /** Which planner built it ('layered', 'fused', …), for reports. */
  readonly kind: string;
  readonly maxBatch: number;
  readonly steps: readonly PlanStep[];
  /** Uniform, UNIFORM | COPY_DST: the batch size every step reads. */
  readonly batchBuffer: GPUBuffer;
  /** [maxBatch, inputValues] f32, STORAGE | COPY_DST. */
  readonly inputBuffer: GPUBuffer;
  /** Values per image in `inputBuffer`. */
  readonly inputValues: number;
  /** [maxBatch, outputValues] f32, STORAGE | COPY_SRC. */
  readonly outputBuffer: GPUBuffer;
  /** Values per image in `outputBuffer` (10 scores for a whole model). */
  readonly outputValues: number;
  /**
   * Each layer's output, [maxBatch, layerOutputSize] f32, COPY_SRC, in layer order; absent in
   * plans that never write intermediates to memory (the engine then builds a layered plan to
   * read activations).
   */
  readonly layerBuffers?: ReadonlyMap<LayerName, { readonly buffer: GPUBuffer; readonly values: number }>;
  /**
   * Runs of at most this many images finish within ~1 ms on this adapter (measured), so the
   * runner nudges the GPU process to notice it sooner (plan-runner.ts, kNudgeAfterMs).
   * Absent: never nudged.
   */
  readonly nudgeMaxBatch?: number;
  /** Destroys every buffer the plan created. Idempotent. */
  destroy(): void;
}
