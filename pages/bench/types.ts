/**
 * The benchmark's result, as shown on the page, downloaded as JSON and printed by
 * `npm run bench`. Every figure is labelled with what measured it (adapter, browser, timer).
 */

/** One engine on one model: which implementation ran, and how. */
export type EngineId = 'webgpu-fused' | 'webgpu-layered' | 'cpu-reference' | 'tfjs-webgpu' | 'tfjs-wasm';

/** Images/s at one batch size, wall clock from input upload to scores read back. */
export interface SweepPoint {
  readonly batch: number;
  /** Median milliseconds per batch. */
  readonly msPerBatch: number;
  readonly imagesPerSecond: number;
  /** 2 × multiply-adds per image × images/s. */
  readonly gflops: number;
  readonly samples: number;
}

/** GPU time of one kernel (plan step) at `batch`. */
export interface KernelTime {
  readonly label: string;
  /** Median milliseconds. */
  readonly ms: number;
}

export interface KernelTimes {
  readonly batch: number;
  /** 'timestamp-query' (GPU time per pass), or 'wall' (submit → onSubmittedWorkDone per step). */
  readonly timer: 'timestamp-query' | 'wall';
  readonly kernels: readonly KernelTime[];
  readonly totalMs: number;
}

export interface EngineResult {
  readonly engine: EngineId;
  /** e.g. 'fused-invocation', 'layered', 'tfjs 4.22.0 webgpu'. */
  readonly detail: string;
  /** Batch-1 latency (upload → classes read back), milliseconds. */
  readonly latency: { readonly p50: number; readonly p95: number; readonly samples: number };
  readonly sweep: readonly SweepPoint[];
  readonly kernels?: KernelTimes;
  /** Frameworks only: their logits against ours on the same images, checked before timing. */
  readonly check?: { readonly images: number; readonly maxAbsDiff: number; readonly worstRatio: number; readonly ok: boolean };
  /** Set when this engine could not run; then the figures are empty. */
  readonly error?: string;
}

export interface ModelResult {
  readonly model: 'seed' | 'classic';
  /** 'shipped weights/…' or 'random (seeded)': speed does not depend on the values. */
  readonly weights: string;
  readonly multiplyAddsPerImage: number;
  readonly engines: readonly EngineResult[];
}

export interface BenchMeta {
  readonly date: string;
  readonly userAgent: string;
  readonly browser: string;
  readonly adapter: { readonly vendor: string; readonly architecture: string; readonly device: string; readonly description: string };
  readonly timestampQuery: boolean;
  readonly hardwareConcurrency: number;
  readonly quick: boolean;
  readonly frameworks: boolean;
  readonly batches: readonly number[];
}

/** A round trip that does no real work (floors.ts): what a batch-1 latency cannot beat. */
export interface Floor {
  readonly label: string;
  /** Milliseconds. */
  readonly p50: number;
  readonly p95: number;
  readonly samples: number;
}

export interface BenchResult {
  readonly meta: BenchMeta;
  /** Absent in results from before floors were measured. */
  readonly floors?: readonly Floor[];
  readonly models: readonly ModelResult[];
}

export interface BenchOptions {
  /** Small batches and few samples: for tests. */
  readonly quick: boolean;
  /** Also run tfjs (WebGPU and WASM backends) on the seed model. */
  readonly frameworks: boolean;
  readonly models: ReadonlyArray<'seed' | 'classic'>;
}
