/**
 * Backward of the 5×5 convolution (shaders/conv5x5.ts), from preGrad = dLoss/d(pre-activation
 * output) [N, outChannels, outSize, outSize] and the layer's kept input [N, inChannels,
 * inSize, inSize]. CPU reference: `convBackward` (src/train/layers.ts).
 *
 * - Input gradient: a forward convolution. inputGrad[n, c] = Σ over the maps o that read c of
 *   preGrad[n, o] correlated with kernel (o, c) turned by 180°, preGrad padded by 4 − padding:
 *   so `conv5x5FlipWeights` lays the kernels out turned and transposed (input map major) and
 *   the forward generator runs with `conv5x5InputGradientConv`'s options, with its blocks of
 *   outputs sharing loads (several maps and columns per invocation) and its zero-padding reads.
 * - Weight gradient, in two deterministic passes: `conv5x5BackwardWeightPartial`, one
 *   invocation per (image n, kernel k, kernel row ky), sums image n's five taps (ky, 0 … 4)
 *   over the output rows with the row written out (each preGrad and input value of the row
 *   loaded once for five multiply-adds), into partial[n, k, 25]; then `batchSum` adds the
 *   images' partials in image order (elementwise.ts). For CPU implementations
 *   ('cpu-unrolled'), `conv5x5BackwardWeightRows` takes every kernel of one image over a pair
 *   of output rows, written out, and `batchSum` adds its partials image by image, row pair by
 *   row pair.
 * - Bias gradient: `conv5x5BackwardBiasPartial` sums each (n, o) map, then `batchSum`.
 * No atomics, no workgroup trees: the same inputs give the same bits on every run, and the
 * work per invocation is a few hundred multiply-adds, which suits SwiftShader's lanes
 * (docs/performance.md) as well as a GPU's thousands of threads (N · kernels · 5 of them).
 *
 * Connection tables go in as WGSL constants: each kernel's (output, input) pair, read once per
 * invocation. A dense conv computes them from the indices instead: a constant array indexed at
 * run time is copied per invocation by some compilers, which made Caffe's 1,000-kernel conv 10×
 * slower.
 */
import { connectionOffsets, convKernelCount, denseTable } from '../src/model/spec.js';
import { kMaxUnrolledMultiplyAdds, type Conv5x5Options, type KernelTarget } from './conv5x5.js';
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

export interface Conv5x5BackwardOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inSize: number;
  readonly padding: number;
  /** For each output map, the ascending input maps feeding it; absent = every input map. */
  readonly connectionTable?: ReadonlyArray<ReadonlyArray<number>>;
}

function u32Array(values: readonly number[]): string {
  return `array<u32, ${Math.max(1, values.length)}>(${(values.length ? values : [0]).map((v) => `${v}u`).join(', ')})`;
}

/** The geometry every conv backward kernel shares. */
function geometry(options: Conv5x5BackwardOptions): { outSize: number; table: ReadonlyArray<ReadonlyArray<number>>; kernels: number } {
  const { inChannels, outChannels, inSize, padding } = options;
  const outSize = inSize + 2 * padding - 4;
  if (outSize < 1) throw new RangeError(`conv5x5 backward: input ${inSize}×${inSize} with padding ${padding} gives no output`);
  if (padding > 4) throw new RangeError(`conv5x5 backward: padding ${padding} is more than a 5×5 kernel's 4`);
  const table = options.connectionTable ?? denseTable(inChannels, outChannels);
  return { outSize, table, kernels: convKernelCount(inChannels, outChannels, options.connectionTable) };
}

/** For each input map, the ascending output maps that read it (the table turned around). */
function readersOf(options: Conv5x5BackwardOptions, table: ReadonlyArray<ReadonlyArray<number>>): number[][] {
  const readers: number[][] = Array.from({ length: options.inChannels }, () => []);
  table.forEach((inputs, o) => inputs.forEach((c) => readers[c]!.push(o)));
  return readers;
}

/**
 * The forward conv (shaders/conv5x5.ts) that computes the input gradient: it reads preGrad
 * [N, outChannels, outSize²] padded by 4 − padding, the kernels from `conv5x5FlipWeights`
 * (binding 2) and a zero bias of inChannels values (binding 3), and writes [N, inChannels, inSize²].
 *
 * @example
 * const { code, workgroups } = conv5x5(conv5x5InputGradientConv({ inChannels: 6, outChannels: 16, inSize: 14, padding: 0 }, 'gpu'));
 */
