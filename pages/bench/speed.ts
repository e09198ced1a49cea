/**
 * Time to full speed: after a cold start, batch-1024 runs back to back until the engine is
 * steady, then the first run that reached 90% of the steady images/s. With the default engine
 * (which answers with a cheap plan and moves to a faster one once compiled in the background)
 * this is when a user starts getting the throughput the table reports.
 */
import type { InferenceEngine } from '../../src/index.js';
import { percentile } from './measure.js';
import type { SpeedSample } from './types.js';

/** Images per run. */
export const kFullSpeedBatch = 1024;
/** A run counts as full speed at this fraction of the steady images/s. */
export const kFullSpeedFraction = 0.9;

export interface SpeedBudget {
  /** Runs after the engine has settled on its plan; their median is the steady images/s. */
  readonly steadyRuns: number;
  /** Run at least this many in all… */
  readonly minRuns: number;
  /** …but stop after this long (ms since the loop began), settled or not, after 2 runs at least. */
  readonly maxMs: number;
}

/**
 * The cap is generous: on a busy CPU adapter one batch of 1024 on the layered plan can take
 * 30 s or more, and the default engine answers on that plan until the fused one takes over.
 */
export const kFullBudget: SpeedBudget = { steadyRuns: 5, minRuns: 6, maxMs: 300_000 };
export const kQuickBudget: SpeedBudget = { steadyRuns: 3, minRuns: 3, maxMs: 180_000 };

export interface FullSpeed {
  /** End of the first run at ≥ 90% of the steady images/s, ms on `now`'s clock. */
  readonly fullSpeedMs: number;
  readonly steadyImagesPerSecond: number;
  readonly speed: readonly SpeedSample[];
}

/**
 * Runs `engine.infer(pixels, 1024)` until `budget.steadyRuns` steady runs have ended, at least
 * `budget.minRuns` in all and at most `budget.maxMs`. A run is steady on the fused plan (the
 * default engine's fused plan runs large batches at full speed from its first step; its
 * small-batch kernel comes when small calls or an idle moment ask for it, which back-to-back
 * large calls never do), or after `fastest()` resolved, on the plan it settled on (a model
 * the fused plan declines). `now()` is the clock the result is on (ms since page load in the
 * page).
 *
 * @example
 * const { fullSpeedMs } = await timeToFullSpeed(engine, benchPixels(1024), kFullBudget, () => performance.now());
 */
export async function timeToFullSpeed(
  engine: InferenceEngine,
  pixels: Uint8Array,
  budget: SpeedBudget,
  now: () => number,
): Promise<FullSpeed> {
  const speed: SpeedSample[] = [];
  const start = now();
  // Settled: when fastest() resolved, on the plan it then ran.
  let settledAt = Infinity;
  let settledPlan = engine.plan;
  const settled = () => {
    settledAt = now();
    settledPlan = engine.plan;
  };
  void engine.fastest().then(settled, settled);
  // The plan changes between calls, never within one, so a run's plan is the one it ran on.
  const isSteady = (s: SpeedSample) => s.plan === 'fused' || (s.atMs >= settledAt && s.plan === settledPlan);
  for (;;) {
    const t = now();
    await engine.infer(pixels, kFullSpeedBatch);
    const end = now();
    const plan = engine.plan;
    speed.push({ atMs: end, imagesPerSecond: (kFullSpeedBatch / (end - t)) * 1000, ...(plan ? { plan } : {}) });
    const steady = speed.filter(isSteady).length;
    if (steady >= budget.steadyRuns && speed.length >= budget.minRuns) break;
    if (end - start >= budget.maxMs && speed.length >= 2) break;
  }
  const settledRuns = speed.filter(isSteady);
  const last = settledRuns.length > 0 ? settledRuns.slice(-budget.steadyRuns) : speed.slice(-Math.ceil(speed.length / 2));
  const steadyImagesPerSecond = percentile(last.map((s) => s.imagesPerSecond), 50);
  // The first run at 90%: a run on a slower plan is far below it (the layered plan runs at a
  // few % of the fused one), and on one plan the runs scatter ±10% around the median, so
  // asking more of the next runs too would date full speed by that scatter.
  const first = speed.findIndex((s) => s.imagesPerSecond >= kFullSpeedFraction * steadyImagesPerSecond);
  return { fullSpeedMs: speed[first === -1 ? speed.length - 1 : first]!.atMs, steadyImagesPerSecond, speed };
}
