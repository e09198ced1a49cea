/**
 * Backward of the 5×5 convolution (shaders/conv5x5.ts), from preGrad = dLoss/d(pre-activation
 * output) [N, outChannels, outSize, outSize] and the layer's kept input [N, inChannels,
 * inSize, inSize]. CPU reference: `convBackward` (src/train/layers.ts).
 *
 * Three kernels:
 * - input gradient, one invocation per input element (n, c, iy, ix):
 *     Σ over the maps o that read c, and over ky, kx with y = iy + padding − ky and
 *     x = ix + padding − kx inside the output, of weight[kernel(o, c), ky, kx] · preGrad[n, o, y, x];
 * - weight gradient, one workgroup per weight (kernel k, ky, kx): the sum over n, y, x of
 *     preGrad[n, o(k), y, x] · input[n, c(k), y + ky − padding, x + kx − padding];
 * - bias gradient, one workgroup per map o: the sum of preGrad[n, o, ·, ·].
 * The two gradient sums are workgroup reductions (elementwise.ts): deterministic, no atomics.
 *
 * Connection tables go in as WGSL constants, both ways: each kernel's (output, input) pair for
 * the weight gradient, and each input map's (output, kernel) pairs for the input gradient. A
 * dense conv computes both from the indices instead: a constant array indexed at run time is
 * copied per invocation by some compilers, which made Caffe's 1,000-kernel conv 10× slower.
 */
import { connectionOffsets, denseTable } from '../src/model/spec.js';
import { elementwiseDispatch, elementwiseKernel, reductionDispatch, reductionKernel, type TrainKernel } from './elementwise.js';

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

/** The geometry constants every conv backward kernel shares. */
function geometry(options: Conv5x5BackwardOptions): { outSize: number; kernels: number; constants: string } {
  const { inChannels, outChannels, inSize, padding } = options;
  const outSize = inSize + 2 * padding - 4;
  if (outSize < 1) throw new RangeError(`conv5x5 backward: input ${inSize}×${inSize} with padding ${padding} gives no output`);
  const table = options.connectionTable ?? denseTable(inChannels, outChannels);
  const kernels = table.reduce((s, t) => s + t.length, 0);
  const constants = `
const kInChannels = ${inChannels}u;
const kOutChannels = ${outChannels}u;
const kInSize = ${inSize}i;
const kOutSize = ${outSize}i;
const kPadding = ${padding}i;
const kKernels = ${kernels}u;`;
  return { outSize, kernels, constants };
}

/**
 * Input gradient. Bindings: 0 step uniform, 1 weight, 2 preGrad, 3 inputGrad.
 *
 * @example
 * const kernel = conv5x5BackwardInput({ inChannels: 6, outChannels: 16, inSize: 14, padding: 0 });
 */
export function conv5x5BackwardInput(options: Conv5x5BackwardOptions): TrainKernel {
  const { inChannels, outChannels, inSize } = options;
  const { constants } = geometry(options);
  const table = options.connectionTable ?? denseTable(inChannels, outChannels);
  const offsets = connectionOffsets(table);
  // For each input map, the (output map, kernel index) pairs that read it.
  const readers: Array<Array<[number, number]>> = Array.from({ length: inChannels }, () => []);
  table.forEach((inputs, o) => inputs.forEach((c, j) => readers[c]!.push([o, offsets[o]! + j])));
  const start = [0];
  for (const list of readers) start.push(start[start.length - 1]! + list.length);
  const perImage = inChannels * inSize * inSize;
  const code = elementwiseKernel({
    count: `step.count * ${perImage}u`,
    declarations: `${constants}
${
  options.connectionTable
    ? `const kReaderStart = ${u32Array(start)};
const kReaderOutput = ${u32Array(readers.flat().map(([o]) => o))};
const kReaderKernel = ${u32Array(readers.flat().map(([, k]) => k))};
fn readerStart(c: u32) -> u32 { return kReaderStart[c]; }
fn readerOutput(r: u32) -> u32 { return kReaderOutput[r]; }
fn readerKernel(r: u32) -> u32 { return kReaderKernel[r]; }`
    : `// Every output map reads every input: reader r of map c is output r − c · outChannels.
fn readerStart(c: u32) -> u32 { return c * kOutChannels; }
fn readerOutput(r: u32) -> u32 { return r % kOutChannels; }
fn readerKernel(r: u32) -> u32 { return (r % kOutChannels) * kInChannels + r / kOutChannels; }`
}

@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> inputGrad: array<f32>;`,
    body: `
  let plane = u32(kInSize * kInSize);
  let n = i / (kInChannels * plane);
  let c = (i / plane) % kInChannels;
  let iy = i32((i / u32(kInSize)) % u32(kInSize));
  let ix = i32(i % u32(kInSize));
  // The taps whose output position lies inside the map: y = iy + padding − ky ∈ [0, outSize).
  let kyFirst = max(0i, iy + kPadding - kOutSize + 1i);
  let kyEnd = min(5i, iy + kPadding + 1i);
  let kxFirst = max(0i, ix + kPadding - kOutSize + 1i);
  let kxEnd = min(5i, ix + kPadding + 1i);
  var sum = 0.0;
  for (var r = readerStart(c); r < readerStart(c + 1u); r++) {
    let outBase = i32((n * kOutChannels + readerOutput(r)) * u32(kOutSize * kOutSize)) + (iy + kPadding) * kOutSize + ix + kPadding;
    let kernelBase = i32(readerKernel(r) * 25u);
    for (var ky = kyFirst; ky < kyEnd; ky++) {
      for (var kx = kxFirst; kx < kxEnd; kx++) {
        sum += weight[kernelBase + ky * 5i + kx] * preGrad[outBase - ky * kOutSize - kx];
      }
    }
  }
  inputGrad[i] = sum;`,
  });
  return { kernel: 'conv5x5-backward-input', options, code, workgroups: (count) => elementwiseDispatch(count * perImage) };
}

