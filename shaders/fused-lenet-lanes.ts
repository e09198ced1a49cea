/**
 * The `invocation` variant of the whole-network kernel, for CPU implementations of WebGPU
 * (SwiftShader). A CPU runs 4 invocations as the 4 SIMD lanes of one instruction stream, which
 * sets the rules this kernel is written to:
 *
 * - No barriers: invocation i carries whole images, its activations in `private` arrays (laid
 *   out lane-interleaved by the implementation: a constant index is one vector load, but a
 *   loop-indexed one is a lane-by-lane gather, 7× or more the cost (`npm run probe:loads`),
 *   so each loaded value is made to feed as many multiply-adds as possible, and values a
 *   loop step shares with the next are kept in vars rather than loaded again).
 * - Straight-line `let` chains, not `var` accumulators (a `var` is a masked store to memory).
 * - The conv weights, coefficients and biases are baked into the code as literals: a literal
 *   costs nothing, while every storage-buffer load is a gather too. The loops run over
 *   positions; each body is every map's kernels at one pooled position (first conv) or at
 *   the two conv positions of a pooling window's row (second conv).
 * - The dense layers read [out/4][in][4] weight blocks from the buffer as vec4 loads, and each
 *   load feeds kImagesPerInvocation images, so one checked load serves 4 × K multiply-adds.
 *   With subgroups (packed shape, `shape.subgroups`), the 4 lanes load the blocks of 4
 *   consecutive inputs, one each, and `subgroupBroadcast` hands every lane all four: a
 *   quarter of the weight loads (the lanes all need the same weights; SwiftShader cannot tell
 *   that from a loop-indexed address and gathers lane by lane). About 10% of the kernel's
 *   time at batch 1024 (docs/performance.md).
 *
 * Packed shape (large batches), mapping: T = invocations dispatched (workgroups ×
 * kLaneWorkgroupSize). Invocation i handles images i, i+T, …, i+(K−1)T; it computes at least
 * one (image N−1 stands in for missing ones, so all lanes follow one path and loads stay
 * vector loads) and stores only real ones. Both conv stages slide down each column of pooled
 * positions, carrying the rows the next step shares (stage1Wgsl, stage2Sliding): a third of
 * the first stage's loads and a sixth of the second's. Workgroup memory: none.
 *
 * Split shape (batches ≤ kSplitMaxBatch, where the packed shape leaves lanes and cores idle:
 * its 4 lanes would all compute the one image), mapping: workgroup n carries image n, and the
 * kLaneWorkgroupSize = L lanes deal each stage's outputs round-robin: lane l loads image rows
 * l, l+L, …; computes the first stage's pooled positions l, l+L, … (all maps), the second
 * stage's likewise, and the dense layers' output blocks (G×4 outputs) l, l+L, …; the last
 * layer's lanes store their classes. Workgroup memory: the padded image, both stages'
 * activations and the dense layers' outputs for one image (≈ 11 KB), a barrier between
 * stages. Measured on SwiftShader (2 cores), kernel time at batch 1: 0.85 ms vs the packed
 * shape's 1.93 ms.
 */
import { paddedInputSide, paddedMapSide, type FusedConvStage, type FusedLayout, type FusedVectorStage } from '../src/gpu/fused-layout.js';
import { activationWgsl, batchAndIndexWgsl, wgslFloat } from './common.js';
import type { Activation } from '../src/model/spec.js';

/** Threads per workgroup of the lane variant: one SIMD group of a 4-wide CPU implementation. */
export const kLaneWorkgroupSize = 4;
/** Small batches are spread over at least this many workgroups (CPU threads) when they can be. */
export const kLaneMinWorkgroups = 4;
/** Images each invocation carries (the dense layers reuse each weight load across them). */
export const kImagesPerInvocation = 4;

/**
 * The two shapes of the lane kernel. `packed` (large batches): invocation i carries up to
 * `images` whole images in private memory. `split` (small batches): workgroup n carries
 * image n in workgroup memory, its lanes sharing each stage's outputs.
 */
