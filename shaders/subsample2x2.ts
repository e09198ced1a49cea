/**
 * 2×2 subsampling, stride 2, over a batch of N images: plain average pooling, or the paper's
 * trainable form (window sum × coefficient[c] + bias[c]); optional fused activation.
 *
 * Mapping: one invocation per output element. Invocation i writes
 *   output[n, c, y, x] with i = ((n · channels + c) · outSize + y) · outSize + x,
 * from the four inputs input[n, c, 2y + dy, 2x + dx], dy, dx ∈ {0, 1}. No workgroup memory.
 */
import { wgsl } from './wgsl.js';
import type { Activation } from '../src/model/spec.js';
import { activationWgsl, batchAndIndexWgsl, kWorkgroupSize } from './common.js';

/** Threads per workgroup (the dispatch computes its grid from this). */
export const kSubsample2x2WorkgroupSize = kWorkgroupSize;

export interface Subsample2x2Options {
  readonly channels: number;
  /** Input side; even. */
  readonly inSize: number;
  /** Per-map coefficient and bias buffers (bindings 3, 4) instead of a fixed 1/4. */
  readonly trainable: boolean;
  readonly activation: Activation;
}

/**
 * WGSL for one subsampling layer. Bindings: 0 batch uniform, 1 input, 2 output, and when
 * trainable 3 coefficient, 4 bias.
 *
 * @example
 * const code = subsample2x2({ channels: 6, inSize: 28, trainable: true, activation: 'sigmoid' });
 */
export function subsample2x2(options: Subsample2x2Options): string {
  const { channels, inSize, trainable, activation } = options;
  if (inSize % 2 !== 0) throw new RangeError(`subsample2x2 needs an even input size, found ${inSize}`);
  return wgsl`
${batchAndIndexWgsl(kSubsample2x2WorkgroupSize)}
${activationWgsl(activation)}

const kChannels = ${channels}u;
const kInSize = ${inSize}u;
const kOutSize = ${inSize / 2}u;
const kOutPerImage = kChannels * kOutSize * kOutSize;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
#if ${trainable}
@group(0) @binding(3) var<storage, read> coefficient: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = flatIndex(workgroup, workgroups, local);
  if (i >= batch.count * kOutPerImage) { return; }
  let plane = i / (kOutSize * kOutSize);
  let c = plane % kChannels;
  let y = (i / kOutSize) % kOutSize;
  let x = i % kOutSize;
  let top = (plane * kInSize + 2u * y) * kInSize + 2u * x;
  let sum = input[top] + input[top + 1u] + input[top + kInSize] + input[top + kInSize + 1u];
#if ${trainable}
  output[i] = activate(sum * coefficient[c] + bias[c]);
#else
  output[i] = activate(sum * 0.25);
#endif
}
`;
}
