/**
 * The dense layers (and the RBF) of both lane kernels: `fn vector{i}(i, stride, count, lane)`
 * per layer, reading the previous layer's outputs for K images from act2 / vec{i−1} and
 * [out/4][in][4] weight blocks from the buffer as vec4 loads; each load feeds the K images an
 * invocation carries, so one checked load serves 4 × K multiply-adds. With subgroups (the
 * packed kernel), the 4 lanes load the blocks of 4 consecutive inputs, one each, and
 * `subgroupBroadcast` hands every lane all four: a quarter of the weight loads (the lanes all
 * need the same weights; SwiftShader cannot tell that from a loop-indexed address and
 * gathers lane by lane). The first layer (400 → 120) is a sixth to a quarter of the packed
 * kernel's time at batch 1024, the other two a few percent each (`npm run probe:kernel`;
 * docs/performance.md, "Where the packed kernel's time goes", with what was tried against it).
 */
import type { FusedLayout, FusedVectorStage } from './layout.js';
import { kLaneWorkgroupSize } from './lanes.js';
import { finishWgsl } from './shared.js';

export interface LaneDenseOptions {
  /** Images per invocation (K): each weight load feeds all of them. */
  readonly images: number;
  /** The split kernel: lane l computes output block groups l, l+L, … of one image. */
  readonly dealBlocks: boolean;
  /** Share weight loads across the subgroup (packed kernel with the 'subgroups' feature). */
  readonly broadcast: boolean;
}

/**
 * Every dense layer's function. The last one stores the output, unless a softmax follows:
 * then it keeps its scores in vec{last} like the others, for `storeSoftmax`.
 */
export function laneDenseWgsl(layout: FusedLayout, o: LaneDenseOptions): string {
  const [, s2] = layout.convs;
  const vectors = layout.vectors;
  const last = vectors.length - 1;
  const features = s2.outChannels * s2.poolSize * s2.poolSize;
  return vectors
    .map((v, i) => vectorWgsl(i, v, i === 0 ? 'act2' : `vec${i - 1}`, i === 0 ? features : vectors[i - 1]!.paddedOut, i === last && !layout.softmax, o))
    .join('\n');
}

/** Inputs per iteration of a dense layer's inner loop (the loop body is unrolled over them). */
const kDenseChunk = 4;
/** Output blocks (of 4) a dense layer's inner loop updates together. 2 halves the input loads; 3 or more makes SwiftShader's compile time explode (minutes). */
const kDenseBlocks = 2;

/**
 * vector{i}(): a dense layer (or the RBF) for all K images. The outer loop takes G blocks of
 * 4 outputs; the inner loop takes kDenseChunk inputs at a time, loading each image's input
 * once for all G blocks (a dynamically indexed private load is the costly part on a CPU) and
 * one vec4 of weights per block and input for all K images. With `subgroups`, lane `lane`
 * (its subgroup invocation id) loads the block of input j + lane, and the chunk's blocks come
 * from subgroupBroadcast (a chunk is one input per lane). With `dealBlocks` (the split
 * kernel), `lane` is the lane that takes groups of blocks lane, lane + L, …, G dividing the
 * block count. Otherwise a hidden layer with an odd number of blocks takes them in pairs and
 * the last one alone, in a second loop (Caffe's 500 outputs are 125 blocks: without it, every
 * step would load its inputs for one block); the last layer keeps one loop with G dividing its
 * blocks (two blocks a step there made SwiftShader's compile run for minutes). The last layer
 * stores the scores of the images that exist.
 */
function vectorWgsl(i: number, stage: FusedVectorStage, source: string, sourceStride: number, isLast: boolean, o: LaneDenseOptions): string {
  const blocks = stage.paddedOut / 4;
  const pairs = Math.min(kDenseBlocks, blocks);
  let G = pairs;
  while (blocks % G !== 0) G--;
  const loop = (g: number, from: number, to: number) => blockLoopWgsl(i, stage, source, sourceStride, isLast, o, g, from, to);
  const paired = blocks - (blocks % pairs);
  const loops = o.dealBlocks || isLast || paired === blocks ? [loop(G, 0, blocks)] : [loop(pairs, 0, paired), loop(1, paired, blocks)];
  return `
fn vector${i}(i: u32, stride: u32, count: u32, lane: u32) {${loops.join('')}
}`;
}

/** The loop over output blocks [from, to) of vector{i}(), G blocks a step. */
function blockLoopWgsl(i: number, stage: FusedVectorStage, source: string, sourceStride: number, isLast: boolean, o: LaneDenseOptions, G: number, from: number, to: number): string {
  const K = o.images;
  const n = stage.inFeatures;
  const chunk = n % kDenseChunk === 0 ? kDenseChunk : 1;
  const broadcast = o.broadcast && chunk === kLaneWorkgroupSize;
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
        const value = finishWgsl(`V${i}`, `${acc(b, k)}[${c}]`, stage.after, (step) => [
          `wv[${step.scaleOffset / 4}u + q + ${b}u][${c}]`,
          `wv[${step.shiftOffset / 4}u + q + ${b}u][${c}]`,
        ]);
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
  for (var q = ${o.dealBlocks ? `lane * ${G}u` : `${from}u`}; q < ${to}u; q += ${o.dealBlocks ? `kWorkgroupSize * ${G}u` : `${G}u`}) {
    let w = ${stage.weightOffset / 4}u + q * ${n}u;
${init.join('\n')}
    for (var j = 0u; j < ${n}u; j += ${chunk}u) {
${lines.join('\n')}
    }
${finish.join('\n')}
  }`;
}
