/**
 * Per-channel scale and shift, y = f(x · scale[c] + shift[c]), over a batch of N images: what
 * a batch norm that cannot fold into the conv or dense layer before it runs as (after an
 * activation or a pool; src/model/fold.ts computes scale and shift from its statistics).
 * Reads one buffer, writes another: a dispatch never binds one buffer as both.
 *
 * Mapping: one invocation per element; invocation i writes output[i] for i < N · kPerImage,
 * its channel c = (i mod kPerImage) / kPerChannel (kPerChannel = size², or 1 over a vector of
 * features). No workgroup memory.
 */
import { wgsl } from './wgsl.js';
import type { Activation } from '../src/model/spec.js';
import { activationWgsl, batchAndIndexWgsl, kWorkgroupSize } from './common.js';

/** Threads per workgroup (the dispatch computes its grid from this). */
export const kScaleShiftWorkgroupSize = kWorkgroupSize;

export interface ScaleShiftOptions {
  readonly channels: number;
  /** Values per channel: size² over a map, 1 over a vector. */
  readonly perChannel: number;
  readonly activation: Activation;
}

/**
 * WGSL for one scale-shift layer. Bindings: 0 batch uniform, 1 input, 2 scale, 3 shift, 4 output.
 *
 * @example
 * const code = scaleShift({ channels: 6, perChannel: 14 * 14, activation: 'none' });
 */
export function scaleShift(options: ScaleShiftOptions): string {
  const { channels, perChannel, activation } = options;
  return wgsl`
${batchAndIndexWgsl(kScaleShiftWorkgroupSize)}
${activationWgsl(activation)}

const kChannels = ${channels}u;
const kPerChannel = ${perChannel}u;
const kPerImage = kChannels * kPerChannel;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = flatIndex(workgroup, workgroups, local);
  if (i >= batch.count * kPerImage) { return; }
  let c = (i % kPerImage) / kPerChannel;
  output[i] = activate(fma(input[i], scale[c], shift[c]));
}
`;
}
