/**
 * Float comparison for the GPU tests: |got − expected| ≤ atol + rtol·|expected|, reporting
 * where and what (layer, (n, c, y, x) or (n, i), expected, actual) for the first mismatches.
 * Runs in the page (no large arrays cross to the test process) and in Node.
 */

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** The kernels' tolerance (issue 2): 1e-5 absolute + 1e-4 relative. */
export const kKernelTolerance: Tolerance = { atol: 1e-5, rtol: 1e-4 };

export interface Mismatch {
  readonly index: number;
  /** e.g. '(n=3, c=2, y=17, x=0)'. */
  readonly at: string;
  readonly expected: number;
  readonly actual: number;
}

export interface Comparison {
  readonly label: string;
  readonly checked: number;
  readonly mismatchCount: number;
  readonly firstMismatches: readonly Mismatch[];
  /** Largest |got − expected| / (atol + rtol·|expected|): ≤ 1 passes. */
  readonly worstRatio: number;
  /** One line when it passes; the mismatches, one per line, when it fails. */
  readonly message: string;
}

/** Reads a flat index of an [N, C, H, W] (or [N, F]) array as named coordinates. */
export function coordinates(index: number, perImageShape: readonly number[]): string {
  const names = perImageShape.length === 3 ? ['c', 'y', 'x'] : perImageShape.map((_, k) => (k === 0 ? 'i' : `d${k}`));
  const parts: string[] = [];
  let rest = index;
  for (let k = perImageShape.length - 1; k >= 0; k--) {
    const size = perImageShape[k]!;
    parts.unshift(`${names[k]}=${rest % size}`);
    rest = Math.floor(rest / size);
  }
  return `(n=${rest}, ${parts.join(', ')})`;
}

/**
 * Compares `actual` with `expected` element by element.
 *
 * @example
 * const c = compareFloats('C3 batch 7', gpu, reference, [16, 10, 10]);
 * if (c.mismatchCount) throw new Error(c.message);
 */
export function compareFloats(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  perImageShape: readonly number[],
  tolerance: Tolerance = kKernelTolerance,
  shown = 5,
): Comparison {
  const { atol, rtol } = tolerance;
  if (actual.length !== expected.length) {
    return {
      label,
      checked: 0,
      mismatchCount: Math.max(actual.length, expected.length),
      firstMismatches: [],
      worstRatio: Infinity,
      message: `${label}: expected ${expected.length} values, found ${actual.length}`,
    };
  }
  const firstMismatches: Mismatch[] = [];
  let mismatchCount = 0;
  let worstRatio = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    const ratio = Math.abs(a - e) / (atol + rtol * Math.abs(e));
    // NaN fails: !(NaN <= 1).
    if (!(ratio <= 1)) {
      mismatchCount++;
      if (firstMismatches.length < shown) firstMismatches.push({ index: i, at: coordinates(i, perImageShape), expected: e, actual: a });
    }
    worstRatio = Math.max(worstRatio, Number.isNaN(ratio) ? Infinity : ratio);
  }
  const message = mismatchCount
    ? `${label}: ${mismatchCount} of ${expected.length} values outside ${atol} + ${rtol}·|ref|; first:\n` +
      firstMismatches.map((m) => `  ${label} ${m.at}: expected ${m.expected}, actual ${m.actual}`).join('\n')
    : `${label}: ${expected.length} values within tolerance (worst ${worstRatio.toFixed(3)} of the allowance)`;
  return { label, checked: expected.length, mismatchCount, firstMismatches, worstRatio, message };
}

/**
 * Compares predicted classes with the reference's. A differing class passes only when the
 * reference itself cannot tell the two apart: its scores for them lie within tolerance.
 */
export function compareClasses(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  referenceScores: ArrayLike<number>,
  classes: number,
  tolerance: Tolerance = kKernelTolerance,
): Comparison {
  const firstMismatches: Mismatch[] = [];
  let mismatchCount = 0;
  for (let n = 0; n < expected.length; n++) {
    const a = actual[n]!;
    const e = expected[n]!;
    if (a === e) continue;
    const best = referenceScores[n * classes + e]!;
    const other = referenceScores[n * classes + a];
    const tie = other !== undefined && Math.abs(other - best) <= tolerance.atol + tolerance.rtol * Math.abs(best);
    if (tie) continue;
    mismatchCount++;
    if (firstMismatches.length < 5) firstMismatches.push({ index: n, at: `(n=${n})`, expected: e, actual: a });
  }
  const message = mismatchCount
    ? `${label}: ${mismatchCount} of ${expected.length} classes differ; first:\n` +
      firstMismatches.map((m) => `  ${label} ${m.at}: expected class ${m.expected}, actual ${m.actual}`).join('\n')
    : `${label}: ${expected.length} classes agree`;
  return { label, checked: expected.length, mismatchCount, firstMismatches, worstRatio: mismatchCount ? Infinity : 0, message };
}
