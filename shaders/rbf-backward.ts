/**
 * Backward of the Euclidean RBF output (shaders/rbf.ts) with fixed centres: only the input
 * gradient, dIn[n, j] = Σ_k 2 · dOut[n, k] · (input[n, j] − centres[k, j]). CPU reference:
 * `rbfBackward` (src/train/layers.ts).
 *
 * Mapping: one invocation per (n, j). No workgroup memory.
 */
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

export interface RbfBackwardOptions {
  readonly inFeatures: number;
  readonly classes: number;
}

/**
 * Bindings: 0 step uniform, 1 input, 2 centres, 3 outputGrad, 4 inputGrad.
 *
 * @example
 * const kernel = rbfBackward({ inFeatures: 84, classes: 10 });
 */
export function rbfBackward(options: RbfBackwardOptions): TrainKernel {
  const code = elementwiseKernel({
    count: 'step.count * kInFeatures',
    declarations: `
const kInFeatures = ${options.inFeatures}u;
const kClasses = ${options.classes}u;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> centres: array<f32>;
@group(0) @binding(3) var<storage, read> outputGrad: array<f32>;
@group(0) @binding(4) var<storage, read_write> inputGrad: array<f32>;`,
    body: `
  let n = i / kInFeatures;
  let j = i % kInFeatures;
  let x = input[i];
  var sum = 0.0;
  for (var k = 0u; k < kClasses; k++) {
    sum += 2.0 * outputGrad[n * kClasses + k] * (x - centres[k * kInFeatures + j]);
  }
  inputGrad[i] = sum;`,
  });
  return { kernel: 'rbf-backward', options, code, workgroups: (count) => elementwiseDispatch(count * options.inFeatures) };
}