export function conv5x5InputGradientConv(options: Conv5x5BackwardOptions, target: KernelTarget): Conv5x5Options {
  const { outSize, table } = geometry(options);
  return {
    inChannels: options.outChannels,
    outChannels: options.inChannels,
    inSize: outSize,
    padding: 4 - options.padding,
    ...(options.connectionTable ? { connectionTable: readersOf(options, table) } : {}),
    activation: 'none',
    target,
  };
}

/**
 * The kernels turned by 180° and laid out for `conv5x5InputGradientConv`: kernel (c, o) of
 * the turned conv, input map c major and its readers o ascending, is kernel (o, c) of the
 * layer read backwards. Bindings: 0 step uniform, 1 weight, 2 turned weights (same length).
 *
 * @example
 * const kernel = conv5x5FlipWeights({ inChannels: 6, outChannels: 16, inSize: 14, padding: 0 });
 */
export function conv5x5FlipWeights(options: Conv5x5BackwardOptions): TrainKernel {
  const { table, kernels } = geometry(options);
  const offsets = connectionOffsets(table);
  const source = readersOf(options, table).flatMap((readers, c) => readers.map((o) => offsets[o]! + table[o]!.indexOf(c)));
  const code = elementwiseKernel({
    count: `${kernels * 25}u`,
    declarations: `
const kInChannels = ${options.inChannels}u;
const kOutChannels = ${options.outChannels}u;
${
  options.connectionTable
    ? `const kSource = ${u32Array(source)};
fn sourceKernel(k: u32) -> u32 { return kSource[k]; }`
    : `// Turned kernel k = c · outChannels + o is the layer's kernel o · inChannels + c.
fn sourceKernel(k: u32) -> u32 { return (k % kOutChannels) * kInChannels + k / kOutChannels; }`
}

@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> turned: array<f32>;`,
    body: `
  _ = step.count; // binding 0 in the layout, as in every training kernel
  turned[i] = weight[sourceKernel(i / 25u) * 25u + 24u - i % 25u];`,
  });
  return { kernel: 'conv5x5-flip-weights', options, code, workgroups: () => elementwiseDispatch(kernels * 25) };
}

/**
 * Image n's share of the weight gradient: partial[n, k, ky · 5 + kx] = Σ over y, x of
 * preGrad[n, o(k), y, x] · input[n, c(k), y + ky − padding, x + kx − padding], one invocation
 * per (n, k, ky). Bindings: 0 step uniform, 1 input, 2 preGrad, 3 partial [N, kernels · 25].
 *
 * @example
 * const kernel = conv5x5BackwardWeightPartial({ inChannels: 1, outChannels: 6, inSize: 28, padding: 2 });
 */
