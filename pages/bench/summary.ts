/**
 * The side-by-side table: ours (default, fused, layered) against the peers on the seed model,
 * for cold start, batch-1 latency and images/s at 1, 64 and 1024. Built from a result, so the
 * page, `npm run bench` and the JSON show the same rows.
 */
import { percentile } from './measure.js';
import { kPeers, type AlternatedRuns, type BenchResult, type ColdStart, type EngineId, type SideBySideRow } from './types.js';

/** The engines of the side-by-side table, in its order. */
export const kSideBySide: readonly EngineId[] = ['webgpu-default', 'webgpu-fused', 'webgpu-layered', ...kPeers];

/** The batches the table shows images/s at. */
export const kSideBySideBatches = [1, 64, 1024] as const;

/**
 * One row per engine that ran on the seed model or was cold-started; none when neither.
 *
 * @example
 * const rows = sideBySide(result);
 * rows.find((r) => r.engine === 'ort-wasm')?.coldStartMs;
 */
export function sideBySide(result: BenchResult): SideBySideRow[] {
  const seed = result.models.find((m) => m.model === 'seed');
  const rows: SideBySideRow[] = [];
  for (const id of kSideBySide) {
    const warm = seed?.engines.find((e) => e.engine === id);
    const cold: ColdStart | undefined = result.coldStarts?.find((c) => c.engine === id);
    if (!warm && !cold) continue;
    const at = (batch: number) => warm?.sweep.find((p) => p.batch === batch)?.imagesPerSecond;
    const imagesPerSecond: { 1?: number; 64?: number; 1024?: number } = {};
    for (const b of kSideBySideBatches) {
      const v = at(b);
      if (v !== undefined) imagesPerSecond[b] = v;
    }
    const error = [warm?.error, cold?.error ? `cold start: ${cold.error}` : undefined].filter((e) => e).join('; ');
    rows.push({
      engine: id,
      detail: warm?.detail ?? cold!.detail,
      ...(cold && !cold.error ? { coldStartMs: cold.firstLogitsMs } : {}),
      ...(cold?.fullSpeedMs !== undefined ? { fullSpeedMs: cold.fullSpeedMs } : {}),
      ...(warm && Number.isFinite(warm.latency.p50) ? { latencyP50Ms: warm.latency.p50 } : {}),
      imagesPerSecond,
      ...(warm?.check ? { logitsMatch: warm.check.ok } : {}),
      ...(error ? { error } : {}),
    });
  }
  return rows;
}

/** 'ours, default' and the like: the engine's short name in the table and the chart. */
export function engineLabel(id: EngineId): string {
  const names: Record<EngineId, string> = {
    'webgpu-default': 'ours, default',
    'webgpu-fused': 'ours, fused plan',
    'webgpu-layered': 'ours, layered plan',
    'cpu-reference': 'CPU reference',
    'tfjs-wasm': 'TensorFlow.js WASM',
    'tfjs-webgpu': 'TensorFlow.js WebGPU',
    'ort-wasm': 'ONNX Runtime Web WASM',
    'ort-webgpu': 'ONNX Runtime Web WebGPU',
  };
  return names[id];
}

/** One comparison of the default engine within a run: a ratio (or a difference) and what it compares. */
export interface RunComparison {
  readonly label: string;
  /** The figure: a ratio (×) or milliseconds (ms), per `unit`. */
  readonly value: number;
  readonly unit: '×' | 'ms';
}

/**
 * The default engine against the peers and the floors, from one run's figures only: cold
 * start and images/s at batch 1024 as ratios to ONNX Runtime Web WASM and TensorFlow.js WASM,
 * batch-1 latency above the do-nothing round trips, and the fused plan's own GPU time at batch
 * 1 (the part of the latency that is the network's work). Absent figures are left out.
 *
 * @example
 * for (const c of runComparisons(result)) console.log(c.label, c.value, c.unit);
 */
export function runComparisons(result: BenchResult): RunComparison[] {
  const rows = result.sideBySide ?? sideBySide(result);
  const ours = rows.find((r) => r.engine === 'webgpu-default');
  if (!ours) return [];
  const out: RunComparison[] = [];
  const ratio = (label: string, a: number | undefined, b: number | undefined) => {
    if (a !== undefined && b !== undefined && b > 0) out.push({ label, value: a / b, unit: '×' });
  };
  const alternated = result.models.find((m) => m.model === 'seed')?.alternated;
  for (const peer of ['ort-wasm', 'tfjs-wasm'] as const) {
    const row = rows.find((r) => r.engine === peer);
    if (!row) continue;
    ratio(`cold start, ours default ÷ ${engineLabel(peer)}`, ours.coldStartMs, row.coldStartMs);
    ratio(`images/s at 1024, ours default ÷ ${engineLabel(peer)} (sweeps, one after the other)`, ours.imagesPerSecond[1024], row.imagesPerSecond[1024]);
    const byRound = alternated ? alternatedRatio(alternated, peer) : undefined;
    if (byRound !== undefined) {
      out.push({
        label: `images/s at ${alternated!.batch}, ours default ÷ ${engineLabel(peer)} (alternated run by run, median of ${alternated!.rounds} rounds)`,
        value: byRound,
        unit: '×',
      });
    }
  }
  if (ours.latencyP50Ms !== undefined) {
    for (const floor of result.floors ?? []) {
      if (floor.label.includes('kernel')) out.push({ label: `batch-1 p50, ours default − floor '${floor.label}'`, value: ours.latencyP50Ms - floor.p50, unit: 'ms' });
    }
  }
  const fused = result.models.find((m) => m.model === 'seed')?.engines.find((e) => e.engine === 'webgpu-fused');
  if (fused?.batchOneKernels) {
    out.push({ label: `fused plan's kernel alone at batch 1 (GPU time, ${fused.batchOneKernels.timer})`, value: fused.batchOneKernels.totalMs, unit: 'ms' });
  }
  return out;
}

/**
 * Our default engine's images/s over `peer`'s in alternated runs: the median over rounds of
 * the peer's run time ÷ ours (each round's two runs came within a second of each other), or
 * undefined when either is missing.
 *
 * @example
 * alternatedRatio(result.models[0].alternated!, 'ort-wasm'); // 1.04: ours 4% more images/s
 */
export function alternatedRatio(runs: AlternatedRuns, peer: EngineId): number | undefined {
  const ours = runs.engines.find((e) => e.engine === 'webgpu-default')?.ms;
  const theirs = runs.engines.find((e) => e.engine === peer)?.ms;
  if (!ours?.length || !theirs?.length) return undefined;
  const perRound = ours.slice(0, theirs.length).map((m, i) => theirs[i]! / m);
  return percentile(perRound, 50);
}
