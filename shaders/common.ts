/**
 * WGSL shared by every kernel: the batch-size uniform, the flat invocation index, and the
 * activation functions (one snippet, so the fused variants and the standalone kernel cannot
 * drift apart).
 *
 * Every kernel here is "one invocation per output element": the flat index
 *   i = (workgroup_id.y · num_workgroups.x + workgroup_id.x) · kWorkgroupSize + local_invocation_index
 * names one element of the [N, …] output, and invocations with i ≥ N · (elements per image)
 * return at once. The 2-D grid exists only because one dispatch dimension is capped at 65,535
 * workgroups; `dispatchSize` below is the only place that splits it.
 */
import { wgsl } from './wgsl.js';
import { kScaledTanhA, kScaledTanhS, type Activation } from '../src/model/spec.js';

/** Default threads per workgroup for the one-invocation-per-output kernels. */
export const kWorkgroupSize = 64;

/** WebGPU's guaranteed maximum workgroup count per dispatch dimension. */
export const kMaxWorkgroupsPerDimension = 65535;

/** Bytes of the uniform that holds the batch size N (one u32, padded to 16). */
export const kBatchUniformBytes = 16;

/**
 * Workgroup counts for `invocations` threads of `workgroupSize`: a 1-D grid while it fits in
 * one dimension, else a 2-D grid whose surplus threads fail the kernel's bounds guard.
 *
 * @example
 * dispatchSize(100_000, 64); // [1563, 1, 1]
 */
export function dispatchSize(invocations: number, workgroupSize: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(invocations / workgroupSize));
  if (groups <= kMaxWorkgroupsPerDimension) return [groups, 1, 1];
  return [kMaxWorkgroupsPerDimension, Math.ceil(groups / kMaxWorkgroupsPerDimension), 1];
}

/**
 * `struct Batch` (binding 0 in every kernel), `const kWorkgroupSize` and `fn flatIndex`.
 * Each kernel passes its own exported workgroup-size constant, the one its dispatch uses.
 */
export function batchAndIndexWgsl(workgroupSize: number): string {
  return wgsl`
struct Batch {
  count: u32,
}

@group(0) @binding(0) var<uniform> batch: Batch;

const kWorkgroupSize = ${workgroupSize}u;

fn flatIndex(workgroup: vec3u, workgroups: vec3u, local: u32) -> u32 {
  return (workgroup.y * workgroups.x + workgroup.x) * kWorkgroupSize + local;
}
`;
}

/**
 * `fn activate(a: f32) -> f32` for one activation. Both tanhs are written out with exp of a
 * non-positive argument (WGSL's own `tanh` may compute inf/inf), so it cannot overflow to inf/inf for large |a| on any implementation,
 * and takes its sign with `select`: with `sign(a) *` the classic model's fused kernel ran
 * 1.36× slower on SwiftShader (docs/performance.md).
 */
export function activationWgsl(activation: Activation): string {
  return wgsl`
fn activate(a: f32) -> f32 {
#if ${activation === 'none'}
  return a;
#elif ${activation === 'sigmoid'}
  return 1.0 / (1.0 + exp(-a));
#elif ${activation === 'relu'}
  return max(a, 0.0);
#elif ${activation === 'tanh'}
  let e = exp(-2.0 * abs(a));
  let magnitude = (1.0 - e) / (1.0 + e);
  return select(-magnitude, magnitude, a >= 0.0);
#elif ${activation === 'scaled-tanh'}
  let e = exp(-2.0 * abs(${wgslFloat(kScaledTanhS)} * a));
  let magnitude = ${wgslFloat(kScaledTanhA)} * (1.0 - e) / (1.0 + e);
  return select(-magnitude, magnitude, a >= 0.0);
#endif
}
`;
}

/** A JS number as a WGSL float literal (`1` would be an integer in WGSL). */
export function wgslFloat(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`WGSL has no literal for ${x}`);
  return Number.isInteger(x) ? `${x}.0` : String(x);
}
