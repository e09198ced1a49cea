/**
 * The whole network in one dispatch: input → conv+subsample → conv+subsample → dense… →
 * logits or RBF distances, every intermediate activation kept on chip. Built from a
 * `FusedLayout` (src/gpu/fused-layout.ts), which also fixes the packed weight layout.
 *
 * Two variants, chosen per adapter (src/gpu/fused-plan.ts, `fusedVariantFor`):
 * - `invocation` (CPU implementations such as SwiftShader): fused-lenet-lanes.ts, conv weights
 *   baked in. Packed shape (large batches): one invocation carries whole images in private
 *   memory, no barriers. Split shape (batches ≤ kSplitMaxBatch): one 4-lane workgroup per
 *   image, the lanes sharing each layer's outputs through workgroup memory.
 * - `workgroup` (GPUs), below: one workgroup of kFusedWorkgroupThreads carries one image, its
 *   activations as tiles in workgroup memory; thread t computes outputs t, t+T, t+2T, … of
 *   each layer, with a barrier between layers. Workgroup w (flattened 2-D grid) handles image w;
 *   workgroups past N return before the first barrier (a uniform branch).
 *
 * Bindings: 0 batch uniform {count}, 1 packed weights as f32, 2 the same buffer as vec4f (the
 * dense layers' [out/4][in][4] blocks), 3 input [N, inputSize, inputSize] (preprocessed),
 * 4 output [N, classes]. The `invocation` variant does not use binding 1.
 */
import { wgsl } from './wgsl.js';
import type { Activation } from '../src/model/spec.js';
import { paddedInputSide, paddedMapSide, type FusedConvStage, type FusedLayout, type FusedVectorStage } from '../src/gpu/fused-layout.js';
import { activationWgsl, batchAndIndexWgsl, dispatchSize } from './common.js';
import {
  fusedLenetLanes,
  kImagesPerInvocation,
  kLaneMinWorkgroups,
  kLaneWorkgroupSize,
  kPackedLanes,
  softmaxWgsl,
  type LaneShape,
} from './fused-lenet-lanes.js';

/** Which thread mapping the kernel uses: see the header. */
export type FusedVariant = 'invocation' | 'workgroup';

/** Threads per workgroup of the `workgroup` variant (one image per workgroup). */
export const kFusedWorkgroupThreads = 128;
/** Threads per workgroup for a variant: the dispatch uses the same number. */
export function fusedWorkgroupSize(variant: FusedVariant): number {
  return variant === 'invocation' ? kLaneWorkgroupSize : kFusedWorkgroupThreads;
}

/**
 * The workgroup grid for `count` images. `workgroup`, and `invocation` in its split shape: one
 * workgroup per image. `invocation`, packed shape: each invocation takes up to
 * kImagesPerInvocation images, but small batches are spread over up to kLaneMinWorkgroups
 * workgroups first (one image per invocation), so that a CPU implementation runs them on
 * several threads instead of one.
 *
 * @example
 * fusedWorkgroups('invocation', 1024); // [64, 1, 1]: 4 invocations × 4 images each
 * fusedWorkgroups('invocation', 3, kSplitLanes); // [3, 1, 1]
 */
export function fusedWorkgroups(variant: FusedVariant, count: number, shape: LaneShape = kPackedLanes): [number, number, number] {
  if (variant === 'workgroup') return dispatchSize(count, 1);
  if (shape.split) return dispatchSize(count * kLaneWorkgroupSize, kLaneWorkgroupSize);
  const packed = Math.ceil(count / (kLaneWorkgroupSize * kImagesPerInvocation));
  const spread = Math.min(Math.ceil(count / kLaneWorkgroupSize), kLaneMinWorkgroups);
  const groups = Math.max(packed, spread);
  return dispatchSize(groups * kLaneWorkgroupSize, kLaneWorkgroupSize);
}

export interface FusedLenetOptions {
  readonly layout: FusedLayout;
  readonly variant: FusedVariant;
  /** The packed weights (`packFusedWeights`): the `invocation` variant bakes the conv stages in. */
  readonly packed: Float32Array;
  /** `invocation` variant only: packed (default) or split shape, see fused-lenet-lanes.ts. */
  readonly shape?: LaneShape;
}

/**
 * WGSL for the whole-network kernel.
 *
 * @example
 * const code = fusedLenet({ layout: fusedLayout(seedModel), variant: 'workgroup', packed });
 */