export interface LaneShape {
  readonly split: boolean;
  /** Images per invocation of the packed shape (ignored when split). */
  readonly images: number;
  /**
   * Packed shape only: share the dense layers' weight loads across the lanes with
   * `subgroupBroadcast`. Needs the device feature 'subgroups' and subgroups of at least
   * kLaneWorkgroupSize invocations, so that a workgroup is one subgroup (src/gpu/fused-plan.ts,
   * `lanesShareSubgroup`, decides).
   */
  readonly subgroups: boolean;
}
/** The packed shape the plan uses for large batches (subgroups where the device allows). */
export const kPackedLanes: LaneShape = { split: false, images: kImagesPerInvocation, subgroups: false };
/** The split shape the plan uses for small batches. */
export const kSplitLanes: LaneShape = { split: true, images: 1, subgroups: false };
/** Largest batch the plan runs with the split shape (measured crossover on SwiftShader, 2 cores). */
export const kSplitMaxBatch = 4;
/** Largest batch whose split kernel finishes within ~1 ms (one workgroup per core). */
export const kQuickLaneBatch = 2;

/**
 * WGSL for the lane variant, with `packed` (the buffer `packFusedWeights` fills) baked in
 * for the conv stages. Bindings as in fused-lenet.ts (binding 1, the f32 view, is unused).
 */
export function fusedLenetLanes(layout: FusedLayout, packed: Float32Array, shape: LaneShape = kPackedLanes): string {
  const [s1, s2] = layout.convs;
  const padded = paddedInputSide(layout);
  const mapSide = paddedMapSide(layout);
  const K = shape.split ? 1 : shape.images;
  const split = shape.split;
  const space = split ? 'workgroup' : 'private';
  const subgroups = shape.subgroups && !split;
  const vectors = layout.vectors;
  const last = vectors.length - 1;
  // With a softmax, the last layer's scores are kept too, and the softmax stores the output.
  const kept = layout.softmax ? vectors : vectors.slice(0, last);
  const features = s2.outChannels * s2.poolSize * s2.poolSize;
  return `${subgroups ? 'enable subgroups;\n' : ''}
${batchAndIndexWgsl(kLaneWorkgroupSize)}
${activationFn('activateC1', s1.convActivation)}
${activationFn('activateS2', s1.poolActivation)}
${activationFn('activateC3', s2.convActivation)}
${activationFn('activateS4', s2.poolActivation)}
${vectors.map((v, i) => activationFn(`activateV${i}`, v.activation)).join('\n')}

const kK = ${K}u;
const kInputSize = ${layout.inputSize}u;
const kPad = ${s1.padding}u;
const kPadded = ${padded}u;
const kClasses = ${layout.classes}u;

@group(0) @binding(2) var<storage, read> wv: array<vec4f>;
@group(0) @binding(3) var<storage, read> input: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

// One image at a time through the conv stages; the dense stages take all K at once.
var<${space}> img: array<f32, ${padded * padded}>;
var<${space}> act1: array<f32, ${s1.outChannels * mapSide * mapSide}>;
var<${space}> act2: array<f32, ${K * features}>;
${kept.map((v, i) => `var<${space}> vec${i}: array<f32, ${K * v.paddedOut}>;`).join('\n')}

/** Image n into img's interior (rows lane, lane+L, … when split); the zero border (private and workgroup memory start zeroed) is the padding. */
fn loadImage(n: u32, lane: u32) {
  let base = n * kInputSize * kInputSize;
  for (var y = ${split ? 'lane' : '0u'}; y < kInputSize; y += ${split ? 'kWorkgroupSize' : '1u'}) {
    for (var x = 0u; x < kInputSize; x++) {
      img[(y + kPad) * kPadded + x + kPad] = input[base + y * kInputSize + x];
    }
  }
}
${stage1Wgsl(s1, padded, mapSide, s2.padding, packed, split)}
${stage2Wgsl(s2, mapSide, features, packed, split)}
${vectors.map((v, i) => vectorWgsl(i, v, i === 0 ? 'act2' : `vec${i - 1}`, i === 0 ? features : vectors[i - 1]!.paddedOut, i === last && !layout.softmax, K, split, subgroups)).join('\n')}${layout.softmax ? softmaxWgsl(`vec${last}`, layout.softmax.log) : ''}
${split ? splitMainWgsl(vectors.length, layout.softmax !== undefined) : packedMainWgsl(vectors.length, subgroups, layout.softmax ? vectors[last]!.paddedOut : 0)}
`;
}

/**
 * The packed shape's entry point: K images per invocation, no barriers (`sublane`: see
 * vectorWgsl). `softmaxStride` > 0: the last layer's scores sit in its vec array, that many
 * per image, and storeSoftmax writes the images that exist.
 */