export function conv5x5BackwardWeightPartial(options: Conv5x5BackwardOptions): TrainKernel {
  const { inChannels, outChannels, inSize, padding } = options;
  const { outSize, table, kernels } = geometry(options);
  // One output row against one input row, written out: every value loaded once, the five
  // taps' sums in registers. Input columns outside the map are padding (zero): left out.
  const loads: string[] = [];
  for (let x = 0; x < outSize; x++) loads.push(`    let g${x} = preGrad[g + ${x}u];`);
  const used = new Set<number>();
  const sums: string[] = [];
  for (let kx = 0; kx < 5; kx++) {
    let sum = `acc[${kx}]`;
    for (let x = 0; x < outSize; x++) {
      const j = x + kx - padding;
      if (j < 0 || j >= inSize) continue;
      used.add(j);
      sum = `fma(g${x}, x${j}, ${sum})`;
    }
    sums.push(`    acc[${kx}] = ${sum};`);
  }
  for (const j of [...used].sort((a, b) => a - b)) loads.push(`    let x${j} = input[r + ${j}u];`);
  const code = elementwiseKernel({
    count: `step.count * ${kernels * 5}u`,
    declarations: `
const kInChannels = ${inChannels}u;
const kOutChannels = ${outChannels}u;
const kInSize = ${inSize}i;
const kOutSize = ${outSize}i;
const kPadding = ${padding}i;
const kKernels = ${kernels}u;
${
  options.connectionTable
    ? `const kKernelOutput = ${u32Array(table.flatMap((inputs, o) => inputs.map(() => o)))};
const kKernelInput = ${u32Array(table.flat())};
fn kernelOutput(k: u32) -> u32 { return kKernelOutput[k]; }
fn kernelInput(k: u32) -> u32 { return kKernelInput[k]; }`
    : `fn kernelOutput(k: u32) -> u32 { return k / kInChannels; }
fn kernelInput(k: u32) -> u32 { return k % kInChannels; }`
}

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;`,
    body: `
  let n = i / ${kernels * 5}u;
  let k = (i / 5u) % kKernels;
  let ky = i32(i % 5u);
  let gBase = (n * kOutChannels + kernelOutput(k)) * ${outSize * outSize}u;
  let inBase = (n * kInChannels + kernelInput(k)) * ${inSize * inSize}u;
  var acc: array<f32, 5>;
  for (var y = 0i; y < kOutSize; y++) {
    let iy = y + ky - kPadding;
    if (iy < 0i || iy >= kInSize) { continue; }
    let g = gBase + u32(y * kOutSize);
    let r = inBase + u32(iy * kInSize);
${loads.join('\n')}
${sums.join('\n')}
  }
  let at = (n * kKernels + k) * 25u + u32(ky) * 5u;
  for (var kx = 0u; kx < 5u; kx++) {
    partial[at + kx] = acc[kx];
  }`,
  });
  return { kernel: 'conv5x5-backward-weight-partial', options, code, workgroups: (count) => elementwiseDispatch(count * kernels * 5) };
}

/** Output rows per invocation of `conv5x5BackwardWeightRows`. */
const kWeightRowsPerGroup = 2;

/**
 * Row groups per image of `conv5x5BackwardWeightRows` (its partials per image).
 *
 * @example
 * conv5x5WeightRowGroups({ inChannels: 6, outChannels: 16, inSize: 14, padding: 0 }); // 5
 */
export function conv5x5WeightRowGroups(options: Conv5x5BackwardOptions): number {
  return Math.ceil(geometry(options).outSize / kWeightRowsPerGroup);
}

/**
 * Row groups per image of the weight gradient's partials on a target: those of
 * `conv5x5BackwardWeightRows` where 'cpu-unrolled' writes it out (kernels × 25 taps × output
 * columns within `kMaxUnrolledMultiplyAdds`), else 0: the per-(image, kernel, kernel row)
 * `conv5x5BackwardWeightPartial`.
 *
 * @example
 * conv5x5WrittenOutWeightRows({ inChannels: 1, outChannels: 6, inSize: 32, padding: 0 }, 'cpu-unrolled'); // 14
 */
export function conv5x5WrittenOutWeightRows(options: Conv5x5BackwardOptions, target: KernelTarget): number {
  const { outSize, kernels } = geometry(options);
  return target === 'cpu-unrolled' && kernels * 25 * outSize <= kMaxUnrolledMultiplyAdds ? conv5x5WeightRowGroups(options) : 0;
}

/**
 * The weight gradient's partials written out for CPU implementations ('cpu-unrolled'): one
 * invocation per (image n, group g of 2 output rows) sums every kernel's 25 taps over its rows,
 * partial[n · G + g, k, ky · 5 + kx] = Σ over its rows y and every x of preGrad[n, o(k), y, x] ·
 * input[n, c(k), y + ky − padding, x + kx − padding]; `batchSum` with `rowsPerImage: G` then adds
 * them in order (image, then row group). For each row it loads each output map's preGrad row
 * and each input map's five input rows once, and every product at an offset known when the
 * shader compiles: ~25 multiply-adds a load, where the (n, k, ky) kernel makes 2 (on
 * SwiftShader every load at a computed index is a lane-by-lane gather; docs/performance.md).
 * Bindings: 0 step uniform, 1 input, 2 preGrad, 3 partial [N · G, kernels · 25].
 *
 * @example
 * const kernel = conv5x5BackwardWeightRows({ inChannels: 6, outChannels: 16, inSize: 14, padding: 0 });
 */
