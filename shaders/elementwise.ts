/**
 * The one shape of the training kernels: the step uniform at binding 0, the flat invocation
 * index, the bounds guard, and (for the reductions over the batch) a deterministic workgroup
 * tree. A kernel passes only its constants, bindings and body, as tfjs-backend-webgpu's
 * programs share their `main` preamble; the training kernels all build through here.
 *
 * The step uniform begins with the batch size, so the inference kernels (which read
 * `struct Batch { count: u32 }` at binding 0) bind the same buffer unchanged: a training plan
 * copies one `Step` record into it before each optimizer step's dispatches.
 */
import { wgsl } from './wgsl.js';
import { dispatchSize, kWorkgroupSize } from './common.js';

/** Bytes of one `Step` record (five 32-bit fields, padded to 16). */
export const kStepUniformBytes = 32;

/** Threads per workgroup of the element-wise training kernels and of each reduction. */
export const kTrainWorkgroupSize = kWorkgroupSize;

/**
 * The per-step values a training kernel may read, in the order `writeStep` lays them out.
 * `count` is the batch size N; the rest are read by the batch gather and the optimizers.
 */
export interface StepValues {
  readonly count: number;
  /** Index of the batch's first image in the epoch's order. */
  readonly first: number;
  readonly learningRate: number;
  /** Adam's 1 − β1^t (1 for SGD). */
  readonly correction1: number;
  /** Adam's √(1 − β2^t) (1 for SGD). */
  readonly correction2Sqrt: number;
}

/**
 * Writes `values` as one Step record at `byteOffset` of `target`.
 *
 * @example
 * const steps = new ArrayBuffer(kStepUniformBytes * 8);
 * writeStep(steps, 0, { count: 64, first: 0, learningRate: 0.1, correction1: 1, correction2Sqrt: 1 });
 */
export function writeStep(target: ArrayBuffer, byteOffset: number, values: StepValues): void {
  new Uint32Array(target, byteOffset, 2).set([values.count, values.first]);
  new Float32Array(target, byteOffset + 8, 3).set([values.learningRate, values.correction1, values.correction2Sqrt]);
}

const stepWgsl = `
struct Step {
  count: u32,
  first: u32,
  learningRate: f32,
  correction1: f32,
  correction2Sqrt: f32,
}

@group(0) @binding(0) var<uniform> step: Step;
`;

/**
 * A training kernel ready for the pipeline cache (`kernel` + `options` key its WGSL) with its
 * grid for a batch of `count` images, computed from the same constants the WGSL was built with.
 */
export interface TrainKernel {
  readonly kernel: string;
  readonly options: object;
  readonly code: string;
  workgroups(count: number): [number, number, number];
}

export interface ElementwiseKernel {
  /** WGSL expression for the number of invocations that work (may read `step.count`). */
  readonly count: string;
  /** Constants, bindings (from 1) and helper functions. */
  readonly declarations: string;
  /** Body of `main`; `i` (u32) is the invocation's index, already < count. */
  readonly body: string;
}

/**
 * WGSL of a one-invocation-per-element kernel: invocation i (the flat index over a grid from
 * `elementwiseDispatch`) runs `body` when i < count. No workgroup memory.
 *
 * @example
 * const code = elementwiseKernel({
 *   count: 'step.count * 10u',
 *   declarations: '@group(0) @binding(1) var<storage, read_write> out: array<f32>;',
 *   body: 'out[i] = 0.0;',
 * });
 */
export function elementwiseKernel(kernel: ElementwiseKernel): string {
  return wgsl`
${stepWgsl}
const kWorkgroupSize = ${kTrainWorkgroupSize}u;

${kernel.declarations}

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = (workgroup.y * workgroups.x + workgroup.x) * kWorkgroupSize + local;
  if (i >= ${kernel.count}) { return; }
  ${kernel.body}
}
`;
}

/**
 * Workgroups for an element-wise kernel over `invocations` elements (the bound the kernel's
 * guard uses for the largest batch).
 *
 * @example
 * elementwiseDispatch(64 * 6 * 28 * 28); // [4704, 1, 1]
 */
export function elementwiseDispatch(invocations: number): [number, number, number] {
  return dispatchSize(invocations, kTrainWorkgroupSize);
}

export interface ReductionKernel {
  /** Number of sums (one workgroup each), a constant. */
  readonly outputs: number;
  /** WGSL expression for the number of terms in every sum (may read `step.count`). */
  readonly terms: string;
  /** Constants, bindings (from 1), and `fn term(o: u32, t: u32) -> f32`, the t-th term of sum o. */
  readonly declarations: string;
  /** Statement that stores `total` (f32), the sum of output `o` (u32). */
  readonly store: string;
}

/**
 * WGSL of a deterministic sum over many terms (a weight gradient over the batch and the
 * positions): workgroup g computes sum o = g. Thread l adds terms l, l + W, l + 2W, … in
 * order, then the W partial sums meet in a fixed binary tree in workgroup memory
 * (`partial`, W floats); thread 0 stores. No atomics: the same inputs give the same bits.
 *
 * @example
 * const code = reductionKernel({ outputs: 6, terms: 'step.count * 784u', declarations, store: 'grad[o] = total;' });
 */
export function reductionKernel(kernel: ReductionKernel): string {
  return wgsl`
${stepWgsl}
const kWorkgroupSize = ${kTrainWorkgroupSize}u;
const kOutputs = ${kernel.outputs}u;

${kernel.declarations}

var<workgroup> partial: array<f32, kWorkgroupSize>;

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let o = workgroup.y * workgroups.x + workgroup.x;
  // Uniform control flow: a surplus workgroup still meets every barrier, it only stores nothing.
  let live = o < kOutputs;
  var sum = 0.0;
  if (live) {
    let terms = ${kernel.terms};
    for (var t = local; t < terms; t += kWorkgroupSize) {
      sum += term(o, t);
    }
  }
  partial[local] = sum;
  for (var half = kWorkgroupSize / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (local < half) {
      partial[local] += partial[local + half];
    }
  }
  if (live && local == 0u) {
    let total = partial[0];
    ${kernel.store}
  }
}
`;
}

/**
 * Workgroups for a reduction kernel with `outputs` sums (one workgroup each).
 *
 * @example
 * reductionDispatch(150); // [150, 1, 1]
 */
export function reductionDispatch(outputs: number): [number, number, number] {
  return dispatchSize(outputs * kTrainWorkgroupSize, kTrainWorkgroupSize);
}

/**
 * The batch's sum of partials, in order: total[j] = Σ_r partial[r, j] over the N ·
 * `rowsPerImage` rows (default 1: one per image; more where a kernel writes several per image).
 * Bindings: 0 step uniform (its count is N), 1 partial [N · rowsPerImage, values], 2 total [values].
 *
 * @example
 * const kernel = batchSum({ values: 150 });
 */
export function batchSum(options: { readonly values: number; readonly rowsPerImage?: number }): TrainKernel {
  const rows = options.rowsPerImage ?? 1;
  const code = elementwiseKernel({
    count: `${options.values}u`,
    declarations: `
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> total: array<f32>;`,
    body: `
  var sum = 0.0;
  for (var r = 0u; r < step.count * ${rows}u; r++) {
    sum += partial[r * ${options.values}u + i];
  }
  total[i] = sum;`,
  });
  return { kernel: 'batch-sum', options, code, workgroups: () => elementwiseDispatch(options.values) };
}
