/**
 * The whole network in one dispatch, for GPUs: input → conv+pool → conv+pool → dense… →
 * scores (or RBF distances, or the softmax of the scores), every intermediate kept on chip.
 *
 * Mapping: one workgroup of kFusedWorkgroupThreads = T threads carries one image, its
 * activations as tiles in workgroup memory (the padded input, both pooled stages, the dense
 * layers' outputs: `fusedWorkgroupBytes`); thread t computes outputs t, t+T, t+2T, … of each
 * stage, with a barrier between stages. Workgroup w (flattened 2-D grid) handles image w;
 * workgroups past N return before the first barrier (a uniform branch). The conv and pool
 * weights are read from the f32 view of the packed buffer, the dense layers' [out/4][in][4]
 * blocks from its vec4 view (layout.ts).
 */
import { wgsl } from '../wgsl.js';
import { batchAndIndexWgsl, dispatchSize } from '../common.js';
import { kFusedBinding, paddedInputSide, paddedMapSide, type FusedConvStage, type FusedKernel, type FusedLayout, type FusedScaleShift, type FusedVectorStage } from './layout.js';
import { activationsWgsl, constantsWgsl, finishWgsl, keptVectors, softmaxWgsl } from './shared.js';

/** Threads per workgroup (one image per workgroup). */
export const kFusedWorkgroupThreads = 128;

/**
 * The workgroup kernel for a model's layout: its WGSL and its grid (one workgroup per image).
 *
 * @example
 * const kernel = workgroupKernel(fusedLayout(seedModel));
 * kernel.workgroups(1024); // [1024, 1, 1]
 */
export function workgroupKernel(layout: FusedLayout): FusedKernel {
  return {
    kernel: 'fused-workgroup',
    options: { layout },
    code: workgroupWgsl(layout),
    bindings: [kFusedBinding.batch, kFusedBinding.weights, kFusedBinding.weightBlocks, kFusedBinding.input, kFusedBinding.output],
    workgroups: (count) => dispatchSize(count, 1),
  };
}

function workgroupWgsl(layout: FusedLayout): string {
  const [s1, s2] = layout.convs;
  const space = 'workgroup';
  const padded = paddedInputSide(layout);
  const mapSide = paddedMapSide(layout);
  const mapPad = s2.padding;
  const vectors = layout.vectors;
  const last = vectors.length - 1;
  // With a softmax, the last layer's scores are kept too, and the softmax stores the output.
  const kept = keptVectors(layout);
  const firstStore =
    mapPad > 0 ? `act1[o * ${mapSide * mapSide}u + (r / ${s1.poolSize}u + ${mapPad}u) * ${mapSide}u + r % ${s1.poolSize}u + ${mapPad}u]` : 'act1[i]';
  return wgsl`
${batchAndIndexWgsl(kFusedWorkgroupThreads)}
${activationsWgsl(layout)}

${constantsWgsl(layout)}

@group(0) @binding(${kFusedBinding.weights}) var<storage, read> wf: array<f32>;
@group(0) @binding(${kFusedBinding.weightBlocks}) var<storage, read> wv: array<vec4f>;
@group(0) @binding(${kFusedBinding.input}) var<storage, read> input: array<f32>;
@group(0) @binding(${kFusedBinding.output}) var<storage, read_write> output: array<f32>;

var<${space}> img: array<f32, ${layout.inputChannels * padded * padded}>;
var<${space}> act1: array<f32, ${s1.outChannels * mapSide * mapSide}>;
var<${space}> act2: array<f32, ${s2.outChannels * s2.poolSize * s2.poolSize}>;
${kept.map((v, i) => `var<${space}> vec${i}: array<f32, ${v.paddedOut}>;`).join('\n')}

${tableWgsl('1', s1)}
${tableWgsl('3', s2)}
${convPoolWgsl('convPool1', 'img', padded, '1', s1, 'C1', 'S2')}
${convPoolWgsl('convPool2', 'act1', mapSide, '3', s2, 'C3', 'S4')}
${vectors.map((v, i) => vectorWgsl(i, v, i === 0 ? 'act2' : `vec${i - 1}`)).join('\n')}${layout.softmax ? softmaxWgsl(`vec${last}`, layout.softmax.log) : ''}

/** Copies image n's kInputChannels maps into img, each with kPad zeros around it; thread 'first' of 'stride' threads. */
fn loadImage(n: u32, first: u32, stride: u32) {
  let base = n * kInputChannels * kInputSize * kInputSize;
  for (var i = first; i < kInputChannels * kPadded * kPadded; i += stride) {
    let c = i / (kPadded * kPadded);
    let y = (i / kPadded) % kPadded;
    let x = i % kPadded;
    let inside = y >= kPad && x >= kPad && y < kPad + kInputSize && x < kPad + kInputSize;
    let at = select(0u, base + (c * kInputSize + y - kPad) * kInputSize + x - kPad, inside);
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
  convPoint: string,
  poolPoint: string,
): string {
  // The scale-shift steps' values of map o, from the f32 view of the packed buffer.
  const channel = (step: FusedScaleShift) => [`wf[${step.scaleOffset}u + o]`, `wf[${step.shiftOffset}u + o]`] as const;
  const conv = (s: string) => finishWgsl(convPoint, s, stage.afterConv, channel);
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
    ? `  let window = max(max(${conv('s00')}, ${conv('s01')}), max(${conv('s10')}, ${conv('s11')}));
  return ${finishWgsl(poolPoint, 'window', stage.afterPool, channel)};`
    : `  let window = ${conv('s00')} + ${conv('s01')} + ${conv('s10')} + ${conv('s11')};
  return ${finishWgsl(poolPoint, `wf[${stage.coefficientOffset}u + o] * window + wf[${stage.poolBiasOffset}u + o]`, stage.afterPool, channel)};`
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
  return vec4f(${['x', 'y', 'z', 'w']
    .map((c) => finishWgsl(`V${i}`, `a.${c}`, stage.after, (step) => [`wv[${step.scaleOffset / 4}u + q].${c}`, `wv[${step.shiftOffset / 4}u + q].${c}`]))
    .join(', ')});
}`;
}
