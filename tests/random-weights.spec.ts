/**
 * randomWeights (src/model/random.ts) and the Prng it draws from: seeded, PyTorch's default
 * bounds per tensor, RBF centres in the activation's range.
 */
import { expect, test } from '@playwright/test';
import { classicModel, seedModel } from '../src/model/presets.js';
import { Prng } from '../src/model/prng.js';
import { randomWeights } from '../src/model/random.js';
import { rbfCentres } from '../src/model/rbf-bitmaps.js';

test('Prng is mulberry32: matches an independent BigInt rendering of the algorithm', () => {
  // Math.imul and >>> tricks are easy to get subtly wrong; BigInt arithmetic mod 2^32 is not.
  for (const seed of [0, 1, 42, 0xffffffff]) {
    const rng = new Prng(seed);
    const got = Array.from({ length: 5 }, () => Math.round(rng.next() * 2 ** 32));
    expect(got, `seed ${seed}`).toEqual(referenceMulberry32(seed, 5));
  }
});

/** The algorithm written out again with BigInt arithmetic (independent of Math.imul). */
function referenceMulberry32(seed: number, count: number): number[] {
  const mask = (1n << 32n) - 1n;
  const mul = (a: bigint, b: bigint) => (a * b) & mask;
  let state = BigInt(seed);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5n) & mask;
    let t = state;
    t = mul(t ^ (t >> 15n), t | 1n);
    t = (t ^ ((t + mul(t ^ (t >> 7n), t | 61n)) & mask)) & mask;
    out.push(Number((t ^ (t >> 14n)) & mask));
  }
  return out;
}

test('Prng: uniform in range, normal roughly standard, shuffle a permutation', () => {
  const rng = new Prng(123);
  const xs = Array.from({ length: 20000 }, () => rng.uniform(-2, 3));
  expect(Math.min(...xs)).toBeGreaterThanOrEqual(-2);
  expect(Math.max(...xs)).toBeLessThan(3);
  const normals = Array.from({ length: 20000 }, () => rng.normal());
  const mean = normals.reduce((a, b) => a + b, 0) / normals.length;
  const variance = normals.reduce((a, b) => a + (b - mean) ** 2, 0) / normals.length;
  expect(Math.abs(mean)).toBeLessThan(0.05);
  expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  const order = rng.shuffle(Array.from({ length: 100 }, (_, i) => i));
  expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(order).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
});

test('same seed, same weights; another seed, other weights', () => {
  const a = randomWeights(seedModel, 5);
  const b = randomWeights(seedModel, 5);
  const c = randomWeights(seedModel, 6);
  for (const t of seedModel.tensors) {
    expect(Array.from(b.tensors.get(t.name)!)).toEqual(Array.from(a.tensors.get(t.name)!));
  }
  expect(Array.from(c.tensors.get('fc1.weight')!)).not.toEqual(Array.from(a.tensors.get('fc1.weight')!));
});

test('every tensor has its spec shape, and PyTorch default bounds U(±1/√fanIn)', () => {
  const weights = randomWeights(seedModel, 9);
  const fanIn: Record<string, number> = {
    'conv1.weight': 25, 'conv1.bias': 25, 'conv2.weight': 150, 'conv2.bias': 150,
    'fc1.weight': 400, 'fc1.bias': 400, 'fc2.weight': 120, 'fc2.bias': 120, 'fc3.weight': 84, 'fc3.bias': 84,
  };
  for (const t of seedModel.tensors) {
    const data = weights.tensors.get(t.name)!;
    expect(data.length, t.name).toBe(t.shape.reduce((a, b) => a * b, 1));
    const bound = 1 / Math.sqrt(fanIn[t.name]!);
    const maxAbs = Math.max(...Array.from(data, Math.abs));
    expect(maxAbs, t.name).toBeLessThanOrEqual(bound);
    // Large tensors must actually use the range (not, say, a tenth of it).
    if (data.length >= 400) expect(maxAbs, t.name).toBeGreaterThan(0.9 * bound);
  }
});

test('classic: a tabled C3 kernel uses its own fan-in (table size × 25)', () => {
  const weights = randomWeights(classicModel(), 11);
  const c3 = weights.tensors.get('c3.weight')!;
  // Maps 0..5 read 3 inputs (kernels 0..17), map 15 reads all 6 (kernels 54..59).
  const maxAbs = (from: number, to: number) => Math.max(...Array.from(c3.subarray(from * 25, to * 25), Math.abs));
  expect(maxAbs(0, 18)).toBeLessThanOrEqual(1 / Math.sqrt(75));
  expect(maxAbs(0, 18)).toBeGreaterThan(1 / Math.sqrt(150));
  expect(maxAbs(54, 60)).toBeLessThanOrEqual(1 / Math.sqrt(150));
  const coefficient = weights.tensors.get('s2.coefficient')!;
  expect(Array.from(coefficient).every((v) => v >= 0.125 && v <= 0.375)).toBe(true);
});

test('RBF centres are the bitmaps in the activation range: {0, 1} for sigmoid, {−1, +1} for scaled tanh', () => {
  expect(Array.from(randomWeights(classicModel('sigmoid'), 1).tensors.get('output.centres')!)).toEqual(
    Array.from(rbfCentres(0, 1)),
  );
  expect(Array.from(randomWeights(classicModel('scaled-tanh'), 1).tensors.get('output.centres')!)).toEqual(
    Array.from(rbfCentres(-1, 1)),
  );
});