export function conv5x5BackwardWeightRows(options: Conv5x5BackwardOptions): TrainKernel {
  const { inChannels, outChannels, inSize, padding } = options;
  const { outSize, table, kernels } = geometry(options);
  const groups = conv5x5WeightRowGroups(options);
  const offsets = connectionOffsets(table);
  const body: string[] = [];
  for (let ky = 0; ky < 5; ky++) {
    // Rows past the map's edge are padding: read clamped, taken as zero.
    body.push(`    let inRow${ky} = u32(y + ${ky - padding}i) < u32(kInSize);`);
    body.push(`    let row${ky} = u32(clamp(y + ${ky - padding}i, 0i, kInSize - 1i) * kInSize);`);
  }
  for (let o = 0; o < outChannels; o++) {
    if (table[o]!.length === 0) continue;
    body.push(`    let g${o}Base = (n * kOutChannels + ${o}u) * ${outSize * outSize}u + u32(y) * ${outSize}u;`);
    for (let x = 0; x < outSize; x++) body.push(`    let g${o}_${x} = preGrad[g${o}Base + ${x}u];`);
  }
  for (let c = 0; c < inChannels; c++) {
    const readers = table.flatMap((inputs, o) => (inputs.includes(c) ? [o] : []));
    if (readers.length === 0) continue;
    body.push('    {');
    body.push(`      let base = (n * kInChannels + ${c}u) * ${inSize * inSize}u;`);
    // Columns a tap reads: x + kx − padding inside the map (the rest is padding: left out).
    for (let ky = 0; ky < 5; ky++) {
      for (let j = 0; j < inSize; j++) body.push(`      let x${ky}_${j} = select(0.0, input[base + row${ky} + ${j}u], inRow${ky});`);
    }
    for (const o of readers) {
      const k = offsets[o]! + table[o]!.indexOf(c);
      for (let ky = 0; ky < 5; ky++) {
        for (let kx = 0; kx < 5; kx++) {
          const at = k * 25 + ky * 5 + kx;
          let sum = `acc[${at}]`;
          for (let x = 0; x < outSize; x++) {
            const j = x + kx - padding;
            if (j >= 0 && j < inSize) sum = `fma(g${o}_${x}, x${ky}_${j}, ${sum})`;
          }
          body.push(`      acc[${at}] = ${sum};`);
        }
      }
    }
    body.push('    }');
  }
  const code = elementwiseKernel({
    count: `step.count * ${groups}u`,
    declarations: `
const kInChannels = ${inChannels}u;
const kOutChannels = ${outChannels}u;
const kInSize = ${inSize}i;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;`,
    body: `
  let n = i / ${groups}u;
  let first = i32(i % ${groups}u) * ${kWeightRowsPerGroup}i;
  var acc: array<f32, ${kernels * 25}>;
  for (var y = first; y < min(first + ${kWeightRowsPerGroup}i, ${outSize}i); y++) {
${body.join('\n')}
  }
  for (var j = 0u; j < ${kernels * 25}u; j++) {
    partial[i * ${kernels * 25}u + j] = acc[j];
  }`,
  });
  return { kernel: 'conv5x5-backward-weight-rows', options, code, workgroups: (count) => elementwiseDispatch(count * groups) };
}

/**
 * Image n's share of the bias gradient: partial[n, o] = Σ preGrad[n, o, ·, ·], one invocation
 * per (n, o). Bindings: 0 step uniform, 1 preGrad, 2 partial [N, outChannels].
 *
 * @example
 * const kernel = conv5x5BackwardBiasPartial({ inChannels: 1, outChannels: 6, inSize: 28, padding: 2 });
 */
export function conv5x5BackwardBiasPartial(options: Conv5x5BackwardOptions): TrainKernel {
  const { outSize } = geometry(options);
  const plane = outSize * outSize;
  const code = elementwiseKernel({
    count: `step.count * ${options.outChannels}u`,
    declarations: `
@group(0) @binding(1) var<storage, read> preGrad: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;`,
    body: `
  let base = i * ${plane}u;
  var sum = 0.0;
  for (var p = 0u; p < ${plane}u; p++) {
    sum += preGrad[base + p];
  }
  partial[i] = sum;`,
  });
  return { kernel: 'conv5x5-backward-bias-partial', options, code, workgroups: (count) => elementwiseDispatch(count * options.outChannels) };
}
