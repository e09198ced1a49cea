/**
 * 5×5 convolution, stride 1, zero padding, optional connection table, optional fused
 * activation, over a batch of N images (N from the `batch` uniform): the layered plan's and
 * the training plan's forward conv, weights read from a buffer.
 *
 * Mapping: one invocation per block of output values of one image: `maps` consecutive output
 * maps × `rows` consecutive rows × `columns` consecutive columns (`Conv5x5Blocking`).
 * Invocation i = ((n · mapBlocks + mb) · rowBlocks + rb) · columnBlocks + cb. For each input map
 * c it loads the (rows + 4) × (columns + 4) input patch under its block once, and each map's 25
 * weights once, then takes every product of the block from those values:
 *   output[n, o, y, x] = f(bias[o] + Σ_c Σ_ky,kx weight[kernel(o, c), ky, kx] · input[n, c, y + ky − p, x + kx − p]),
 * taps in the padding reading zero. A block that runs past the last map, row or column
 * computes those values from clamped reads and does not store them.
 *
 * With the 'cpu-unrolled' target (`KernelTarget`) a block is every output map over a run of
 * columns and the input-map loop is written out, so each weight is read at a constant index.
 *
 * Why blocks: a one-invocation-per-output kernel makes two loads per multiply-add. Here a
 * block of M maps × R rows × S columns makes (R + 4)(S + 4) + 25·M loads per input map for
 * 25·M·R·S multiply-adds. On a CPU implementation (SwiftShader) every loop-indexed load is a
 * lane-by-lane gather costing as much as 7–13 multiply-adds (docs/performance.md), and the sums
 * live in a private array the JIT reads and writes at constant offsets; on a GPU they stay in
 * registers, and neighbouring invocations' loads coalesce or hit the cache (neighbours share the
 * image and the map block, so their weight reads are one address). The block is small on both
 * (`conv5x5Blocking`: compile time decides it on a CPU). The body has no branches
 * and no calls of WGSL functions: SwiftShader inlines every call, and a body of a hundred small
 * inlined calls took its JIT minutes.
 *
 * Weights: dense [outChannels, inChannels, 5, 5]; with a table, only the listed kernels,
 * [Σ table sizes, 5, 5], output-map major (spec.ts `connectionOffsets`). The table goes in as
 * a WGSL constant: kKernel[o · C + c] is the kernel of (o, c), or −1 where c does not feed o.
 */
import { wgsl } from './wgsl.js';
import { convKernelCount, type Activation } from '../src/model/spec.js';
import { activationWgsl, batchAndIndexWgsl, dispatchSize } from './common.js';

/**
 * Which kind of device the blocks are sized for (src/gpu/device.ts `kernelTargetOf`), and on a
 * CPU implementation whether build time or run time matters more:
 * - 'gpu': blocks of a few maps × columns, the weights read through computed indices;
 * - 'cpu': one output per invocation, the quickest build (the layered plan's first answer);
 * - 'cpu-unrolled': conv invocations that compute every output map over a run of columns
 *   with the input-map loop written out, so every weight is read at an index known when the
 *   shader compiles (SwiftShader: a vector load, against a lane-by-lane gather for a computed
 *   index; docs/performance.md). The fastest conv kernels on a CPU implementation and the
 *   slowest to build (seconds to tens of seconds on SwiftShader): for a training run's
 *   thousands of steps. A layer whose written-out code would pass `kMaxUnrolledMultiplyAdds`
 *   takes the 'gpu' blocks; dense layers take them always.
 */
export type KernelTarget = 'cpu' | 'cpu-unrolled' | 'gpu';

/**
 * The most multiply-adds a 'cpu-unrolled' conv kernel writes out (kernels × 25 × columns; for
 * the weight gradient, kernels × 25 × output columns): SwiftShader's compile time grows with
 * them. The largest written out in the presets is the tutorial net's conv2 weight gradient,
 * 96 × 25 × 10 = 24,000 (its whole plan builds in 11–32 s on the 2-core machine); Caffe's
 * 1,000-kernel conv2 would be 200,000 and takes the 'gpu' blocks.
 */
