/**
 * Backward of the dense layer (shaders/dense.ts), from preGrad = dLoss/d(pre-activation)
 * [N, outFeatures] and the kept input [N, inFeatures]; weights [out, in]. CPU reference:
 * `denseBackward` (src/train/layers.ts).
 *
 * - input gradient, one invocation per block of 4 images × 4 inputs j: Σ_o preGrad[n, o] · weight[o, j];
 * - weight gradient, one invocation per block of 4 outputs o × 4 inputs j: Σ_n preGrad[n, o] · input[n, j], n in order;
 *   (blocks of 8 × 8 with `block: 8`, for CPU implementations' long runs: 16 loads for 64
 *   multiply-adds, where every load is a lane-by-lane gather);
 * - bias gradient, one invocation per o: Σ_n preGrad[n, o], n in order.
 * The sums over the batch run in one thread in a fixed order: deterministic, and a batch is
 * short (≤ a few hundred) beside the weight count, so threads are many without a reduction tree.
 * Blocks share loads as the forward kernel's do (shaders/dense.ts): 8 loads for 16 multiply-adds.
 */
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

export interface DenseBackwardOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Values per side of an invocation's block: 4 (default), 8 for 'cpu-unrolled' (dense.ts). */
  readonly block?: number;
}

function constants(options: DenseBackwardOptions): string {
  return `
const kInFeatures = ${options.inFeatures}u;
const kOutFeatures = ${options.outFeatures}u;`;
}

/** Values of a block by default: 4 × 4 sums, each of a row of the batch's or the weights' matrix. */
const kBlock = 4;

/**
 * The block's sums in a private array at constant indices, straight-line (no calls, no
 * branches: docs/performance.md), from four values of each operand.
 */
function blockProducts(B: number, a: string, b: string): string {
  const lines: string[] = [];
  for (let p = 0; p < B; p++) for (let q = 0; q < B; q++) lines.push(`    acc[${p * B + q}] = fma(${a}${p}, ${b}${q}, acc[${p * B + q}]);`);
  return lines.join('\n');
}

/** Stores of a block, each guarded by whether its row and column exist. */
function blockStores(B: number, target: string, rows: string, row0: string, columns: string, column0: string, stride: string): string {
  const lines: string[] = [];
  for (let p = 0; p < B; p++) {
    for (let q = 0; q < B; q++) {
      lines.push(`  if (${row0} + ${p}u < ${rows} && ${column0} + ${q}u < ${columns}) { ${target}[(${row0} + ${p}u) * ${stride} + ${column0} + ${q}u] = acc[${p * B + q}]; }`);
    }
  }
  return lines.join('\n');
}

/**
 * Input gradient, one invocation per block of 4 images × 4 inputs: for each output o it loads
 * 4 values of preGrad and 4 weights for 16 multiply-adds (one-value-per-invocation made two
 * loads per multiply-add). Bindings: 0 step uniform, 1 weight, 2 preGrad, 3 inputGrad.
 *
 * @example
 * const kernel = denseBackwardInput({ inFeatures: 400, outFeatures: 120 });
 */
export function denseBackwardInput(options: DenseBackwardOptions): TrainKernel {
  const B = options.block ?? kBlock;
  const inBlocks = Math.ceil(options.inFeatures / B);
  const loads: string[] = [];
  for (let p = 0; p < B; p++) loads.push(`    let g${p} = preGrad[min(n0 + ${p}u, last) * kOutFeatures + o];`);
  for (let q = 0; q < B; q++) loads.push(`    let w${q} = weight[o * kInFeatures + min(j0 + ${q}u, kInFeatures - 1u)];`);
  const code = elementwiseKernel({
    count: `((step.count + ${B - 1}u) / ${B}u) * ${inBlocks}u`,
    declarations: `${constants(options)}

@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> inputGrad: array<f32>;`,
    body: `
  let n0 = (i / ${inBlocks}u) * ${B}u;
  let j0 = (i % ${inBlocks}u) * ${B}u;
  let last = step.count - 1u;
  var acc: array<f32, ${B * B}>;
  for (var o = 0u; o < kOutFeatures; o++) {
${loads.join('\n')}
${blockProducts(B, 'g', 'w')}
  }
${blockStores(B, 'inputGrad', 'step.count', 'n0', 'kInFeatures', 'j0', 'kInFeatures')}`,
  });
  return { kernel: 'dense-backward-input', options, code, workgroups: (count) => elementwiseDispatch(Math.ceil(count / B) * inBlocks) };
}

/**
 * Weight gradient, one invocation per block of 4 outputs × 4 inputs, the images summed in
 * order (deterministic): for each image n, 4 values of preGrad and 4 of the input for 16
 * multiply-adds. Bindings: 0 step uniform, 1 input, 2 preGrad, 3 weightGrad.
 *
 * @example
 * const kernel = denseBackwardWeight({ inFeatures: 400, outFeatures: 120 });
 */
export function denseBackwardWeight(options: DenseBackwardOptions): TrainKernel {
  const B = options.block ?? kBlock;
  const inBlocks = Math.ceil(options.inFeatures / B);
  const blocks = Math.ceil(options.outFeatures / B) * inBlocks;
  const loads: string[] = [];
  for (let p = 0; p < B; p++) loads.push(`    let g${p} = preGrad[n * kOutFeatures + min(o0 + ${p}u, kOutFeatures - 1u)];`);
  for (let q = 0; q < B; q++) loads.push(`    let x${q} = input[n * kInFeatures + min(j0 + ${q}u, kInFeatures - 1u)];`);
  const code = elementwiseKernel({
    count: `${blocks}u`,
    declarations: `${constants(options)}

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> weightGrad: array<f32>;`,
    body: `
  let o0 = (i / ${inBlocks}u) * ${B}u;
  let j0 = (i % ${inBlocks}u) * ${B}u;
  var acc: array<f32, ${B * B}>;
  for (var n = 0u; n < step.count; n++) {
${loads.join('\n')}
${blockProducts(B, 'g', 'x')}
  }
${blockStores(B, 'weightGrad', 'kOutFeatures', 'o0', 'kInFeatures', 'j0', 'kInFeatures')}`,
  });
  return { kernel: 'dense-backward-weight', options, code, workgroups: () => elementwiseDispatch(blocks) };
}

/**
 * Bias gradient. Bindings: 0 step uniform, 1 preGrad, 2 biasGrad.
 *
 * @example
 * const kernel = denseBackwardBias({ inFeatures: 400, outFeatures: 120 });
 */
export function denseBackwardBias(options: DenseBackwardOptions): TrainKernel {
  const code = elementwiseKernel({
    count: 'kOutFeatures',
    declarations: `${constants(options)}

@group(0) @binding(1) var<storage, read> preGrad: array<f32>;
@group(0) @binding(2) var<storage, read_write> biasGrad: array<f32>;`,
    body: `
  var sum = 0.0;
  for (var n = 0u; n < step.count; n++) {
    sum += preGrad[n * kOutFeatures + i];
  }
  biasGrad[i] = sum;`,
  });
  return { kernel: 'dense-backward-bias', options, code, workgroups: () => elementwiseDispatch(options.outFeatures) };
}
