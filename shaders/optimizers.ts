/**
 * The optimizers, in place over one flat parameter vector (every trainable tensor of a model,
 * laid out by the training plan), with PyTorch's `torch.optim` semantics:
 *
 * - SGD: g = grad + weightDecay · p; with momentum, buf = momentum · buf + g (buf starts at 0,
 *   which equals torch's first-step buf = g when dampening is 0); p −= lr · buf (or lr · g).
 * - Adam: g = grad + weightDecay · p (L2, not AdamW); m = β1 m + (1 − β1) g;
 *   v = β2 v + (1 − β2) g²; p −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε).
 *
 * The learning rate and Adam's bias corrections change every step, so they come from the
 * step uniform (elementwise.ts); the rest are constants of the run. CPU references: `sgdStep`
 * (src/train/sgd.ts) and `Adam` (src/train/adam.ts).
 *
 * Mapping: one invocation per parameter i < kParameters. No workgroup memory.
 */
import { wgslFloat } from './common.js';
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

export interface SgdOptions {
  readonly parameters: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface AdamKernelOptions {
  readonly parameters: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}

/**
 * SGD. Bindings: 0 step uniform, 1 params, 2 grads, and with momentum 3 velocity.
 *
 * @example
 * const kernel = sgd({ parameters: 61706, momentum: 0.9, weightDecay: 0 });
 */
export function sgd(options: SgdOptions): TrainKernel {
  const withMomentum = options.momentum !== 0;
  const code = elementwiseKernel({
    count: `${options.parameters}u`,
    declarations: `
const kMomentum = ${wgslFloat(options.momentum)};
const kWeightDecay = ${wgslFloat(options.weightDecay)};

@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
${withMomentum ? '@group(0) @binding(3) var<storage, read_write> velocity: array<f32>;' : ''}`,
    body: `
  let g = grads[i] + kWeightDecay * params[i];
${
  withMomentum
    ? `  let b = kMomentum * velocity[i] + g;
  velocity[i] = b;
  params[i] -= step.learningRate * b;`
    : '  params[i] -= step.learningRate * g;'
}`,
  });
  return { kernel: 'sgd', options, code, workgroups: () => elementwiseDispatch(options.parameters) };
}

/**
 * Adam. Bindings: 0 step uniform (learningRate, correction1 = 1 − β1^t, correction2Sqrt =
 * √(1 − β2^t)), 1 params, 2 grads, 3 m, 4 v.
 *
 * @example
 * const kernel = adam({ parameters: 61706, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
 */
export function adam(options: AdamKernelOptions): TrainKernel {
  const code = elementwiseKernel({
    count: `${options.parameters}u`,
    declarations: `
const kBeta1 = ${wgslFloat(options.beta1)};
const kBeta2 = ${wgslFloat(options.beta2)};
const kEpsilon = ${wgslFloat(options.epsilon)};
const kWeightDecay = ${wgslFloat(options.weightDecay)};

@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;`,
    body: `
  let g = grads[i] + kWeightDecay * params[i];
  let mi = kBeta1 * m[i] + (1.0 - kBeta1) * g;
  let vi = kBeta2 * v[i] + (1.0 - kBeta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  params[i] -= (step.learningRate / step.correction1) * mi / (sqrt(vi) / step.correction2Sqrt + kEpsilon);`,
  });
  return { kernel: 'adam', options, code, workgroups: () => elementwiseDispatch(options.parameters) };
}
