/**
 * The demo's teaching and saliency helpers that need no browser (pages/demo/teach.ts,
 * pages/demo/saliency-view.ts): how a lesson's batches are laid out, and the saliency map's
 * colours and words.
 */
import { expect, test } from '@playwright/test';
import { describeSaliency, overlayPixel, perPixel, region } from '../pages/demo/saliency-view.js';
import { fieldBytes, kTeachDefaults, teachingSet } from '../pages/demo/teach.js';

/** A replay set whose image i is filled with the byte i and labelled i mod 10. */
function replaySet(count: number) {
  const pixels = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) pixels.fill(i, i * 784, (i + 1) * 784);
  return { count, pixels, labels: Uint8Array.from({ length: count }, (_, i) => i % 10) };
}

const drawing = (value: number, label: number) => ({ pixels: new Uint8Array(784).fill(value), label });

test('a lesson: each batch holds the taught drawings in its first places, cycled, and replayed digits after', () => {
  const settings = { ...kTeachDefaults, steps: 3, batch: 5, drawingsPerBatch: 2 };
  const taught = [drawing(200, 1), drawing(201, 4), drawing(202, 7)];
  const set = teachingSet(taught, replaySet(100), settings, 0);
  expect(set.count).toBe(15);
  const first = (i: number) => set.images[i * 784]!;
  // Batch s: places 0, 1 are drawings (cycled over all three), places 2 … 4 replay digits 3s … 3s + 2.
  expect(Array.from({ length: 15 }, (_, i) => first(i))).toEqual([200, 201, 0, 1, 2, 202, 200, 3, 4, 5, 201, 202, 6, 7, 8]);
  expect(Array.from(set.labels)).toEqual([1, 4, 0, 1, 2, 7, 1, 3, 4, 5, 4, 7, 6, 7, 8]);
  // Each image is copied whole.
  expect(set.images.subarray(784, 2 * 784).every((v) => v === 201)).toBe(true);
});

test('the next lesson replays other digits, wrapping around the replay set', () => {
  const settings = { ...kTeachDefaults, steps: 2, batch: 4, drawingsPerBatch: 1 };
  const replay = replaySet(10);
  const second = teachingSet([drawing(255, 3)], replay, settings, 1);
  // Lesson 1 starts at digit 2 · 3 = 6: 6 7 8, then 9 0 1.
  expect(Array.from({ length: 8 }, (_, i) => second.images[i * 784]!)).toEqual([255, 6, 7, 8, 255, 9, 0, 1]);
});

test('a lesson needs a drawing and room for replay', () => {
  expect(() => teachingSet([], replaySet(10), kTeachDefaults, 0)).toThrow(/nothing to teach/);
  expect(() => teachingSet([drawing(1, 1)], replaySet(10), { ...kTeachDefaults, drawingsPerBatch: 16 }, 0)).toThrow(/drawingsPerBatch must be 1 … 15, found 16/);
});

test('a field becomes bytes, rounded and clamped', () => {
  expect(Array.from(fieldBytes(Float32Array.from([0, 0.5, 1, 1.2, -0.1, 0.999])))).toEqual([0, 128, 255, 255, 0, 255]);
});

test('the saliency colours: white where the gradient is zero over white, full colour at the scale, sign picks the hue', () => {
  expect(overlayPixel(0, 0, 1)).toEqual([255, 255, 255]);
  expect(overlayPixel(0, 1, 1)).toEqual([214, 72, 18]);
  expect(overlayPixel(0, -2, 1)).toEqual([33, 102, 172]); // beyond the scale: clamped
  expect(overlayPixel(1, 0, 1)).toEqual([105, 105, 105]); // ink, dimmed
  const half = overlayPixel(0, 0.5, 1);
  expect(half[0]).toBeGreaterThan(half[2]);
  expect(overlayPixel(0, 0.3, 0)).toEqual([255, 255, 255]); // an all-zero map
});

test('the saliency in words: where the largest push each way is', () => {
  const gradient = new Float32Array(28 * 28);
  gradient[2 * 28 + 14] = 0.8; // row 3, column 15: top middle
  gradient[25 * 28 + 1] = -0.5; // row 26, column 2: bottom left
  expect(describeSaliency(gradient, 28, 'the logit of 4')).toBe(
    'Ink would raise the logit of 4 most at row 3, column 15, top middle (+0.80 per unit of ink), and lower it most at row 26, column 2, bottom left (-0.50).',
  );
  expect(describeSaliency(new Float32Array(784), 28, 'the logit of 4')).toMatch(/zero everywhere/);
  expect(region(14 * 28 + 14, 28)).toBe('centre');
  expect(region(14 * 28 + 27, 28)).toBe('middle right');
});

test('a colour gradient per pixel is the sum over its channels', () => {
  const planar = Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40, -1, -2, -3, -4]); // 3 channels of 2×2
  expect(Array.from(perPixel(planar, 3, 2))).toEqual([10, 20, 30, 40]);
});
