/**
 * The training page's words for a finished run (pages/train/run-summary.ts): the status line
 * that `npm run measure:train-page` reads back, with its time, images/s and test accuracy.
 */
import { expect, test } from '@playwright/test';
import { finishedText, formatSeconds } from '../pages/train/run-summary.js';

test('durations: seconds, minutes and seconds, hours and minutes', () => {
  expect(formatSeconds(0)).toBe('0 s');
  expect(formatSeconds(59.4)).toBe('59 s');
  expect(formatSeconds(59.6)).toBe('1 min 00 s');
  expect(formatSeconds(432)).toBe('7 min 12 s');
  expect(formatSeconds(3600)).toBe('1 h 00 min');
  expect(formatSeconds(3 * 3600 + 25 * 60 + 40)).toBe('3 h 25 min');
});

test('a full epoch: steps, images, time, images/s and the test accuracy', () => {
  const text = finishedText({ steps: 938, epochs: 1, images: 60000, seconds: 432, test: { accuracy: 0.98614, images: 10000 } });
  expect(text).toBe('Done: 938 steps (1 epoch, 60,000 images) in 7 min 12 s, 139 images/s; test accuracy 98.61% on 10,000 images.');
});

test('a short run keeps tenths of a second and says plurals right', () => {
  expect(finishedText({ steps: 1, epochs: 1, images: 256, seconds: 2.345, test: { accuracy: 0.97, images: 200 } })).toBe(
    'Done: 1 step (1 epoch, 256 images) in 2.3 s, 109 images/s; test accuracy 97.00% on 200 images.',
  );
  expect(finishedText({ steps: 32, epochs: 2, images: 512, seconds: 0 })).toBe('Done: 32 steps (2 epochs, 512 images) in 0.0 s.');
});
