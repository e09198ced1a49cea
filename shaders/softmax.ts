/**
 * Softmax (or log-softmax) over each image's scores: the optional last layer of a network
 * that ends in `F.softmax` / `F.log_softmax` (ONNX Softmax / LogSoftmax).
 *
 * Mapping: one invocation per image. Invocation n reads input[n, 0 … F−1], and writes
 * output[n, k] = e^(x_k − m) / Σ_j e^(x_j − m), or x_k − m − log Σ_j e^(x_j − m) for the log
 * form, with m the row's maximum (so no exp overflows). Three passes over F ≤ a few dozen
 * values; no workgroup memory.
 */
import { wgsl } from './wgsl.js';
import { batchAndIndexWgsl, kWorkgroupSize } from './common.js';

/** Threads per workgroup (the dispatch computes its grid from this). */
export const kSoftmaxWorkgroupSize = kWorkgroupSize;

export interface SoftmaxOptions {
  /** Scores per image. */
  readonly features: number;
  /** Log-softmax instead of softmax. */
  readonly log: boolean;
}

/**
 * WGSL for the softmax layer. Bindings: 0 batch uniform, 1 input, 2 output.
 *
 * @example
 * const code = softmax({ features: 10, log: true });
 */
export function softmax(options: SoftmaxOptions): string {
  return wgsl`
${batchAndIndexWgsl(kSoftmaxWorkgroupSize)}

const kFeatures = ${options.features}u;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let n = flatIndex(workgroup, workgroups, local);
  if (n >= batch.count) { return; }
  let row = n * kFeatures;
  var largest = input[row];
  for (var k = 1u; k < kFeatures; k++) { largest = max(largest, input[row + k]); }
  var total = 0.0;
  for (var k = 0u; k < kFeatures; k++) { total += exp(input[row + k] - largest); }
#if ${options.log}
  let shift = largest + log(total);
  for (var k = 0u; k < kFeatures; k++) { output[row + k] = input[row + k] - shift; }
#else
  for (var k = 0u; k < kFeatures; k++) { output[row + k] = exp(input[row + k] - largest) / total; }
#endif
}
`;
}
