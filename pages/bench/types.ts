import type { SoloTables } from './solo-summary.js';

/**
 * The benchmark's result, as shown on the page, downloaded as JSON and printed by
 * `npm run bench`. Every figure is labelled with what measured it (adapter, browser, timer).
 */

/** Another framework run on the same weights (the seed model only). */
export type PeerId = 'tfjs-wasm' | 'tfjs-webgpu' | 'ort-wasm' | 'ort-webgpu';

/** Every peer, in the order the benchmark runs and shows them. */
export const kPeers: readonly PeerId[] = ['tfjs-wasm', 'tfjs-webgpu', 'ort-wasm', 'ort-webgpu'];

/** The seed model's ONNX file (scripts/pytorch/export_onnx.py), public/models/ served at the site's root. */
export const kSeedOnnxPath = 'models/seed.onnx';

/** Our engine as `createEngine(url)` gives it, or with an explicit plan. */
export type OursId = 'webgpu-default' | 'webgpu-fused' | 'webgpu-layered';

/** One engine on one model: which implementation ran, and how. */
export type EngineId = OursId | 'cpu-reference' | PeerId;

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
  /**
   * Our fixed plans: GPU time of the kernels a batch-1 run dispatches (the fused plan's
   * small-batch kernel): the part of the batch-1 latency that is the network's own work.
   */
  readonly batchOneKernels?: KernelTimes;
  /** Peers only: their logits against ours on the same images, checked before timing. */
  readonly check?: LogitsCheck;
  /** Set when this engine could not run; then the figures are empty. */
  readonly error?: string;
}

/** A peer's logits against ours: every |Δ| ≤ atol + rtol·|ours|. */
export interface LogitsCheck {
  readonly images: number;
  readonly maxAbsDiff: number;
  /** Largest |Δ| / (atol + rtol·|ours|): ≤ 1 passes. */
  readonly worstRatio: number;
  readonly atol: number;
  readonly rtol: number;
  readonly ok: boolean;
}

export interface ModelResult {
  readonly model: 'seed' | 'classic';
  /** 'shipped weights/…' or 'random (seeded)': speed does not depend on the values. */
  readonly weights: string;
  readonly multiplyAddsPerImage: number;
  readonly engines: readonly EngineResult[];
  /** Seed model, with WASM peers: our default engine and theirs alternated run by run. */
  readonly alternated?: AlternatedRuns;
}

/**
 * Runs of one batch size by our default engine and the WASM peers, alternated run by run
 * (the order rotating each round), so that the machine's drift falls on every engine alike:
 * the ratios to quote on a machine whose speed wanders by 2× within minutes.
 */
export interface AlternatedRuns {
  readonly batch: number;
  readonly rounds: number;
  /** Each engine's run times (ms, upload → readback), in round order. */
  readonly engines: ReadonlyArray<{ readonly engine: EngineId; readonly detail: string; readonly ms: readonly number[] }>;
}

export interface BenchMeta {
  readonly date: string;
  readonly userAgent: string;
  readonly browser: string;
  readonly adapter: { readonly vendor: string; readonly architecture: string; readonly device: string; readonly description: string };
  readonly timestampQuery: boolean;
  readonly hardwareConcurrency: number;
  /** Whether SharedArrayBuffer (and so WASM threads) was available: false in the page as served. */
  readonly crossOriginIsolated: boolean;
  readonly quick: boolean;
  /** The peers asked for (run on the seed model). */
  readonly peers: readonly PeerId[];
  readonly batches: readonly number[];
  /** Where it ran: 'browser' (bench.html) or 'node' (Dawn through the `webgpu` package). */
  readonly host: 'browser' | 'node';
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
  /** Cold starts (seed model), measured by `npm run bench` in fresh browsers or processes. */
  readonly coldStarts?: readonly ColdStart[];
  /** How the cold starts were run: 'fresh browser per run, built site (vite build + vite preview)' and the like. */
  readonly coldStartSetup?: string;
  /** The side-by-side table (seed model): `sideBySide(result)`, stored with the result. */
  readonly sideBySide?: readonly SideBySideRow[];
  /**
   * The fair table (seed model, every engine) and the family table (every model, ours and
   * ONNX Runtime Web), from runs of each engine alone in a fresh browser or process (solo.ts).
   */
  readonly solo?: SoloTables;
}

export interface BenchOptions {
  /** Small batches and few samples: for tests. */
  readonly quick: boolean;
  /** Also run tfjs (WebGPU and WASM backends) and ONNX Runtime Web on the seed model. */
  readonly frameworks: boolean;
  /** Which peers `frameworks` runs (default: all of kPeers). */
  readonly peers?: readonly PeerId[];
  readonly models: ReadonlyArray<'seed' | 'classic'>;
}

/** One phase of a cold start, from page load (or from the import, in Node), milliseconds. */
export interface ColdPhase {
  /** 'imported' (library loaded), 'ready' (engine or session made), 'first logits'. */
  readonly label: string;
  readonly atMs: number;
}

/** One batch-1024 run after a cold start, for time to full speed. */
export interface SpeedSample {
  /** When the run ended, ms from page load. */
  readonly atMs: number;
  readonly imagesPerSecond: number;
  /** `engine.plan` when the run ended, where the engine says. */
  readonly plan?: string;
}

/** One cold start: a fresh browser (empty caches) or a fresh Node process. */
export interface ColdStartRun {
  /** Page load (navigation start) to the first logits in JS; in Node, import to first logits. */
  readonly firstLogitsMs: number;
  readonly phases: readonly ColdPhase[];
  /** The first image's 10 logits, to check that every engine answered the same. */
  readonly logits: readonly number[];
  /** Ours only: page load until a batch-1024 run reaches ≥ 90% of the steady images/s. */
  readonly fullSpeedMs?: number;
  /** Ours only: the steady images/s at batch 1024 (median of the last runs). */
  readonly steadyImagesPerSecond?: number;
  readonly speed?: readonly SpeedSample[];
  /** Ours only: `engine.plan` at the first logits and at the end, where the engine says. */
  readonly plans?: readonly string[];
  /** Node only: process start to first logits (includes starting Node and tsx). */
  readonly processMs?: number;
}

/** Cold starts of one engine: medians over its runs. */
export interface ColdStart {
  readonly engine: EngineId;
  readonly detail: string;
  readonly runs: readonly ColdStartRun[];
  /** Median over runs of firstLogitsMs. */
  readonly firstLogitsMs: number;
  /** Median over runs of fullSpeedMs (ours only). */
  readonly fullSpeedMs?: number;
  /** Largest |Δ| of this engine's first logits against webgpu-default's (or the first engine's). */
  readonly maxAbsDiffVsOurs?: number;
  /** Set when it failed; then there are no runs. */
  readonly error?: string;
}

/** One row of the side-by-side table: an engine on the seed model. */
export interface SideBySideRow {
  readonly engine: EngineId;
  readonly detail: string;
  /** Cold start: page load to first logits, median ms. */
  readonly coldStartMs?: number;
  /** Ours only: page load to full speed at batch 1024, median ms. */
  readonly fullSpeedMs?: number;
  readonly latencyP50Ms?: number;
  /** Images/s at batch 1, 64 and 1024 (absent where the run did not reach that batch). */
  readonly imagesPerSecond: { readonly 1?: number; readonly 64?: number; readonly 1024?: number };
  /** The peer's logits against ours, where checked. */
  readonly logitsMatch?: boolean;
  readonly error?: string;
}