export const kMaxUnrolledMultiplyAdds = 25_000;

export interface Conv5x5Options {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inSize: number;
  readonly padding: number;
  /** For each output map, the ascending input maps feeding it; absent = every input map. */
  readonly connectionTable?: ReadonlyArray<ReadonlyArray<number>>;
  readonly activation: Activation;
  /** Block sizes for this kind of device; default 'gpu'. */
  readonly target?: KernelTarget;
}

/** One invocation's block: output maps × rows × columns, and the workgroup size. */
export interface Conv5x5Blocking {
  readonly maps: number;
  readonly rows: number;
  readonly columns: number;
  readonly workgroupSize: number;
  /** The input-map loop written out, every weight at a constant index ('cpu-unrolled'). */
  readonly unrolled: boolean;
}

/** Output side for a 5×5 stride-1 kernel. */
export function conv5x5OutSize(inSize: number, padding: number): number {
  return inSize + 2 * padding - 4;
}

/**
 * The block sizes for a layer on a target. GPU: up to 4 maps (the largest count in 2–4 that
 * wastes at most a tenth on the last block) × one row × up to 4 columns, 16 sums in registers,
 * 64 invocations a workgroup. CPU implementations: one output per invocation. There the 16-sum
 * blocks ran the layered plan 6–7× faster (seed 141 → 851–871 images/s at batch 256, Node,
 * SwiftShader) but made its build 5–7× longer (0.15 → 0.7–1.0 s), and this plan is every
 * engine's first answer: in the demo, with a saliency plan and the fused kernel compiling
 * beside it, a model switch then took over 30 s on the 2-core machine (docs/performance.md).
 * 'cpu-unrolled': every output map × one row × up to 8 columns, the input maps written out
 * (`KernelTarget`), where the layer's code stays within `kMaxUnrolledMultiplyAdds`; else the
 * GPU blocks.
 *
 * @example
 * conv5x5Blocking({ inChannels: 20, outChannels: 50, inSize: 12, padding: 0 }, 'gpu'); // { maps: 4, rows: 1, columns: 4, workgroupSize: 64, unrolled: false }
 */
export function conv5x5Blocking(
  layer: Pick<Conv5x5Options, 'inChannels' | 'outChannels' | 'inSize' | 'padding' | 'connectionTable'>,
  target: KernelTarget,
): Conv5x5Blocking {
  if (target === 'cpu') return { maps: 1, rows: 1, columns: 1, workgroupSize: 64, unrolled: false };
  const outSize = conv5x5OutSize(layer.inSize, layer.padding);
  if (target === 'cpu-unrolled') {
    // Every map over up to 8 columns: the patch loads (5 × (columns + 4) a map) are shared by
    // every map, and 8 measured faster than 4 and no slower than 16 (docs/training.md).
    const columns = evenColumns(outSize, 8);
    const kernels = convKernelCount(layer.inChannels, layer.outChannels, layer.connectionTable);
    if (kernels * 25 * columns <= kMaxUnrolledMultiplyAdds) return { maps: layer.outChannels, rows: 1, columns, workgroupSize: 64, unrolled: true };
  }
  const maps = fewestWasted(layer.outChannels, [4, 3, 2]);
  return { maps, rows: 1, columns: evenColumns(outSize, 4), workgroupSize: 64, unrolled: false };
}

/** Columns per block: at most `most`, the row split into equal runs (28 at most 8: 7). */
function evenColumns(outSize: number, most: number): number {
  return Math.ceil(outSize / Math.ceil(outSize / most));
}

/**
 * The largest candidate block size (or `count` itself when smaller) that leaves at most a tenth
 * of the last block's work unused, else the one that leaves the fewest unused.
 */
