/**
 * Seeded pseudo-random numbers for training: the same seed gives the same shuffles,
 * distortions and initial weights on every machine (Math.random cannot be seeded).
 */

/** A mulberry32 generator: returns uniform floats in [0, 1). */
export type Random = () => number;

/**
 * A small, fast 32-bit generator (mulberry32); good enough for shuffling and initialisation.
 *
 * @example
 * const random = seededRandom(1);
 * random(); // same value on every run
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [low, high). */
export function uniform(random: Random, low: number, high: number): number {
  return low + (high - low) * random();
}

/**
 * Fisher–Yates shuffle in place.
 *
 * @example
 * shuffle(Int32Array.from({ length: 10 }, (_, i) => i), seededRandom(3));
 */
export function shuffle(order: Int32Array, random: Random): Int32Array {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
