/**
 * The split lane kernel: the fused network for CPU implementations of WebGPU at small
 * batches, where the packed kernel (lanes-packed.ts) leaves lanes and cores idle (its 4 lanes
 * would all compute the one image). The rules it is written to: lanes.ts.
 *
 * Mapping: workgroup n carries image n, and its kLaneWorkgroupSize = L lanes deal each
 * stage's outputs round-robin: lane l loads image rows l, l+L, …; computes the first stage's
 * pooled positions l, l+L, … (all maps), the second stage's likewise (one loop iteration per
 * conv position of the window, loading the inputs' 5×5 patches), and the dense layers'
 * output block groups l, l+L, … (dense.ts); the last layer's lanes store their classes.
 * Workgroup memory: the padded image, both stages' maps and the dense outputs for one image
 * (`fusedWorkgroupBytes`, ≈ 11 KB for LeNet-5), a barrier between stages (the workgroup is
 * one SIMD group, so a barrier costs little). Measured on SwiftShader (2 cores), kernel time
 * at batch 1: 0.85 ms against the packed kernel's 1.93 ms.
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

/**
 * The split lane kernel for a model's layout with its weights baked in (`packed`, the buffer
 * `packFusedWeights` fills).
 *
 * @example
 * const kernel = splitLaneKernel(layout, packed);
 * kernel.workgroups(3); // [3, 1, 1]: one workgroup per image
 */
export function splitLaneKernel(layout: FusedLayout, packed: Float32Array): FusedKernel {
  return {
    kernel: 'fused-lanes-split',
    // The weights are in the code: the key must tell them apart.
    options: { layout, weights: weightsFingerprint(packed) },
    code: splitLaneWgsl(layout, packed),
    bindings: kLaneBindings,
    workgroups: (count) => dispatchSize(count * kLaneWorkgroupSize, kLaneWorkgroupSize),
  };
}

function splitLaneWgsl(layout: FusedLayout, packed: Float32Array): string {
  const [s1, s2] = layout.convs;
  const padded = paddedInputSide(layout);
  const mapSide = paddedMapSide(layout);
  const vectors = layout.vectors;
  const features = s2.outChannels * s2.poolSize * s2.poolSize;
  const start = laneModuleStart(layout, { images: 1, space: 'workgroup', subgroups: false, firstRow: 'lane', rowStep: 'kWorkgroupSize' });
  const dense = laneDenseWgsl(layout, { images: 1, dealBlocks: true, broadcast: false });
  const softmax = layout.softmax ? softmaxWgsl(`vec${vectors.length - 1}`, layout.softmax.log) : '';
  return `${start}
${stage1Wgsl(s1, padded, mapSide, s2.padding, packed)}
${stage2Wgsl(s2, mapSide, features, packed)}
${dense}${softmax}
${mainWgsl(vectors.length, layout.softmax !== undefined)}
`;
}

/**
 * The entry point: workgroup n carries image n, a barrier between stages. n is
 * workgroup-uniform, so the early return keeps the barriers in uniform control flow.
 */
function mainWgsl(vectors: number, softmax: boolean): string {
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

/** stage1(lane): the first conv + pooling; lane l takes pooled positions l, l+L, … and loads whole 6×6 patches. */
function stage1Wgsl(stage: FusedConvStage, side: number, mapSide: number, mapPad: number, packed: Float32Array): string {
  const pool = stage.poolSize;
  // act1 keeps the second conv's zero padding around each map: position `to` of map 0.
  const storeIndex = mapPad > 0 ? `    let to = (at / ${pool}u + ${mapPad}u) * ${mapSide}u + at % ${pool}u + ${mapPad}u;` : undefined;
  const lines = stage1Body(stage, packed, mapSide, (c, r, x) => `img[base + ${c * side * side + r * side + x}u]`, storeIndex);
  return `
fn stage1(lane: u32) {
  for (var at = lane; at < ${pool * pool}u; at += kWorkgroupSize) {
    let base = 2u * (at / ${pool}u) * ${side}u + 2u * (at % ${pool}u);
${lines.join('\n')}
  }
}`;
}

/**
 * stage2(k, lane): the second conv + pooling into act2; lane l takes pooled positions l, l+L,
 * …, one loop iteration per conv position of the window, loading the inputs' 5×5 patches.
 */
function stage2Wgsl(stage: FusedConvStage, side: number, features: number, packed: Float32Array): string {
  const pool = stage.poolSize;
  const lines: string[] = [];
  for (const c of usedInputs(stage)) {
    for (let ky = 0; ky < 5; ky++) {
      for (let kx = 0; kx < 5; kx++) lines.push(`    let p${c}_${ky}_${kx} = act1[base + ${c * side * side + ky * side + kx}u];`);
    }
  }
  mapSums(stage, packed, 0, lines);
  return `
fn stage2(k: u32, lane: u32) {
  for (var at = lane; at < ${pool * pool}u; at += kWorkgroupSize) {
${windowStarts(stage, '      ', true)}
    for (var w = 0u; w < 4u; w++) {
    let base = (2u * (at / ${pool}u) + w / 2u) * ${side}u + 2u * (at % ${pool}u) + w % 2u;
${lines.join('\n')}
    }
${poolStores(stage, packed, features, 'at', '      ')}
  }
}`;
}