function packedMainWgsl(vectors: number, subgroups: boolean, softmaxStride: number): string {
  return `
@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,${subgroups ? '\n  @builtin(subgroup_invocation_id) sublane: u32,' : ''}
) {
  let i = flatIndex(workgroup, workgroups, local);
  let stride = workgroups.x * workgroups.y * kWorkgroupSize;
  let count = batch.count;
  // Images this invocation computes: at least 1, so idle lanes follow the busy ones.
  let images = clamp((count - min(i, count) + stride - 1u) / stride, 1u, kK);
  for (var k = 0u; k < images; k++) {
    loadImage(min(i + k * stride, count - 1u), 0u);
    stage1(0u);
    stage2(k, 0u);
  }
${Array.from({ length: vectors }, (_, v) => `  vector${v}(i, stride, count, ${subgroups ? 'sublane' : '0u'});`).join('\n')}${
    softmaxStride
      ? `
  for (var k = 0u; k < kK; k++) {
    if (i + k * stride < count) { storeSoftmax(k * ${softmaxStride}u, i + k * stride, 0u, 1u); }
  }`
      : ''
  }
}`;
}

/**
 * The split shape's entry point: workgroup n carries image n; each stage's outputs are dealt
 * to the lanes round-robin, and a barrier separates the stages (the workgroup is one SIMD
 * group, so a barrier costs little). n is workgroup-uniform, so the early return keeps the
 * barriers in uniform control flow.
 */
function splitMainWgsl(vectors: number, softmax: boolean): string {
  return `
@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let n = workgroup.y * workgroups.x + workgroup.x;
  let count = batch.count;
  if (n >= count) { return; }
  loadImage(n, lane);
  workgroupBarrier();
  stage1(lane);
  workgroupBarrier();
  stage2(0u, lane);
  workgroupBarrier();
${Array.from({ length: vectors }, (_, v) => `  vector${v}(n, 0u, count, lane);${v < vectors - 1 || softmax ? '\n  workgroupBarrier();' : ''}`).join('\n')}${
    softmax ? '\n  storeSoftmax(0u, n, lane, kWorkgroupSize);' : ''
  }
}`;
}

/** `activationWgsl` under another name: each layer's activation is its own function. */
function activationFn(name: string, activation: Activation): string {
  return activationWgsl(activation).replace('fn activate(', `fn ${name}(`);
}

/** `let out = fma(x0, w0, fma(x1, w1, … bias))` as a chain of lets; returns the last name. */
function chain(lines: string[], name: string, start: string, terms: Array<[string, number]>, indent = ''): string {
  let prev = start;
  terms.forEach(([x, w], t) => {
    const next = `${name}_${t}`;
    lines.push(`${indent}    let ${next} = fma(${x}, ${wgslFloat(w)}, ${prev});`);
    prev = next;
  });
  return prev;
}

/**
 * stage1(): every pooled output of the first conv + subsampling, from img into act1. Each
 * loop body is one pooled position: the 6×6 input patch under its 2×2 window, then for each
 * map the four conv sums, their activations and the subsampling. Packed shape: the loops
 * slide down each column of pooled positions, keeping the patch's lower 4 rows in vars for
 * the next position, so a step loads 12 values instead of 36. Split shape: lane l takes
 * pooled positions l, l+L, … and loads whole patches.
 */
