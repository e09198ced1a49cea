/**
 * Element-wise activation (the `sigmoid` kernel; also the paper's scaled tanh), used after a
 * layer when activations are not fused into it. Reads one buffer, writes another: a dispatch
 * never binds one buffer as both input and output.
 *
 * Mapping: one invocation per element; invocation i writes output[i] = f(input[i]) for
 * i < N · kPerImage. No workgroup memory.
 */
import { wgsl } from './wgsl.js';
import type { Activation } from '../src/model/spec.js';
import { activationWgsl, batchAndIndexWgsl, kWorkgroupSize } from './common.js';

/** Threads per workgroup (the dispatch computes its grid from this). */
export const kActivationWorkgroupSize = kWorkgroupSize;

export interface ActivationOptions {
  /** Values per image. */
  readonly perImage: number;
  readonly activation: Activation;
}

/**
 * WGSL for the standalone activation. Bindings: 0 batch uniform, 1 input, 2 output.
 *
 * @example
 * const code = activation({ perImage: 6 * 28 * 28, activation: 'sigmoid' });
 */
export function activation(options: ActivationOptions): string {
  return wgsl`
${batchAndIndexWgsl(kActivationWorkgroupSize)}
${activationWgsl(options.activation)}

const kPerImage = ${options.perImage}u;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = flatIndex(workgroup, workgroups, local);
  if (i >= batch.count * kPerImage) { return; }
  output[i] = activate(input[i]);
}
`;
}
