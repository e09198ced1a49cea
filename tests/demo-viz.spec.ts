/**
 * The demo's number helpers for pictures and bars (pages/demo/viz.ts): softmax for the seed
 * model's probability bars, and the value range a picture is drawn on.
 */
import { expect, test } from '@playwright/test';
import { rangeOf, softmax } from '../pages/demo/viz.js';

test('softmax gives probabilities in the ratio of exp(logit), also for huge logits', () => {
  const p = softmax([1, 2, 3]);
  expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  expect(p[2]! / p[1]!).toBeCloseTo(Math.E, 10);
  expect(p[1]! / p[0]!).toBeCloseTo(Math.E, 10);
  // exp(1000) overflows; shifting by the largest logit must not.
  const big = softmax([1000, 999, -1000]);
  expect(Array.from(big).every(Number.isFinite)).toBe(true);
  expect(big[0]! / big[1]!).toBeCloseTo(Math.E, 10);
  expect(big[2]).toBe(0);
  expect(Array.from(softmax([5, 5, 5, 5]))).toEqual([0.25, 0.25, 0.25, 0.25]);
});

test('a picture’s range spans its values; flat or empty arrays get a range of width 1', () => {
  expect(rangeOf([0.2, -1, 3])).toEqual({ low: -1, high: 3 });
  expect(rangeOf(new Float32Array([0.5, 0.5]))).toEqual({ low: 0.5, high: 1.5 });
  expect(rangeOf([])).toEqual({ low: 0, high: 1 });
});
