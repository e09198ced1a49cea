/**
 * Time to full speed: after a cold start, batch-1024 runs back to back until the engine is
 * steady, then the first run that reached 90% of the steady images/s. With the default engine
 * (whose plan may change in the background once a faster one is ready) this is when a user
 * starts getting the throughput the table reports.
 */
import type { InferenceEngine } from '../../src/index.js';
import { percentile } from './measure.js';
import type { SpeedSample } from './types.js';

/** Images per run. */
export const kFullSpeedBatch = 1024;
/** A run counts as full speed at this fraction of the steady images/s. */
export const kFullSpeedFraction = 0.9;
/** The steady images/s is the median of this many last runs, all on one plan. */
const kSteadyRuns = 5;

export interface SpeedBudget {
  /** Run at least this long (ms since the loop began)… */
  readonly minMs: number;
  /** …and at least this many runs… */
  readonly minRuns: number;
  /** …but stop after this long, steady or not (after 2 runs at least: one is no trend). */
  readonly maxMs: number;
}

export const kFullBudget: SpeedBudget = { minMs: 6000, minRuns: 8, maxMs: 30_000 };
export const kQuickBudget: SpeedBudget = { minMs: 0, minRuns: 3, maxMs: 5000 };

export interface FullSpeed {
  /** End of the first run at ≥ 90% of steady (itself and the next run both), ms on `now`'s clock. */
  readonly fullSpeedMs: number;
  readonly steadyImagesPerSecond: number;
  readonly speed: readonly SpeedSample[];
}

/**
 * Runs `engine.infer(pixels, 1024)` until steady: at least `budget.minMs` and `minRuns`, and
 * the last 5 runs on one plan (where `planOf` says), at most `budget.maxMs`. `now()` is the
 * clock the result is on (ms since page load in the page).
 *
 * @example
 * const { fullSpeedMs } = await timeToFullSpeed(engine, benchPixels(1024), kFullBudget, () => performance.now(), planOf);
 */
export async function timeToFullSpeed(
  engine: InferenceEngine,
  pixels: Uint8Array,
  budget: SpeedBudget,
  now: () => number,
  planOf: (engine: InferenceEngine) => string | undefined,
): Promise<FullSpeed> {
  const speed: SpeedSample[] = [];
  const start = now();
  let samePlan = 0;
  for (;;) {
    const t = now();
    await engine.infer(pixels, kFullSpeedBatch);
    const end = now();
    const plan = planOf(engine);
    samePlan = speed.length > 0 && speed[speed.length - 1]!.plan === plan ? samePlan + 1 : 1;
    speed.push({ atMs: end, imagesPerSecond: (kFullSpeedBatch / (end - t)) * 1000, ...(plan ? { plan } : {}) });
    const elapsed = end - start;
    if (elapsed >= budget.maxMs && speed.length >= 2) break;
    if (elapsed >= budget.minMs && speed.length >= budget.minRuns && samePlan >= Math.min(kSteadyRuns, budget.minRuns)) break;
  }
  const last = speed.slice(-Math.min(kSteadyRuns, Math.ceil(speed.length / 2)));
  const steadyImagesPerSecond = percentile(last.map((s) => s.imagesPerSecond), 50);
  const fast = (i: number) => i >= speed.length || speed[i]!.imagesPerSecond >= kFullSpeedFraction * steadyImagesPerSecond;
  const first = speed.findIndex((_, i) => fast(i) && fast(i + 1));
  return { fullSpeedMs: speed[first === -1 ? speed.length - 1 : first]!.atMs, steadyImagesPerSecond, speed };
}
