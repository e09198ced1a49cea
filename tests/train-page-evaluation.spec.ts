/**
 * The training page's test-set summary (pages/train/evaluation.ts): the confusion matrix,
 * accuracy, mean loss and the worst-classified digits from an engine's scores, on hand-made
 * scores whose answers are known, for logits and for RBF distances (smallest wins).
 */
import { expect, test } from '@playwright/test';
import { evaluate } from '../pages/train/evaluation.js';

/** Scores of one image: `high` for class `k`, 0 elsewhere (logits), or the negation (distances). */
function row(k: number, high: number, distances = false): number[] {
  return Array.from({ length: 10 }, (_, c) => (c === k ? (distances ? -high : high) : 0));
}

test('confusion matrix, accuracy, loss and the worst digits from logits', () => {
  // Four images: labels 1, 2, 3, 3; predicted 1 (right), 2 (right), 5 (sure), 7 (barely).
  const labels = Uint8Array.from([1, 2, 3, 3]);
  const scores = Float32Array.from([...row(1, 4), ...row(2, 4), ...row(5, 8), ...row(7, 0.5)]);
  const classes = Uint8Array.from([1, 2, 5, 7]);
  const e = evaluate(scores, classes, labels, 'logits', 8);
  expect(e.accuracy).toBe(0.5);
  const at = (t: number, p: number) => e.confusion[t * 10 + p];
  expect([at(1, 1), at(2, 2), at(3, 5), at(3, 7)]).toEqual([1, 1, 1, 1]);
  expect(e.confusion.reduce((a, b) => a + b, 0)).toBe(4);
  // Loss: −log softmax of the label. Right with 4 against nine 0s; wrong: the label scores 0.
  const right = Math.log(Math.exp(4) + 9) - 4;
  const sure = Math.log(Math.exp(8) + 9);
  const barely = Math.log(Math.exp(0.5) + 9);
  expect(e.loss).toBeCloseTo((2 * right + sure + barely) / 4, 5);
  // Worst first: the sure mistake gives the 3 the least probability.
  expect(e.worst.map((w) => [w.index, w.label, w.predicted])).toEqual([[2, 3, 5], [3, 3, 7]]);
  expect(e.worst[0]!.trueProbability).toBeCloseTo(1 / (Math.exp(8) + 9), 6);
  expect(evaluate(scores, classes, labels, 'logits', 1).worst).toHaveLength(1);
});

test('RBF distances: the smallest distance is the class, negated for the probabilities', () => {
  const labels = Uint8Array.from([4, 9]);
  const scores = Float32Array.from([...row(4, 3, true).map((v) => v + 5), ...row(0, 3, true).map((v) => v + 5)]);
  const e = evaluate(scores, Uint8Array.from([4, 0]), labels, 'distances', 8);
  expect(e.accuracy).toBe(0.5);
  expect(e.worst.map((w) => [w.label, w.predicted])).toEqual([[9, 0]]);
  expect(e.worst[0]!.trueProbability).toBeCloseTo(1 / (Math.exp(3) + 9), 6);
});

test('scores of the wrong size are an error that says what it found', () => {
  expect(() => evaluate(new Float32Array(15), new Uint8Array(2), new Uint8Array(2), 'logits', 8)).toThrow(
    'evaluate: expected 2 × 10 scores and 2 classes, found 15 and 2',
  );
});