export function fusedLenet({ layout, variant, packed, shape }: FusedLenetOptions): string {
  if (variant === 'invocation') return fusedLenetLanes(layout, packed, shape);
  const [s1, s2] = layout.convs;
  const space = 'workgroup';
  const padded = paddedInputSide(layout);
  const mapSide = paddedMapSide(layout);
  const mapPad = s2.padding;
  const vectors = layout.vectors;
  const last = vectors.length - 1;
  // With a softmax, the last layer's scores are kept too, and the softmax stores the output.
  const kept = layout.softmax ? vectors : vectors.slice(0, last);
  const firstStore =
    mapPad > 0 ? `act1[o * ${mapSide * mapSide}u + (r / ${s1.poolSize}u + ${mapPad}u) * ${mapSide}u + r % ${s1.poolSize}u + ${mapPad}u]` : 'act1[i]';
  return wgsl`
${batchAndIndexWgsl(fusedWorkgroupSize(variant))}
${activationFn('activateC1', s1.convActivation)}
${activationFn('activateS2', s1.poolActivation)}
${activationFn('activateC3', s2.convActivation)}
${activationFn('activateS4', s2.poolActivation)}
${vectors.map((v, i) => activationFn(`activateV${i}`, v.activation)).join('\n')}

const kInputSize = ${layout.inputSize}u;
const kPad = ${s1.padding}u;
const kPadded = ${padded}u;
const kClasses = ${layout.classes}u;

@group(0) @binding(1) var<storage, read> wf: array<f32>;
@group(0) @binding(2) var<storage, read> wv: array<vec4f>;
@group(0) @binding(3) var<storage, read> input: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

var<${space}> img: array<f32, ${padded * padded}>;
var<${space}> act1: array<f32, ${s1.outChannels * mapSide * mapSide}>;
var<${space}> act2: array<f32, ${s2.outChannels * s2.poolSize * s2.poolSize}>;
${kept.map((v, i) => `var<${space}> vec${i}: array<f32, ${v.paddedOut}>;`).join('\n')}

${tableWgsl('1', s1)}
${tableWgsl('3', s2)}
${convPoolWgsl('convPool1', 'img', padded, '1', s1, 'activateC1', 'activateS2')}
${convPoolWgsl('convPool2', 'act1', mapSide, '3', s2, 'activateC3', 'activateS4')}
${vectors.map((v, i) => vectorWgsl(i, v, i === 0 ? 'act2' : `vec${i - 1}`)).join('\n')}${layout.softmax ? softmaxWgsl(`vec${last}`, layout.softmax.log) : ''}

/** Copies image n into img with kPad zeros around it; thread 'first' of 'stride' threads. */
fn loadImage(n: u32, first: u32, stride: u32) {
  let base = n * kInputSize * kInputSize;
  for (var i = first; i < kPadded * kPadded; i += stride) {
    let y = i / kPadded;
    let x = i % kPadded;
    let inside = y >= kPad && x >= kPad && y < kPad + kInputSize && x < kPad + kInputSize;
    let at = select(0u, base + (y - kPad) * kInputSize + x - kPad, inside);
    img[i] = select(0.0, input[at], inside);
  }
}

/** Output stage q (4 classes) of image n, written where the class exists. */
fn storeClasses(n: u32, q: u32, v: vec4f) {
  for (var k = 0u; k < 4u; k++) {
    if (4u * q + k < kClasses) { output[n * kClasses + 4u * q + k] = v[k]; }
  }
}

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let n = workgroup.y * workgroups.x + workgroup.x;
  if (n >= batch.count) { return; }
  loadImage(n, local, kWorkgroupSize);
  workgroupBarrier();
  for (var i = local; i < ${s1.outChannels * s1.poolSize * s1.poolSize}u; i += kWorkgroupSize) {
    let o = i / ${s1.poolSize * s1.poolSize}u;
    let r = i % ${s1.poolSize * s1.poolSize}u;
    ${firstStore} = convPool1(o, r / ${s1.poolSize}u, r % ${s1.poolSize}u);
  }
  workgroupBarrier();
  for (var i = local; i < ${s2.outChannels * s2.poolSize * s2.poolSize}u; i += kWorkgroupSize) {
    let o = i / ${s2.poolSize * s2.poolSize}u;
    let r = i % ${s2.poolSize * s2.poolSize}u;
    act2[i] = convPool2(o, r / ${s2.poolSize}u, r % ${s2.poolSize}u);
  }
  workgroupBarrier();
${vectors
  .map((v, k) =>
    k === last && !layout.softmax
      ? `  for (var q = local; q < ${v.paddedOut / 4}u; q += kWorkgroupSize) {
    storeClasses(n, q, vector${k}(q));
  }`
      : `  for (var q = local; q < ${v.paddedOut / 4}u; q += kWorkgroupSize) {
    let v = vector${k}(q);
    vec${k}[4u * q] = v.x; vec${k}[4u * q + 1u] = v.y; vec${k}[4u * q + 2u] = v.z; vec${k}[4u * q + 3u] = v.w;
  }
  workgroupBarrier();`,
  )
  .join('\n')}${layout.softmax ? '\n  storeSoftmax(0u, n, local, kWorkgroupSize);' : ''}
}
`;
}

/** `activationWgsl` under another name: each layer's activation is its own function. */
function activationFn(name: string, activation: Activation): string {
  return activationWgsl(activation).replace('fn activate(', `fn ${name}(`);
}