function stage1Wgsl(stage: FusedConvStage, side: number, mapSide: number, mapPad: number, packed: Float32Array, split: boolean): string {
  const pool = stage.poolSize;
  const lines: string[] = [];
  // act1 keeps the second conv's zero padding around each map: position `to` of map 0.
  if (mapPad > 0) {
    lines.push(split ? `    let to = (at / ${pool}u + ${mapPad}u) * ${mapSide}u + at % ${pool}u + ${mapPad}u;` : `    let to = (py + ${mapPad}u) * ${mapSide}u + px + ${mapPad}u;`);
  }
  for (let r = 0; r < 6; r++) {
    for (let c = 0; c < 6; c++) lines.push(`    let p${r}_${c} = ${!split && r < 4 ? `r${r}_${c}` : `img[base + ${r * side + c}u]`};`);
  }
  stage.table.forEach((inputs, o) => {
    if (inputs.length !== 1 || inputs[0] !== 0) throw new RangeError('stage 1 reads one input map');
    const bias = wgslFloat(packed[stage.biasOffset + o]!);
    const window: string[] = [];
    for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
      const terms: Array<[string, number]> = [];
      for (let ky = 0; ky < 5; ky++) {
        for (let kx = 0; kx < 5; kx++) terms.push([`p${ky + dy}_${kx + dx}`, packed[stage.weightOffset + o * 25 + ky * 5 + kx]!]);
      }
      window.push(`activateC1(${chain(lines, `m${o}_${dy}${dx}`, bias, terms)})`);
    }
    lines.push(`    act1[${o * mapSide * mapSide}u + ${mapPad > 0 ? 'to' : 'at'}] = activateS2(${pooled(stage, packed, o, window)});`);
  });
  if (split) {
    return `
fn stage1(lane: u32) {
  for (var at = lane; at < ${pool * pool}u; at += kWorkgroupSize) {
    let base = 2u * (at / ${pool}u) * ${side}u + 2u * (at % ${pool}u);
${lines.join('\n')}
  }
}`;
  }
  const rows = [0, 1, 2, 3].flatMap((r) => [0, 1, 2, 3, 4, 5].map((c) => [r, c] as const));
  return `
fn stage1(lane: u32) {
  for (var px = 0u; px < ${pool}u; px++) {
${rows.map(([r, c]) => `    var r${r}_${c} = img[2u * px + ${r * side + c}u];`).join('\n')}
    for (var py = 0u; py < ${pool}u; py++) {
    let base = 2u * py * ${side}u + 2u * px;
    let at = py * ${pool}u + px;
${lines.join('\n')}
${rows.map(([r, c]) => `    r${r}_${c} = p${r + 2}_${c};`).join('\n')}
    }
  }
}`;
}

/**
 * stage2(k): the second conv + subsampling, from act1 into image slot k of act2: every map's
 * sum over its table at each conv position, activated and added to its pooling window's sum.
 * Packed shape: `stage2Sliding`. Split shape: lane l takes pooled positions l, l+L, …, one
 * loop iteration per conv position of the window, loading the inputs' 5×5 patches.
 */
function stage2Wgsl(stage: FusedConvStage, side: number, features: number, packed: Float32Array, split: boolean): string {
  if (!split) return stage2Sliding(stage, side, features, packed);
  const pool = stage.poolSize;
  const maps = stage.outChannels;
  const lines: string[] = [];
  for (const c of usedInputs(stage)) {
    for (let ky = 0; ky < 5; ky++) {
      for (let kx = 0; kx < 5; kx++) lines.push(`    let p${c}_${ky}_${kx} = act1[base + ${c * side * side + ky * side + kx}u];`);
    }
  }
  mapSums(stage, packed, 0, lines);
  const declare = Array.from({ length: maps }, (_, o) => `      var window${o} = ${windowStart(stage)};`).join('\n');
  return `
fn stage2(k: u32, lane: u32) {
  for (var at = lane; at < ${pool * pool}u; at += kWorkgroupSize) {
${declare}
    for (var w = 0u; w < 4u; w++) {
    let base = (2u * (at / ${pool}u) + w / 2u) * ${side}u + 2u * (at % ${pool}u) + w % 2u;
${lines.join('\n')}
    }
${poolStores(stage, packed, features, 'at', '      ')}
  }
}`;
}

/**
 * The packed shape's stage2: the window slides down each column of pooled positions, one conv
 * row per step. A step's body is both conv positions of the pooling window in that row, over
 * the inputs' 5×6 patches; the patches' upper 4 rows are vars kept from the step before, so a
 * step loads one row (6 values per input) instead of 30. Every second row completes the
 * windows, which are stored and reset.
 */
function stage2Sliding(stage: FusedConvStage, side: number, features: number, packed: Float32Array): string {
  const pool = stage.poolSize;
  const maps = stage.outChannels;
  const inputs = usedInputs(stage);
  const kept = inputs.flatMap((c) => [0, 1, 2, 3].flatMap((r) => [0, 1, 2, 3, 4, 5].map((x) => [c, r, x] as const)));
  const at = (c: number, row: string, x: number) => `act1[${c * side * side}u + ${row} * ${side}u + 2u * px + ${x}u]`;
  const lines: string[] = [];
  for (const c of inputs) {
    for (let x = 0; x < 6; x++) {
      for (let r = 0; r < 4; r++) lines.push(`      let p${c}_${r}_${x} = r${c}_${r}_${x};`);
      lines.push(`      let p${c}_4_${x} = ${at(c, '(y + 4u)', x)};`);
    }
  }
  mapSums(stage, packed, 0, lines, '  ');
  mapSums(stage, packed, 1, lines, '  ');
  return `
fn stage2(k: u32, lane: u32) {
  for (var px = 0u; px < ${pool}u; px++) {
${kept.map(([c, r, x]) => `    var r${c}_${r}_${x} = ${at(c, `${r}u`, x)};`).join('\n')}
${Array.from({ length: maps }, (_, o) => `    var window${o} = ${windowStart(stage)};`).join('\n')}
    for (var y = 0u; y < ${2 * pool}u; y++) {
${lines.join('\n')}
${kept.map(([c, r, x]) => `      r${c}_${r}_${x} = p${c}_${r + 1}_${x};`).join('\n')}
      if (y % 2u == 1u) {
${poolStores(stage, packed, features, `(y / 2u) * ${pool}u + px`, '        ')}
${Array.from({ length: maps }, (_, o) => `        window${o} = ${windowStart(stage)};`).join('\n')}
      }
    }
  }
}`;
}

