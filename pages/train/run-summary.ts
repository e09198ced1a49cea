/**
 * The training page's words for durations and for a finished run: the status line that says
 * what the run did, how long it took and what it reached (what `npm run measure:train-page`
 * reads back).
 */

/**
 * A duration as the page shows it: whole seconds, minutes and seconds, or hours and minutes.
 *
 * @example
 * formatSeconds(75); // '1 min 15 s'
 */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** What a finished run reports (the worker's 'finished' message and the last epoch's test). */
export interface FinishedRun {
  readonly steps: number;
  readonly epochs: number;
  /** Training images stepped through, all epochs together. */
  readonly images: number;
  /** Time the run took, pauses excluded. */
  readonly seconds: number;
  /** The last epoch's test accuracy (0..1) and how many test images it was scored on. */
  readonly test?: { readonly accuracy: number; readonly images: number };
}

/**
 * The status line after the last step. A run under a minute keeps a tenth of a second.
 *
 * @example
 * finishedText({ steps: 938, epochs: 1, images: 60000, seconds: 432, test: { accuracy: 0.9861, images: 10000 } });
 * // 'Done: 938 steps (1 epoch, 60,000 images) in 7 min 12 s, 139 images/s; test accuracy 98.61% on 10,000 images.'
 */
export function finishedText(run: FinishedRun): string {
  const plural = (n: number, word: string) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
  const took = run.seconds < 60 ? `${run.seconds.toFixed(1)} s` : formatSeconds(run.seconds);
  const rate = run.seconds > 0 ? `, ${Math.round(run.images / run.seconds).toLocaleString('en')} images/s` : '';
  const test = run.test ? `; test accuracy ${(100 * run.test.accuracy).toFixed(2)}% on ${plural(run.test.images, 'image')}` : '';
  return `Done: ${plural(run.steps, 'step')} (${plural(run.epochs, 'epoch')}, ${plural(run.images, 'image')}) in ${took}${rate}${test}.`;
}
