/**
 * Wall-clock helpers: the median of repeated runs within a time budget, percentiles.
 */

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A run slower than this (ms) is too slow to repeat minRuns times. */
const kSlowRunMs = 3000;

/**
 * Runs `task` once to warm up, then repeatedly: at least `minRuns` times and until `budgetMs`
 * has passed (at most `maxRuns`). Returns every run's milliseconds.
 *
 * @example
 * const ms = await repeat(() => engine.infer(pixels, 64), { minRuns: 3, maxRuns: 50, budgetMs: 500 });
 */
export async function repeat(
  task: () => Promise<unknown>,
  { minRuns, maxRuns, budgetMs, warmup = 1 }: { minRuns: number; maxRuns: number; budgetMs: number; warmup?: number },
): Promise<number[]> {
  const warm = performance.now();
  for (let i = 0; i < warmup; i++) await task();
  // A task that takes seconds per run (a framework at a large batch) is timed once more, not minRuns times.
  const least = warmup > 0 && (performance.now() - warm) / warmup > Math.max(budgetMs, kSlowRunMs) ? 1 : minRuns;
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < least || (samples.length < maxRuns && performance.now() - start < budgetMs)) {
    const t = performance.now();
    await task();
    samples.push(performance.now() - t);
  }
  return samples;
}

/** Seeded raw 28×28 images (bytes), so every engine sees the same input. */
export function benchPixels(count: number, seed = 1): Uint8Array {
  return benchBytes(count, 784, seed);
}

/**
 * Seeded raw images of `perImage` bytes each (3 × 32 × 32 for a colour model); the first 784
 * bytes are benchPixels' first image.
 *
 * @example
 * const colour = benchBytes(64, 3 * 32 * 32);
 */
export function benchBytes(count: number, perImage: number, seed = 1): Uint8Array {
  const pixels = new Uint8Array(count * perImage);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < pixels.length; i++) {
    // xorshift32: cheap, and enough for benchmark input.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pixels[i] = state & 0xff;
  }
  return pixels;
}