/** The input maps stage 2's table reads, ascending. */
function usedInputs(stage: FusedConvStage): number[] {
  return [...new Set(stage.table.flat())].sort((a, b) => a - b);
}

/**
 * For each map: its conv sum over its table's inputs at horizontal offset dx (inputs named
 * p{c}_{ky}_{kx + dx}), activated and added to window{o}.
 */
function mapSums(stage: FusedConvStage, packed: Float32Array, dx: number, lines: string[], indent = ''): void {
  let kernel = 0;
  stage.table.forEach((inputs, o) => {
    const terms: Array<[string, number]> = [];
    for (const c of inputs) {
      for (let t = 0; t < 25; t++) {
        terms.push([`p${c}_${Math.floor(t / 5)}_${(t % 5) + dx}`, packed[stage.weightOffset + kernel * 25 + t]!]);
      }
      kernel++;
    }
    const sum = chain(lines, `m${o}_${dx}`, wgslFloat(packed[stage.biasOffset + o]!), terms, indent);
    lines.push(
      stage.poolMode === 'max'
        ? `${indent}    window${o} = max(window${o}, activateC3(${sum}));`
        : `${indent}    window${o} += activateC3(${sum});`,
    );
  });
}

/** Every map's window, subsampled and activated, into act2 at pooled position `at`. */
function poolStores(stage: FusedConvStage, packed: Float32Array, features: number, at: string, indent: string): string {
  const pool = stage.poolSize;
  return Array.from(
    { length: stage.outChannels },
    (_, o) => `${indent}act2[k * ${features}u + ${o * pool * pool}u + ${at}] = activateS4(${pooled(stage, packed, o, [`window${o}`])});`,
  ).join('\n');
}

/**
 * What a pooling window of map o becomes before the pool's activation. `window`: its four
 * activated conv values, or one running value (the sum, or for max pooling the largest).
 */
function pooled(stage: FusedConvStage, packed: Float32Array, o: number, window: readonly string[]): string {
  if (stage.poolMode === 'max') return window.length === 4 ? `max(max(${window[0]}, ${window[1]}), max(${window[2]}, ${window[3]}))` : window[0]!;
  return `fma(${window.join(' + ')}, ${wgslFloat(packed[stage.coefficientOffset + o]!)}, ${wgslFloat(packed[stage.poolBiasOffset + o]!)})`;
}

/** A running window's start: 0 for a sum, the lowest f32 for a maximum. */
function windowStart(stage: FusedConvStage): string {
  return stage.poolMode === 'max' ? kLowestF32 : '0.0';
}

/** −(largest finite f32), written exactly. */
const kLowestF32 = '-3.4028234663852886e+38';

/**
 * fn storeSoftmax(base, n, first, step): the final (log-)softmax of one image's scores,
 * source[base …], written to output row n at classes first, first + step, …. The row's
 * maximum is subtracted before exp, as the softmax kernel (shaders/softmax.ts) does.
 */
export function softmaxWgsl(source: string, log: boolean): string {
  const value = log ? `${source}[base + c] - (largest + log(total))` : `exp(${source}[base + c] - largest) / total`;
  return `
fn storeSoftmax(base: u32, n: u32, first: u32, step: u32) {
  var largest = ${source}[base];
  for (var c = 1u; c < kClasses; c++) { largest = max(largest, ${source}[base + c]); }
  var total = 0.0;
  for (var c = 0u; c < kClasses; c++) { total += exp(${source}[base + c] - largest); }
  for (var c = first; c < kClasses; c += step) { output[n * kClasses + c] = ${value}; }
}`;
}

