/**
 * Dense (fully connected) layer over a batch of N rows: out[n, o] = f(bias[o] + Σ_i
 * weight[o, i] · input[n, i]), weights in PyTorch's [out, in] layout.
 *
 * Mapping: one invocation per output element; invocation i = n · kOutFeatures + o computes
 * the whole dot product of row n with weight row o. No workgroup memory.
 */
import { wgsl } from './wgsl.js';
import type { Activation } from '../src/model/spec.js';
import { activationWgsl, batchAndIndexWgsl, kWorkgroupSize } from './common.js';

/** Threads per workgroup (the dispatch computes its grid from this). */
export const kDenseWorkgroupSize = kWorkgroupSize;

export interface DenseOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly activation: Activation;
}

/**
 * WGSL for one dense layer. Bindings: 0 batch uniform, 1 input, 2 weight, 3 bias, 4 output.
 *
 * @example
 * const code = dense({ inFeatures: 400, outFeatures: 120, activation: 'sigmoid' });
 */
export function dense(options: DenseOptions): string {
  const { inFeatures, outFeatures, activation } = options;
  return wgsl`
${batchAndIndexWgsl(kDenseWorkgroupSize)}
${activationWgsl(activation)}

const kInFeatures = ${inFeatures}u;
const kOutFeatures = ${outFeatures}u;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = flatIndex(workgroup, workgroups, local);
  if (i >= batch.count * kOutFeatures) { return; }
  let n = i / kOutFeatures;
  let o = i % kOutFeatures;
  var sum = bias[o];
  for (var j = 0u; j < kInFeatures; j++) {
    sum += weight[o * kInFeatures + j] * input[n * kInFeatures + j];
  }
  output[i] = activate(sum);
}
`;
}