function fewestWasted(count: number, candidates: readonly number[]): number {
  if (count <= candidates[candidates.length - 1]!) return count;
  const waste = (m: number) => Math.ceil(count / m) * m - count;
  const good = candidates.find((m) => waste(m) <= count / 10);
  if (good !== undefined) return good;
  return candidates.reduce((best, m) => (waste(m) < waste(best) ? m : best));
}

/** Blocks per image: map blocks × row blocks × column blocks. */
function blocksPerImage(options: Conv5x5Options, blocking: Conv5x5Blocking): number {
  const outSize = conv5x5OutSize(options.inSize, options.padding);
  return Math.ceil(options.outChannels / blocking.maps) * Math.ceil(outSize / blocking.rows) * Math.ceil(outSize / blocking.columns);
}

/**
 * The 'cpu-unrolled' body: one block per input map c, written out. Which patch rows and
 * columns lie inside the map is worked out once; each map's patch is loaded once for every
 * output map, and each kernel that exists is read at constant indices (a kernel the table
 * leaves out is not in the code at all).
 */
function unrolledChannels(
  options: Conv5x5Options,
  blocking: Conv5x5Blocking,
  kernelOf: readonly number[],
  acc: (m: number, r: number, s: number) => string,
): string[] {
  const { inChannels, outChannels, padding, connectionTable } = options;
  const { rows: R, columns: S } = blocking;
  const lines: string[] = [];
  for (let r = 0; r < R + 4; r++) {
    if (padding === 0) {
      lines.push(`  let row${r} = u32(y0 + ${r}i) * u32(kInSize) + u32(x0);`);
    } else {
      lines.push(`  let inRow${r} = u32(y0 + ${r - padding}i) < u32(kInSize);`);
      lines.push(`  let row${r} = u32(clamp(y0 + ${r - padding}i, 0i, kInSize - 1i) * kInSize);`);
    }
  }
  for (let s = 0; s < S + 4 && padding > 0; s++) {
    lines.push(`  let inColumn${s} = u32(x0 + ${s - padding}i) < u32(kInSize);`);
    lines.push(`  let column${s} = u32(clamp(x0 + ${s - padding}i, 0i, kInSize - 1i));`);
  }
  for (let c = 0; c < inChannels; c++) {
    lines.push('  {');
    lines.push(`    let base = (n * kInChannels + ${c}u) * u32(kInSize * kInSize);`);
    for (let r = 0; r < R + 4; r++) {
      for (let s = 0; s < S + 4; s++) {
        lines.push(
          padding === 0
            ? `    let x${r}_${s} = input[base + row${r} + ${s}u];`
            : `    let x${r}_${s} = select(0.0, input[base + row${r} + column${s}], inRow${r} && inColumn${s});`,
        );
      }
    }
    for (let m = 0; m < outChannels; m++) {
      const k = connectionTable ? kernelOf[m * inChannels + c]! : m * inChannels + c;
      if (k < 0) continue;
      for (let t = 0; t < 25; t++) lines.push(`    let w${m}_${t} = weight[${k * 25 + t}u];`);
      for (let r = 0; r < R; r++) {
        for (let s = 0; s < S; s++) {
          let sum = acc(m, r, s);
          for (let t = 0; t < 25; t++) sum = `fma(w${m}_${t}, x${r + Math.floor(t / 5)}_${s + (t % 5)}, ${sum})`;
          lines.push(`    ${acc(m, r, s)} = ${sum};`);
        }
      }
    }
    lines.push('  }');
  }
  return lines;
}

/** A conv layer's kernel: its WGSL and the workgroup grid for `count` images. */
export interface Conv5x5Kernel {
  readonly code: string;
  readonly blocking: Conv5x5Blocking;
  workgroups(count: number): [number, number, number];
}

