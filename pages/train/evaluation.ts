/**
 * A test-set evaluation as the page shows it: the mean loss (softmax cross-entropy, the loss
 * the trainers minimise), the accuracy, the confusion matrix and the worst-classified digits,
 * from the scores an inference engine returns.
 */
import { InputError, type OutputKind } from '../../src/index.js';
import { classIsSmallest, kClasses } from '../../src/reference.js';
import { crossEntropy } from '../../src/train/cpu-trainer.js';

export interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
  /** kClasses × kClasses counts: row = true digit, column = predicted digit. */
  readonly confusion: Uint32Array;
  /** Misclassified images, the lowest probability of the right digit first. */
  readonly worst: ReadonlyArray<{ readonly index: number; readonly label: number; readonly predicted: number; readonly trueProbability: number }>;
}

/** Softmax probability of class `k` from one image's scores (distances are negated first). */
function probability(scores: Float32Array, k: number, distances: boolean): number {
  const sign = distances ? -1 : 1;
  let largest = -Infinity;
  for (const s of scores) largest = Math.max(largest, sign * s);
  let sum = 0;
  for (const s of scores) sum += Math.exp(sign * s - largest);
  return Math.exp(sign * scores[k]! - largest) / sum;
}

/**
 * Scores (count × 10) and predicted classes against the labels.
 *
 * @example
 * const { confusion, worst } = evaluate(result.scores, result.classes, labels, 'logits', 8);
 */
export function evaluate(scores: Float32Array, classes: Uint8Array, labels: Uint8Array, output: OutputKind, worstCount: number): Evaluation {
  const count = labels.length;
  if (scores.length !== count * kClasses || classes.length !== count) {
    throw new InputError(`evaluate: expected ${count} × ${kClasses} scores and ${count} classes, found ${scores.length} and ${classes.length}`);
  }
  const distances = classIsSmallest(output);
  const confusion = new Uint32Array(kClasses * kClasses);
  let lossSum = 0;
  let correct = 0;
  const misread: { index: number; label: number; predicted: number; trueProbability: number }[] = [];
  for (let i = 0; i < count; i++) {
    const row = scores.subarray(i * kClasses, (i + 1) * kClasses);
    const label = labels[i]!;
    const predicted = classes[i]!;
    lossSum += crossEntropy(row, label, distances);
    confusion[label * kClasses + predicted]!++;
    if (predicted === label) correct++;
    else misread.push({ index: i, label, predicted, trueProbability: probability(row, label, distances) });
  }
  misread.sort((a, b) => a.trueProbability - b.trueProbability || a.index - b.index);
  return { loss: lossSum / count, accuracy: correct / count, confusion, worst: misread.slice(0, worstCount) };
}
