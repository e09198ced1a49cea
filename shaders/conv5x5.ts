/**
 * 5×5 convolution, stride 1, zero padding, optional connection table, optional fused
 * activation, over a batch of N images (N from the `batch` uniform).
 *
 * Mapping: one invocation per output element. Invocation i writes
 *   output[n, o, y, x] with i = ((n · outChannels + o) · outSize + y) · outSize + x,
 * summing bias[o] and, for each input map c feeding o, the 25 products
 *   weight[kernel(o, c), ky, kx] · input[n, c, y + ky − padding, x + kx − padding],
 * where taps that fall in the padding read zero. No workgroup memory: each thread reads its
 * 5×5 windows straight from the storage buffer (LeNet's maps are tiny; correctness first).
 *
 * Weights: dense [outChannels, inChannels, 5, 5]; with a table, only the listed kernels,
 * [Σ table sizes, 5, 5], output-map major (spec.ts `connectionOffsets`). The table goes in as
 * WGSL constants: kTableStart[o] .. kTableStart[o + 1] index kTableInputs.
 */
import { wgsl } from './wgsl.js';
import type { Activation } from '../src/model/spec.js';
import { activationWgsl, batchAndIndexWgsl, kWorkgroupSize } from './common.js';

/** Threads per workgroup (the dispatch computes its grid from this). */
export const kConv5x5WorkgroupSize = kWorkgroupSize;

export interface Conv5x5Options {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inSize: number;
  readonly padding: number;
  /** For each output map, the ascending input maps feeding it; absent = every input map. */
  readonly connectionTable?: ReadonlyArray<ReadonlyArray<number>>;
  readonly activation: Activation;
}

/** Output side for a 5×5 stride-1 kernel. */
export function conv5x5OutSize(inSize: number, padding: number): number {
  return inSize + 2 * padding - 4;
}

/**
 * WGSL for one conv layer. Bindings: 0 batch uniform, 1 input, 2 weight, 3 bias, 4 output.
 *
 * @example
 * const code = conv5x5({ inChannels: 1, outChannels: 6, inSize: 28, padding: 2, activation: 'sigmoid' });
 */
export function conv5x5(options: Conv5x5Options): string {
  const { inChannels, outChannels, inSize, padding, connectionTable, activation } = options;
  const outSize = conv5x5OutSize(inSize, padding);
  const table = connectionTable ?? [];
  const tableStart = [0];
  for (const inputs of table) tableStart.push(tableStart[tableStart.length - 1]! + inputs.length);
  const tableInputs = table.flat();
  return wgsl`
${batchAndIndexWgsl(kConv5x5WorkgroupSize)}
${activationWgsl(activation)}

const kInChannels = ${inChannels}u;
const kOutChannels = ${outChannels}u;
const kInSize = ${inSize}i;
const kOutSize = ${outSize}u;
const kPadding = ${padding}i;
const kOutPerImage = kOutChannels * kOutSize * kOutSize;

#if ${connectionTable !== undefined}
const kTableStart = array<u32, ${tableStart.length}>(${tableStart.map((v) => `${v}u`).join(', ')});
const kTableInputs = array<u32, ${tableInputs.length}>(${tableInputs.map((v) => `${v}u`).join(', ')});
#endif

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

fn windowSum(n: u32, c: u32, kernel: u32, y: i32, x: i32) -> f32 {
  var sum = 0.0;
  for (var ky = 0i; ky < 5i; ky++) {
    let iy = y + ky - kPadding;
    if (iy < 0i || iy >= kInSize) { continue; }
    for (var kx = 0i; kx < 5i; kx++) {
      let ix = x + kx - kPadding;
      if (ix < 0i || ix >= kInSize) { continue; }
      let at = ((n * kInChannels + c) * u32(kInSize) + u32(iy)) * u32(kInSize) + u32(ix);
      sum += weight[kernel * 25u + u32(ky * 5i + kx)] * input[at];
    }
  }
  return sum;
}

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = flatIndex(workgroup, workgroups, local);
  if (i >= batch.count * kOutPerImage) { return; }
  let n = i / kOutPerImage;
  let o = (i / (kOutSize * kOutSize)) % kOutChannels;
  let y = i32((i / kOutSize) % kOutSize);
  let x = i32(i % kOutSize);
  var sum = bias[o];
#if ${connectionTable !== undefined}
  for (var k = kTableStart[o]; k < kTableStart[o + 1u]; k++) {
    sum += windowSum(n, kTableInputs[k], k, y, x);
  }
#else
  for (var c = 0u; c < kInChannels; c++) {
    sum += windowSum(n, c, o * kInChannels + c, y, x);
  }
#endif
  output[i] = activate(sum);
}
`;
}