/**
 * The kernel for one conv layer. Bindings: 0 batch uniform, 1 input, 2 weight, 3 bias, 4 output.
 *
 * @example
 * const { code, workgroups } = conv5x5({ inChannels: 1, outChannels: 6, inSize: 28, padding: 2, activation: 'sigmoid', target: 'cpu' });
 * pass.dispatchWorkgroups(...workgroups(batch));
 */
export function conv5x5(options: Conv5x5Options): Conv5x5Kernel {
  const { inChannels, outChannels, inSize, padding, connectionTable, activation } = options;
  const blocking = conv5x5Blocking(options, options.target ?? 'gpu');
  const { maps: M, rows: R, columns: S } = blocking;
  const outSize = conv5x5OutSize(inSize, padding);
  const rowBlocks = Math.ceil(outSize / R);
  const columnBlocks = Math.ceil(outSize / S);
  const perImage = blocksPerImage(options, blocking);

  const kernelCount = convKernelCount(inChannels, outChannels, connectionTable);
  const kernelOf: number[] = [];
  if (connectionTable) {
    let k = 0;
    const index = new Map<string, number>();
    connectionTable.forEach((inputs, o) => inputs.forEach((c) => index.set(`${o},${c}`, k++)));
    for (let o = 0; o < outChannels; o++) for (let c = 0; c < inChannels; c++) kernelOf.push(index.get(`${o},${c}`) ?? -1);
  }

  const accumulators: string[] = [];
  const patch: string[] = [];
  const products: string[] = [];
  const stores: string[] = [];
  // The block's sums live in one array at constant indices: loop-carried `var`s by the hundred
  // make SwiftShader's JIT take minutes (each is a value it threads through the loop), an
  // array is memory it reads and writes with one vector instruction per 4 lanes.
  const acc = (m: number, r: number, s: number) => `acc[${(m * R + r) * S + s}]`;
  accumulators.push(`  var acc: array<f32, ${M * R * S}>;`);
  // The patch, inline: SwiftShader inlines every call of a WGSL function and its JIT took
  // minutes over a body of a hundred such calls (0.6 s written out).
  if (padding === 0) {
    // Every tap of a stored value is inside the map; a block past the edge reads other values
    // (clamped to the buffer) for sums it does not store.
    for (let r = 0; r < R + 4; r++) patch.push(`    let row${r} = base + u32(y0 + ${r}i) * u32(kInSize) + u32(x0);`);
    for (let r = 0; r < R + 4; r++) for (let s = 0; s < S + 4; s++) patch.push(`    let x${r}_${s} = input[row${r} + ${s}u];`);
  } else {
    // Which rows and columns of the patch lie in the map (the rest is padding, read as zero),
    // computed once per row and column, not per value.
    for (let r = 0; r < R + 4; r++) {
      patch.push(`    let inRow${r} = u32(y0 + ${r - padding}i) < u32(kInSize);`);
      patch.push(`    let row${r} = base + u32(clamp(y0 + ${r - padding}i, 0i, kInSize - 1i) * kInSize);`);
    }
    for (let s = 0; s < S + 4; s++) {
      patch.push(`    let inColumn${s} = u32(x0 + ${s - padding}i) < u32(kInSize);`);
      patch.push(`    let column${s} = u32(clamp(x0 + ${s - padding}i, 0i, kInSize - 1i));`);
    }
    for (let r = 0; r < R + 4; r++) {
      for (let s = 0; s < S + 4; s++) {
        patch.push(`    let x${r}_${s} = select(0.0, input[row${r} + column${s}], inRow${r} && inColumn${s});`);
      }
    }
  }
  if (blocking.unrolled) {
    products.push(...unrolledChannels(options, blocking, kernelOf, acc));
  } else {
    for (let m = 0; m < M; m++) {
      // Branch-free: a kernel that does not exist (c does not feed the map, or the map is past
      // the last) reads weight 0 and multiplies by zeros.
      products.push(
        connectionTable
          ? `    let k${m} = select(-1i, kKernel[min(o0 + ${m}u, kOutChannels - 1u) * kInChannels + c], o0 + ${m}u < kOutChannels);`
          : `    let k${m} = select(-1i, i32((o0 + ${m}u) * kInChannels + c), o0 + ${m}u < kOutChannels);`,
      );
      products.push(`    let w${m} = u32(max(k${m}, 0i)) * 25u;`);
      products.push(`    let use${m} = k${m} >= 0i;`);
      for (let t = 0; t < 25; t++) products.push(`    let w${m}_${t} = select(0.0, weight[w${m} + ${t}u], use${m});`);
      for (let r = 0; r < R; r++) {
        for (let s = 0; s < S; s++) {
          let sum = acc(m, r, s);
          for (let t = 0; t < 25; t++) sum = `fma(w${m}_${t}, x${r + Math.floor(t / 5)}_${s + (t % 5)}, ${sum})`;
          products.push(`    ${acc(m, r, s)} = ${sum};`);
        }
      }
    }
  }
  // A whole block stores straight-line; a block past the last map, row or column checks each value.
  const store = (m: number, r: number, s: number, guard: boolean) => {
    const at = `((n * kOutChannels + o0 + ${m}u) * ${outSize}u + u32(y0) + ${r}u) * ${outSize}u + u32(x0) + ${s}u`;
    const value = `output[${at}] = ${acc(m, r, s)};`;
    return guard ? `    if (o0 + ${m}u < kOutChannels && y0 + ${r}i < kOutSize && x0 + ${s}i < kOutSize) { ${value} }` : `    ${value}`;
  };
  // Bias and activation in a loop (one call of activate, not one per value: see the patch).
  stores.push(`  for (var j = 0u; j < ${M * R * S}u; j++) {`);
  stores.push(`    acc[j] = activate(acc[j] + bias[min(o0 + j / ${R * S}u, kOutChannels - 1u)]);`);
  stores.push('  }');
  for (const guard of [false, true]) {
    stores.push(guard ? '  } else {' : `  if (o0 + ${M}u <= kOutChannels && y0 + ${R}i <= kOutSize && x0 + ${S}i <= kOutSize) {`);
    for (let m = 0; m < M; m++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) stores.push(store(m, r, s, guard));
  }
  stores.push('  }');

  const code = wgsl`
${batchAndIndexWgsl(blocking.workgroupSize)}
${activationWgsl(activation)}

const kInChannels = ${inChannels}u;
const kOutChannels = ${outChannels}u;
const kInSize = ${inSize}i;
const kOutSize = ${outSize}i;
const kRowBlocks = ${rowBlocks}u;
const kColumnBlocks = ${columnBlocks}u;
const kBlocksPerImage = ${perImage}u;

#if ${connectionTable !== undefined}
const kKernel = array<i32, ${kernelOf.length}>(${kernelOf.map((v) => `${v}i`).join(', ')});
#endif

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32, ${kernelCount * 25}>;
@group(0) @binding(3) var<storage, read> bias: array<f32, ${outChannels}>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = flatIndex(workgroup, workgroups, local);
  if (i >= batch.count * kBlocksPerImage) { return; }
  let n = i / kBlocksPerImage;
  let block = i % kBlocksPerImage;
  let o0 = (block / (kRowBlocks * kColumnBlocks)) * ${M}u;
  let y0 = i32((block / kColumnBlocks) % kRowBlocks) * ${R}i;
  let x0 = i32(block % kColumnBlocks) * ${S}i;
${accumulators.join('\n')}
#if ${blocking.unrolled}
${products.join('\n')}
#else
  for (var c = 0u; c < kInChannels; c++) {
    let base = (n * kInChannels + c) * u32(kInSize * kInSize);
${patch.join('\n')}
${products.join('\n')}
  }
#endif
${stores.join('\n')}
}
`;
  return { code, blocking, workgroups: (count) => dispatchSize(count * perImage, blocking.workgroupSize) };
}