/** Inputs per iteration of a dense layer's inner loop (the loop body is unrolled over them). */
export const kDenseChunk = 4;
/** Output blocks (of 4) a dense layer's inner loop updates together. 2 halves the input loads; 3 or more makes SwiftShader's compile time explode (minutes). */
export const kDenseBlocks = 2;

/**
 * vector{i}(): a dense layer (or the RBF) for all K images. The outer loop takes G blocks of
 * 4 outputs; the inner loop takes kDenseChunk inputs at a time, loading each image's input
 * once for all G blocks (a dynamically indexed private load is the costly part on a CPU) and
 * one vec4 of weights per block and input for all K images. With `subgroups`, lane `lane`
 * (its subgroup invocation id) loads the block of input j + lane, and the chunk's blocks come
 * from subgroupBroadcast (a chunk is one input per lane). `lane` is the split shape's lane
 * otherwise. The last layer stores the scores of the images that exist.
 */
function vectorWgsl(
  i: number,
  stage: FusedVectorStage,
  source: string,
  sourceStride: number,
  isLast: boolean,
  K: number,
  split: boolean,
  subgroups: boolean,
): string {
  const n = stage.inFeatures;
  const blocks = stage.paddedOut / 4;
  let G = Math.min(kDenseBlocks, blocks);
  while (blocks % G !== 0) G--;
  const chunk = n % kDenseChunk === 0 ? kDenseChunk : 1;
  const broadcast = subgroups && chunk === kLaneWorkgroupSize;
  const rbf = stage.kind === 'rbf';
  const lines: string[] = [];
  const acc = (b: number, k: number) => `acc${b}_${k}`;
  const prev = new Map<string, string>();
  for (let b = 0; b < G; b++) for (let k = 0; k < K; k++) prev.set(acc(b, k), acc(b, k));
  for (let c = 0; c < chunk; c++) {
    for (let k = 0; k < K; k++) lines.push(`      let x${k}_${c} = vec4f(${source}[${k * sourceStride}u + j + ${c}u]);`);
    for (let b = 0; b < G; b++) {
      if (broadcast && c === 0) lines.push(`      let mine${b} = wv[w + ${b * n}u + j + lane];`);
      lines.push(broadcast ? `      let w${b}_${c} = subgroupBroadcast(mine${b}, ${c}u);` : `      let w${b}_${c} = wv[w + ${b * n}u + j + ${c}u];`);
      for (let k = 0; k < K; k++) {
        const next = `a${b}_${k}_${c}`;
        const before = prev.get(acc(b, k))!;
        lines.push(
          rbf
            ? `      let d${b}_${k}_${c} = x${k}_${c} - w${b}_${c};\n      let ${next} = fma(d${b}_${k}_${c}, d${b}_${k}_${c}, ${before});`
            : `      let ${next} = fma(w${b}_${c}, x${k}_${c}, ${before});`,
        );
        prev.set(acc(b, k), next);
      }
    }
  }
  for (const [name, last] of prev) lines.push(`      ${name} = ${last};`);
  const init: string[] = [];
  const finish: string[] = [];
  for (let b = 0; b < G; b++) {
    for (let k = 0; k < K; k++) {
      init.push(`    var ${acc(b, k)} = ${rbf ? 'vec4f(0.0)' : `wv[${stage.biasOffset / 4}u + q + ${b}u]`};`);
      for (let c = 0; c < 4; c++) {
        const value = `activateV${i}(${acc(b, k)}[${c}])`;
        const out = `4u * (q + ${b}u) + ${c}u`;
        finish.push(
          isLast
            ? `    if (${out} < kClasses && i + ${k}u * stride < count) { output[(i + ${k}u * stride) * kClasses + ${out}] = ${value}; }`
            : `    vec${i}[${k * stage.paddedOut}u + ${out}] = ${value};`,
        );
      }
    }
  }
  return `
fn vector${i}(i: u32, stride: u32, count: u32, lane: u32) {
  for (var q = ${split ? `lane * ${G}u` : '0u'}; q < ${blocks}u; q += ${split ? `kWorkgroupSize * ${G}u` : `${G}u`}) {
    let w = ${stage.weightOffset / 4}u + q * ${n}u;
${init.join('\n')}
    for (var j = 0u; j < ${n}u; j += ${chunk}u) {
${lines.join('\n')}
    }
${finish.join('\n')}
  }
}`;
}
