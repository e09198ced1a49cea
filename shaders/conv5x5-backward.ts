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
 * the weight gradient, and each input map's (output, kernel) pairs for the input gradient.
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
const kReaderStart = ${u32Array(start)};
const kReaderOutput = ${u32Array(readers.flat().map(([o]) => o))};
const kReaderKernel = ${u32Array(readers.flat().map(([, k]) => k))};

@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> inputGrad: array<f32>;`,
    body: `
  let plane = u32(kInSize * kInSize);
  let n = i / (kInChannels * plane);
  let c = (i / plane) % kInChannels;
  let iy = i32((i / u32(kInSize)) % u32(kInSize));
  let ix = i32(i % u32(kInSize));
  var sum = 0.0;
  for (var r = kReaderStart[c]; r < kReaderStart[c + 1u]; r++) {
    let o = kReaderOutput[r];
    let kernel = kReaderKernel[r];
    let outBase = (n * kOutChannels + o) * u32(kOutSize * kOutSize);
    for (var ky = 0i; ky < 5i; ky++) {
      let y = iy + kPadding - ky;
      if (y < 0i || y >= kOutSize) { continue; }
      for (var kx = 0i; kx < 5i; kx++) {
        let x = ix + kPadding - kx;
        if (x < 0i || x >= kOutSize) { continue; }
        sum += weight[kernel * 25u + u32(ky * 5i + kx)] * preGrad[outBase + u32(y * kOutSize + x)];
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
    terms: `step.count * ${outSize * outSize}u`,
    declarations: `${constants}
const kKernelOutput = ${u32Array(kernelOutput)};
const kKernelInput = ${u32Array(kernelInput)};

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> weightGrad: array<f32>;

fn term(w: u32, t: u32) -> f32 {
  let kernel = w / 25u;
  let ky = i32((w / 5u) % 5u);
  let kx = i32(w % 5u);
  let outPlane = u32(kOutSize * kOutSize);
  let n = t / outPlane;
  let y = i32((t / u32(kOutSize)) % u32(kOutSize));
  let x = i32(t % u32(kOutSize));
  let iy = y + ky - kPadding;
  let ix = x + kx - kPadding;
  if (iy < 0i || iy >= kInSize || ix < 0i || ix >= kInSize) { return 0.0; }
  let d = preGrad[(n * kOutChannels + kKernelOutput[kernel]) * outPlane + t % outPlane];
  return d * input[((n * kInChannels + kKernelInput[kernel]) * u32(kInSize) + u32(iy)) * u32(kInSize) + u32(ix)];
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
    terms: `step.count * ${outSize * outSize}u`,
    declarations: `${constants}

@group(0) @binding(1) var<storage, read> preGrad: array<f32>;
@group(0) @binding(2) var<storage, read_write> biasGrad: array<f32>;

fn term(o: u32, t: u32) -> f32 {
  let outPlane = u32(kOutSize * kOutSize);
  return preGrad[((t / outPlane) * kOutChannels + o) * outPlane + t % outPlane];
}`,
    store: 'biasGrad[o] = total;',
  });
  return { kernel: 'conv5x5-backward-bias', options, code, workgroups: () => reductionDispatch(outChannels) };
}
