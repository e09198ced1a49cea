/**
 * The packed lane kernel: the fused network for CPU implementations of WebGPU at large
 * batches (the rules it is written to: lanes.ts). No barriers, no workgroup memory: each
 * invocation carries whole images in private memory.
 *
 * Mapping: T = invocations dispatched (workgroups × kLaneWorkgroupSize). Invocation i handles
 * images i, i+T, …, i+(K−1)T; it computes at least one (image N−1 stands in for missing ones,
 * so all lanes follow one path and loads stay vector loads) and stores only real ones. The
 * grid must give T·K ≥ N (`packedLaneGrid`). Both conv stages slide down each column of
 * pooled positions, carrying the rows the next step shares in vars (a var has a constant
 * offset): a third of the first stage's loads and a sixth of the second's. The second conv is
 * Winograd's F(2×2, 5×5) (`conv2: 'winograd'`, winograd.ts: 36 multiplies per map, input and
 * pooling window instead of 100) or direct fma chains (`conv2: 'direct'`). The dense layers
 * (dense.ts) then take the K images at once, sharing their weight loads across the lanes
 * with `subgroupBroadcast` where the device has subgroups.
 */
import { dispatchSize } from '../common.js';
import { laneDenseWgsl } from './dense.js';
import {
  kLaneBindings,
  kLaneWorkgroupSize,
  laneModuleStart,
  mapSums,
  poolStores,
  stage1Body,
  usedInputs,
  windowStarts,
} from './lanes.js';
import { paddedInputSide, paddedMapSide, type FusedConvStage, type FusedKernel, type FusedLayout } from './layout.js';
import { softmaxWgsl, weightsFingerprint } from './shared.js';
import { winogradStage2 } from './winograd.js';

export interface PackedLaneOptions {
  /** Images per invocation (K); the plan's choice (8 crashes SwiftShader's compiler). */
  readonly images: number;
  /**
   * Share the dense layers' weight loads across the lanes with `subgroupBroadcast`. Needs
   * the device feature 'subgroups' and subgroups of at least kLaneWorkgroupSize invocations,
   * so that a workgroup is one subgroup (the plan checks).
   */
  readonly subgroups: boolean;
  /** Small batches are spread over at least this many workgroups (CPU threads) when they can be. */
  readonly minWorkgroups: number;
  /**
   * How the second conv is computed: 'winograd' (F(2×2, 5×5), one pooling window per tile,
   * winograd.ts) or 'direct' (literal-weight fma chains over the 5×6 patches, two conv
   * positions per step, `stage2Sliding`). Every layout takes either; the plan chooses.
   */
  readonly conv2: PackedConv2;
}

/** The second conv's algorithm in the packed lane kernel. */
export type PackedConv2 = 'direct' | 'winograd';

/**
 * The packed lane kernel for a model's layout with its weights baked in (`packed`, the
 * buffer `packFusedWeights` fills).
 *
 * @example
 * const kernel = packedLaneKernel(layout, packed, { images: 4, subgroups: false, minWorkgroups: 4 });
 * kernel.workgroups(1024); // [64, 1, 1]: 4 invocations × 4 images each
 */
export function packedLaneKernel(layout: FusedLayout, packed: Float32Array, o: PackedLaneOptions): FusedKernel {
  return {
    kernel: 'fused-lanes-packed',
    // The weights are in the code: the key must tell them apart.
    options: { layout, weights: weightsFingerprint(packed), images: o.images, subgroups: o.subgroups, conv2: o.conv2 },
    code: packedLaneWgsl(layout, packed, o),
    bindings: kLaneBindings,
    workgroups: (count) => packedLaneGrid(count, o.images, o.minWorkgroups),
  };
}

/**
 * The grid for `count` images: each invocation takes up to `images`, but small batches are
 * first spread over up to `minWorkgroups` workgroups (one image per invocation), so that a
 * CPU implementation runs them on several threads instead of one.
 *
 * @example
 * packedLaneGrid(1024, 4, 4); // [64, 1, 1]
 * packedLaneGrid(7, 4, 4); // [2, 1, 1]
 */
export function packedLaneGrid(count: number, images: number, minWorkgroups: number): [number, number, number] {
  const packedGroups = Math.ceil(count / (kLaneWorkgroupSize * images));
  const spread = Math.min(Math.ceil(count / kLaneWorkgroupSize), minWorkgroups);
  return dispatchSize(Math.max(packedGroups, spread) * kLaneWorkgroupSize, kLaneWorkgroupSize);
}