/**
 * Weight gradient (of the batch's summed loss). Bindings: 0 step uniform, 1 input,
 * 2 preGrad, 3 weightGrad.
 *
 * @example
 * const kernel = conv5x5BackwardWeight({ inChannels: 1, outChannels: 6, inSize: 28, padding: 2 });
 */
export function conv5x5BackwardWeight(options: Conv5x5BackwardOptions): TrainKernel {
  const { inChannels, outChannels } = options;
  const { outSize, kernels, constants } = geometry(options);
  const table = options.connectionTable ?? denseTable(inChannels, outChannels);
  const kernelOutput = table.flatMap((inputs, o) => inputs.map(() => o));
  const kernelInput = table.flat();
  const code = reductionKernel({
    outputs: kernels * 25,
    terms: `step.count * ${outSize}u`,
    declarations: `${constants}
${
  options.connectionTable
    ? `const kKernelOutput = ${u32Array(kernelOutput)};
const kKernelInput = ${u32Array(kernelInput)};
fn kernelOutput(k: u32) -> u32 { return kKernelOutput[k]; }
fn kernelInput(k: u32) -> u32 { return kKernelInput[k]; }`
    : `fn kernelOutput(k: u32) -> u32 { return k / kInChannels; }
fn kernelInput(k: u32) -> u32 { return k % kInChannels; }`
}

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> weightGrad: array<f32>;

// Term t is one output row (n, y): the sum over x of preGrad · input along that row.
fn term(w: u32, t: u32) -> f32 {
  let kernel = w / 25u;
  let ky = i32((w / 5u) % 5u);
  let kx = i32(w % 5u);
  let n = t / u32(kOutSize);
  let y = i32(t % u32(kOutSize));
  let iy = y + ky - kPadding;
  if (iy < 0i || iy >= kInSize) { return 0.0; }
  // The x whose input column x + kx − padding lies inside the map.
  let xFirst = max(0i, kPadding - kx);
  let xEnd = min(kOutSize, kInSize + kPadding - kx);
  let outRow = i32((n * kOutChannels + kernelOutput(kernel)) * u32(kOutSize * kOutSize)) + y * kOutSize;
  let inRow = i32(((n * kInChannels + kernelInput(kernel)) * u32(kInSize) + u32(iy)) * u32(kInSize)) + kx - kPadding;
  var sum = 0.0;
  for (var x = xFirst; x < xEnd; x++) {
    sum += preGrad[outRow + x] * input[inRow + x];
  }
  return sum;
}`,
    store: 'weightGrad[o] = total;',
  });
  return { kernel: 'conv5x5-backward-weight', options, code, workgroups: () => reductionDispatch(kernels * 25) };
}

/**
 * Bias gradient. Bindings: 0 step uniform, 1 preGrad, 2 biasGrad.
 *
 * @example
 * const kernel = conv5x5BackwardBias({ inChannels: 1, outChannels: 6, inSize: 28, padding: 2 });
 */
export function conv5x5BackwardBias(options: Conv5x5BackwardOptions): TrainKernel {
  const { outChannels } = options;
  const { outSize, constants } = geometry(options);
  const code = reductionKernel({
    outputs: outChannels,
    terms: `step.count * ${outSize}u`,
    declarations: `${constants}

@group(0) @binding(1) var<storage, read> preGrad: array<f32>;
@group(0) @binding(2) var<storage, read_write> biasGrad: array<f32>;

// Term t is one output row (n, y).
fn term(o: u32, t: u32) -> f32 {
  let n = t / u32(kOutSize);
  let y = t % u32(kOutSize);
  let row = ((n * kOutChannels + o) * u32(kOutSize) + y) * u32(kOutSize);
  var sum = 0.0;
  for (var x = 0u; x < u32(kOutSize); x++) {
    sum += preGrad[row + x];
  }
  return sum;
}`,
    store: 'biasGrad[o] = total;',
  });
  return { kernel: 'conv5x5-backward-bias', options, code, workgroups: () => reductionDispatch(outChannels) };
}
