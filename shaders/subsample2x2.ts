/**
 * 2×2 pooling, stride 2, over a batch of N images: average pooling, max pooling, or the
 * paper's trainable subsampling (window sum × coefficient[c] + bias[c]); optional fused
 * activation. An odd input side drops its last row and column (PyTorch's floor mode).
 *
 * Mapping: one invocation per output element. Invocation i writes
 *   output[n, c, y, x] with i = ((n · channels + c) · outSize + y) · outSize + x,
 * from the four inputs input[n, c, 2y + dy, 2x + dx], dy, dx ∈ {0, 1}. No workgroup memory.
 */
import { wgsl } from './wgsl.js';
import type { Activation, PoolMode } from '../src/model/spec.js';
import { activationWgsl, batchAndIndexWgsl, kWorkgroupSize } from './common.js';

/** Threads per workgroup (the dispatch computes its grid from this). */
export const kSubsample2x2WorkgroupSize = kWorkgroupSize;

export interface Subsample2x2Options {
  readonly channels: number;
  /** Input side (≥ 2). */
  readonly inSize: number;
  /** 'trainable' reads per-map coefficient and bias buffers (bindings 3, 4). */
  readonly mode: PoolMode;
  readonly activation: Activation;
}

/**
 * WGSL for one subsampling layer. Bindings: 0 batch uniform, 1 input, 2 output, and when
 * trainable 3 coefficient, 4 bias.
 *
 * @example
 * const code = subsample2x2({ channels: 6, inSize: 28, mode: 'trainable', activation: 'sigmoid' });
 */
export function subsample2x2(options: Subsample2x2Options): string {
  const { channels, inSize, mode, activation } = options;
  if (inSize < 2) throw new RangeError(`subsample2x2 needs an input of at least 2×2, found ${inSize}×${inSize}`);
  const trainable = mode === 'trainable';
  return wgsl`
${batchAndIndexWgsl(kSubsample2x2WorkgroupSize)}
${activationWgsl(activation)}

const kChannels = ${channels}u;
const kInSize = ${inSize}u;
const kOutSize = ${Math.floor(inSize / 2)}u;
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
  let y = (i / kOutSize) % kOutSize;
  let x = i % kOutSize;
  let top = (plane * kInSize + 2u * y) * kInSize + 2u * x;
  let a = input[top];
  let b = input[top + 1u];
  let d = input[top + kInSize];
  let e = input[top + kInSize + 1u];
#if ${mode === 'max'}
  output[i] = activate(max(max(a, b), max(d, e)));
#elif ${trainable}
  let c = plane % kChannels;
  output[i] = activate((a + b + d + e) * coefficient[c] + bias[c]);
#else
  output[i] = activate((a + b + d + e) * 0.25);
#endif
}
`;
}
