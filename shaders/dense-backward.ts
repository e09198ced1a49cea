/**
 * Backward of the dense layer (shaders/dense.ts), from preGrad = dLoss/d(pre-activation)
 * [N, outFeatures] and the kept input [N, inFeatures]; weights [out, in]. CPU reference:
 * `denseBackward` (src/train/layers.ts).
 *
 * - input gradient, one invocation per (n, j): Σ_o preGrad[n, o] · weight[o, j];
 * - weight gradient, one invocation per (o, j): Σ_n preGrad[n, o] · input[n, j], n in order;
 * - bias gradient, one invocation per o: Σ_n preGrad[n, o], n in order.
 * The sums over the batch run in one thread in a fixed order: deterministic, and a batch is
 * short (≤ a few hundred) beside the weight count, so threads are many without a reduction tree.
 */
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

export interface DenseBackwardOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
}

function constants(options: DenseBackwardOptions): string {
  return `
const kInFeatures = ${options.inFeatures}u;
const kOutFeatures = ${options.outFeatures}u;`;
}

/**
 * Input gradient. Bindings: 0 step uniform, 1 weight, 2 preGrad, 3 inputGrad.
 *
 * @example
 * const kernel = denseBackwardInput({ inFeatures: 400, outFeatures: 120 });
 */
export function denseBackwardInput(options: DenseBackwardOptions): TrainKernel {
  const code = elementwiseKernel({
    count: `step.count * kInFeatures`,
    declarations: `${constants(options)}

@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> inputGrad: array<f32>;`,
    body: `
  let n = i / kInFeatures;
  let j = i % kInFeatures;
  var sum = 0.0;
  for (var o = 0u; o < kOutFeatures; o++) {
    sum += preGrad[n * kOutFeatures + o] * weight[o * kInFeatures + j];
  }
  inputGrad[i] = sum;`,
  });
  return { kernel: 'dense-backward-input', options, code, workgroups: (count) => elementwiseDispatch(count * options.inFeatures) };
}

/**
 * Weight gradient. Bindings: 0 step uniform, 1 input, 2 preGrad, 3 weightGrad.
 *
 * @example
 * const kernel = denseBackwardWeight({ inFeatures: 400, outFeatures: 120 });
 */
export function denseBackwardWeight(options: DenseBackwardOptions): TrainKernel {
  const weights = options.inFeatures * options.outFeatures;
  const code = elementwiseKernel({
    count: `${weights}u`,
    declarations: `${constants(options)}

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> weightGrad: array<f32>;`,
    body: `
  let o = i / kInFeatures;
  let j = i % kInFeatures;
  var sum = 0.0;
  for (var n = 0u; n < step.count; n++) {
    sum += preGrad[n * kOutFeatures + o] * input[n * kInFeatures + j];
  }
  weightGrad[i] = sum;`,
  });
  return { kernel: 'dense-backward-weight', options, code, workgroups: () => elementwiseDispatch(weights) };
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
