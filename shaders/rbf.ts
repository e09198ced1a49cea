/**
 * Euclidean RBF output layer over a batch of N rows: out[n, k] = Σ_j (input[n, j] −
 * centres[k, j])², k < kClasses, j < kInFeatures (10 centres of 84 in LeNet-5).
 *
 * Mapping: one invocation per output element; invocation i = n · kClasses + k computes the
 * squared distance from row n to centre k. No workgroup memory.
 */
import { wgsl } from './wgsl.js';
import { batchAndIndexWgsl, kWorkgroupSize } from './common.js';

/** Threads per workgroup (the dispatch computes its grid from this). */
export const kRbfWorkgroupSize = kWorkgroupSize;

export interface RbfOptions {
  readonly inFeatures: number;
  readonly classes: number;
}

/**
 * WGSL for the RBF layer. Bindings: 0 batch uniform, 1 input, 2 centres, 3 output.
 *
 * @example
 * const code = rbf({ inFeatures: 84, classes: 10 });
 */
export function rbf(options: RbfOptions): string {
  return wgsl`
${batchAndIndexWgsl(kRbfWorkgroupSize)}

const kInFeatures = ${options.inFeatures}u;
const kClasses = ${options.classes}u;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> centres: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = flatIndex(workgroup, workgroups, local);
  if (i >= batch.count * kClasses) { return; }
  let n = i / kClasses;
  let k = i % kClasses;
  var sum = 0.0;
  for (var j = 0u; j < kInFeatures; j++) {
    let d = input[n * kInFeatures + j] - centres[k * kInFeatures + j];
    sum += d * d;
  }
  output[i] = sum;
}
`;
}