function packedLaneWgsl(layout: FusedLayout, packed: Float32Array, o: PackedLaneOptions): string {
  const [s1, s2] = layout.convs;
  const padded = paddedInputSide(layout);
  const mapSide = paddedMapSide(layout);
  const vectors = layout.vectors;
  const features = s2.outChannels * s2.poolSize * s2.poolSize;
  const start = laneModuleStart(layout, { images: o.images, space: 'private', subgroups: o.subgroups, firstRow: '0u', rowStep: '1u' });
  const dense = laneDenseWgsl(layout, { images: o.images, dealBlocks: false, broadcast: o.subgroups });
  const softmax = layout.softmax ? softmaxWgsl(`vec${vectors.length - 1}`, layout.softmax.log) : '';
  return `${start}
${stage1Sliding(s1, padded, mapSide, s2.padding, packed)}
${o.conv2 === 'winograd' ? winogradStage2(s2, mapSide, features, packed) : stage2Sliding(s2, mapSide, features, packed)}
${dense}${softmax}
${mainWgsl(vectors.length, o.subgroups, layout.softmax ? vectors[vectors.length - 1]!.paddedOut : 0)}
`;
}

/**
 * The entry point: K images per invocation, no barriers (`sublane`: see dense.ts).
 * `softmaxStride` > 0: the last layer's scores sit in its vec array, that many per image,
 * and storeSoftmax writes the images that exist.
 */
function mainWgsl(vectors: number, subgroups: boolean, softmaxStride: number): string {
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
 * stage1(): every pooled output of the first conv + pooling, from img into act1. The loops
 * slide down each column of pooled positions; each step is one pooled position (lanes.ts,
 * stage1Body), and the patch's lower 4 rows stay in vars for the next step, so a step loads
 * 12 values instead of 36.
 */
function stage1Sliding(stage: FusedConvStage, side: number, mapSide: number, mapPad: number, packed: Float32Array): string {
  const pool = stage.poolSize;
  // act1 keeps the second conv's zero padding around each map: position `to` of map 0.
  const storeIndex = mapPad > 0 ? `    let to = (py + ${mapPad}u) * ${mapSide}u + px + ${mapPad}u;` : undefined;
  const plane = side * side;
  const lines = stage1Body(stage, packed, mapSide, (c, r, x) => (r < 4 ? `r${c}_${r}_${x}` : `img[base + ${c * plane + r * side + x}u]`), storeIndex);
  const rows = usedInputs(stage).flatMap((c) => [0, 1, 2, 3].flatMap((r) => [0, 1, 2, 3, 4, 5].map((x) => [c, r, x] as const)));
  return `
fn stage1(lane: u32) {
  for (var px = 0u; px < ${pool}u; px++) {
${rows.map(([c, r, x]) => `    var r${c}_${r}_${x} = img[2u * px + ${c * plane + r * side + x}u];`).join('\n')}
    for (var py = 0u; py < ${pool}u; py++) {
    let base = 2u * py * ${side}u + 2u * px;
    let at = py * ${pool}u + px;
${lines.join('\n')}
${rows.map(([c, r, x]) => `    r${c}_${r}_${x} = p${c}_${r + 2}_${x};`).join('\n')}
    }
  }
}`;
}

/**
 * stage2(k): the second conv + pooling, from act1 into image slot k of act2. The window
 * slides down each column of pooled positions, one conv row per step. A step's body is both
 * conv positions of the pooling window in that row, over the inputs' 5×6 patches; the
 * patches' upper 4 rows are vars kept from the step before, so a step loads one row (6
 * values per input) instead of 30. Every second row completes the windows, which are stored
 * and reset.
 */
function stage2Sliding(stage: FusedConvStage, side: number, features: number, packed: Float32Array): string {
  const pool = stage.poolSize;
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
${windowStarts(stage, '    ', true)}
    for (var y = 0u; y < ${2 * pool}u; y++) {
${lines.join('\n')}
${kept.map(([c, r, x]) => `      r${c}_${r}_${x} = p${c}_${r + 1}_${x};`).join('\n')}
      if (y % 2u == 1u) {
${poolStores(stage, packed, features, `(y / 2u) * ${pool}u + px`, '        ')}
${windowStarts(stage, '        ', false)}
      }
    }
  }
}`;
}

