/**
 * Backward of the element-wise activation: dPre = dOut · f′, with f′ written in terms of the
 * activation's OUTPUT y (what the forward pass kept): sigmoid y(1 − y), tanh 1 − y², ReLU
 * [y > 0], scaled tanh S·(A − y²/A). CPU reference: `activationBackward` (src/train/layers.ts).
 *
 * Mapping: one invocation per element; invocation i writes preGrad[i] from output[i] and
 * outputGrad[i], i < N · perImage. No workgroup memory.
 */
import type { Activation } from '../src/model/spec.js';
import { kScaledTanhA, kScaledTanhS } from '../src/model/spec.js';
import { wgslFloat } from './common.js';
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

export interface ActivationBackwardOptions {
  /** Values per image. */
  readonly perImage: number;
  /** Any activation but 'none' (whose backward is the identity: no kernel). */
  readonly activation: Exclude<Activation, 'none'>;
}

const derivative: Record<ActivationBackwardOptions['activation'], string> = {
  sigmoid: 'y * (1.0 - y)',
  tanh: '1.0 - y * y',
  relu: 'select(0.0, 1.0, y > 0.0)',
  'scaled-tanh': `${wgslFloat(kScaledTanhS)} * (${wgslFloat(kScaledTanhA)} - y * y / ${wgslFloat(kScaledTanhA)})`,
};

/**
 * Bindings: 0 step uniform, 1 output (y), 2 outputGrad, 3 preGrad.
 *
 * @example
 * const kernel = activationBackward({ perImage: 6 * 28 * 28, activation: 'sigmoid' });
 */
export function activationBackward(options: ActivationBackwardOptions): TrainKernel {
  const { perImage, activation } = options;
  const code = elementwiseKernel({
    count: `step.count * ${perImage}u`,
    declarations: `
@group(0) @binding(1) var<storage, read> output: array<f32>;
@group(0) @binding(2) var<storage, read> outputGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> preGrad: array<f32>;`,
    body: `
  let y = output[i];
  // ReLU: a NaN gradient stays NaN only where the unit was live, as in autograd.
  preGrad[i] = select(outputGrad[i] * (${derivative[activation]}), 0.0, ${activation === 'relu' ? 'y <= 0.0' : 'false'});`,
  });
  return { kernel: 'activation-backward', options, code, workgroups: (count) => elementwiseDispatch(count * perImage) };
}