/**
 * The conv's connection table as private constants: map o reads kernels
 * kStart{id}[o] … kStart{id}[o+1]−1, kernel k reading input map kInput{id}[k].
 */
function tableWgsl(id: string, stage: FusedConvStage): string {
  const starts = [0];
  for (const inputs of stage.table) starts.push(starts[starts.length - 1]! + inputs.length);
  const inputs = stage.table.flat();
  return `var<private> kStart${id}: array<u32, ${starts.length}> = array<u32, ${starts.length}>(${starts.map((s) => `${s}u`).join(', ')});
var<private> kInput${id}: array<u32, ${inputs.length}> = array<u32, ${inputs.length}>(${inputs.map((c) => `${c}u`).join(', ')});`;
}

/**
 * fn name(o, y, x) -> f32: pooled output (o, y, x) of conv + activation + 2×2 subsampling
 * (× coefficient + bias, activation). The 2×2 window's four conv outputs are accumulated
 * together from one 6×6 input patch, so each loaded input feeds up to four multiply-adds.
 */
function convPoolWgsl(
  name: string,
  source: string,
  side: number,
  id: string,
  stage: FusedConvStage,
  convActivation: string,
  poolActivation: string,
): string {
  const patch: string[] = [];
  for (let r = 0; r < 6; r++) {
    for (let c = 0; c < 6; c++) patch.push(`    let p${r}${c} = ${source}[base + ${r * side + c}u];`);
  }
  const weights: string[] = [];
  for (let k = 0; k < 25; k++) weights.push(`    let w${k} = wf[wBase + ${k}u];`);
  const sums = ['s00', 's01', 's10', 's11'].map((s, i) => {
    const dy = i >> 1;
    const dx = i & 1;
    const terms: string[] = [];
    for (let ky = 0; ky < 5; ky++) {
      const row: string[] = [];
      for (let kx = 0; kx < 5; kx++) row.push(`w${ky * 5 + kx} * p${ky + dy}${kx + dx}`);
      terms.push(`    ${s} += ${row.join(' + ')};`);
    }
    return terms.join('\n');
  });
  return `
fn ${name}(o: u32, y: u32, x: u32) -> f32 {
  let b = wf[${stage.biasOffset}u + o];
  var s00 = b;
  var s01 = b;
  var s10 = b;
  var s11 = b;
  for (var k = kStart${id}[o]; k < kStart${id}[o + 1u]; k++) {
    let wBase = ${stage.weightOffset}u + k * 25u;
    let base = kInput${id}[k] * ${side * side}u + 2u * y * ${side}u + 2u * x;
${weights.join('\n')}
${patch.join('\n')}
${sums.join('\n')}
  }
${
  stage.poolMode === 'max'
    ? `  let window = max(max(${convActivation}(s00), ${convActivation}(s01)), max(${convActivation}(s10), ${convActivation}(s11)));
  return ${poolActivation}(window);`
    : `  let window = ${convActivation}(s00) + ${convActivation}(s01) + ${convActivation}(s10) + ${convActivation}(s11);
  return ${poolActivation}(wf[${stage.coefficientOffset}u + o] * window + wf[${stage.poolBiasOffset}u + o]);`
}
}`;
}

/**
 * fn vector{i}(q) -> vec4f: outputs 4q … 4q+3 of a dense layer (bias + Σ w·x, activation) or
 * of the RBF (Σ (x − c)²), reading `source` and the [out/4][in][4] weight block.
 */
function vectorWgsl(i: number, stage: FusedVectorStage, source: string): string {
  const n = stage.inFeatures;
  const rbf = stage.kind === 'rbf';
  const unroll = n % 4 === 0 ? 4 : 1;
  const steps: string[] = [];
  for (let u = 0; u < unroll; u++) {
    steps.push(
      rbf
        ? `    let d${u} = vec4f(${source}[j + ${u}u]) - wv[w + j + ${u}u];\n    acc${u} += d${u} * d${u};`
        : `    acc${u} += wv[w + j + ${u}u] * ${source}[j + ${u}u];`,
    );
  }
  const init = rbf ? 'vec4f(0.0)' : `wv[${stage.biasOffset / 4}u + q]`;
  const accs = Array.from({ length: unroll }, (_, u) => `  var acc${u} = ${u === 0 ? init : 'vec4f(0.0)'};`);
  const sum = Array.from({ length: unroll }, (_, u) => `acc${u}`).join(' + ');
  return `
fn vector${i}(q: u32) -> vec4f {
${accs.join('\n')}
  let w = ${stage.weightOffset / 4}u + q * ${n}u;
  for (var j = 0u; j < ${n}u; j += ${unroll}u) {
${steps.join('\n')}
  }
  let a = ${sum};
  return vec4f(activateV${i}(a.x), activateV${i}(a.y), activateV${i}(a.z), activateV${i}(a.w));
}`;
}
