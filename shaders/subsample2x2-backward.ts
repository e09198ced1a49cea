/**
 * Backward of 2×2 stride-2 pooling (shaders/subsample2x2.ts), from preGrad = dLoss/d(pooled
 * pre-activation) [N, channels, outSize, outSize] and the layer's kept input [N, channels,
 * inSize, inSize]. CPU references: `subsampleBackward` and `maxPoolBackward`
 * (src/train/layers.ts).
 *
 * - input gradient, one invocation per window (n, c, y, x), writing its four inputs: average
 *   0.25 · preGrad; trainable coefficient[c] · preGrad; max preGrad where the element is the
 *   window's first maximum (row-major, as PyTorch's max_pool2d keeps it) and 0 elsewhere. The
 *   argmax is re-read from the kept input, so the forward kernel need not store it. A trailing
 *   odd row or column (dropped by the forward pass) gets 0.
 * - trainable mode's coefficient and bias gradients, one workgroup per map c: sums over n, y, x
 *   of preGrad · (window sum) and of preGrad (deterministic reductions, elementwise.ts).
 */
import type { PoolMode } from '../src/model/spec.js';
import { elementwiseDispatch, elementwiseKernel, reductionDispatch, reductionKernel, type TrainKernel } from './elementwise.js';

export interface Subsample2x2BackwardOptions {
  readonly channels: number;
  readonly inSize: number;
  readonly mode: PoolMode;
}

function constants(options: Subsample2x2BackwardOptions): string {
  if (options.inSize < 2) throw new RangeError(`subsample2x2 backward needs an input of at least 2×2, found ${options.inSize}`);
  return `
const kChannels = ${options.channels}u;
const kInSize = ${options.inSize}u;
const kOutSize = ${Math.floor(options.inSize / 2)}u;`;
}

/**
 * Input gradient, one invocation per window (n, c, y, x): it loads the window's gradient once
 * and writes the window's four input gradients (and, for an odd input, the zeros of the
 * trailing row and column the window borders). Bindings: 0 step uniform, 1 preGrad,
 * 2 inputGrad, then for max 3 input, for trainable 3 coefficient.
 *
 * @example
 * const kernel = subsample2x2BackwardInput({ channels: 6, inSize: 28, mode: 'max' });
 */
export function subsample2x2BackwardInput(options: Subsample2x2BackwardOptions): TrainKernel {
  const { channels, inSize, mode } = options;
  const outSize = Math.floor(inSize / 2);
  const windows = channels * outSize * outSize;
  const extra =
    mode === 'max'
      ? '@group(0) @binding(3) var<storage, read> input: array<f32>;'
      : mode === 'trainable'
        ? '@group(0) @binding(3) var<storage, read> coefficient: array<f32>;'
        : '';
  // Max: the first maximum in row-major order takes the gradient (PyTorch's max_pool2d), the
  // comparisons straight-line (a loop over a private array of indices was a gather per step).
  const values =
    mode === 'max'
      ? `  let a = input[top];
  let b = input[top + 1u];
  let e = input[top + kInSize];
  let f = input[top + kInSize + 1u];
  // The first maximum: a wins its ties, then b (only when a lost), then e, else f.
  let pickA = a >= b && a >= e && a >= f;
  let pickB = !pickA && b >= e && b >= f;
  let pickE = !pickA && !pickB && e >= f;
  let pickF = !pickA && !pickB && !pickE;
  let va = select(0.0, d, pickA);
  let vb = select(0.0, d, pickB);
  let ve = select(0.0, d, pickE);
  let vf = select(0.0, d, pickF);`
      : `  let v = ${mode === 'trainable' ? 'd * coefficient[c]' : 'd * 0.25'};
  let va = v;
  let vb = v;
  let ve = v;
  let vf = v;`;
  const odd = inSize % 2 === 1;
  const code = elementwiseKernel({
    count: `step.count * ${windows}u`,
    declarations: `${constants(options)}

@group(0) @binding(1) var<storage, read> preGrad: array<f32>;
@group(0) @binding(2) var<storage, read_write> inputGrad: array<f32>;
${extra}`,
    body: `
  let plane = i / (kOutSize * kOutSize);
  let c = plane % kChannels;
  let y = (i / kOutSize) % kOutSize;
  let x = i % kOutSize;
  let d = preGrad[i];
  let top = (plane * kInSize + 2u * y) * kInSize + 2u * x;
${values}
  inputGrad[top] = va;
  inputGrad[top + 1u] = vb;
  inputGrad[top + kInSize] = ve;
  inputGrad[top + kInSize + 1u] = vf;
${
  odd
    ? `  // The trailing row and column the forward pass dropped take no gradient.
  if (x == kOutSize - 1u) {
    inputGrad[top + 2u] = 0.0;
    inputGrad[top + kInSize + 2u] = 0.0;
  }
  if (y == kOutSize - 1u) {
    inputGrad[top + 2u * kInSize] = 0.0;
    inputGrad[top + 2u * kInSize + 1u] = 0.0;
    if (x == kOutSize - 1u) { inputGrad[top + 2u * kInSize + 2u] = 0.0; }
  }`
    : ''
}`,
  });
  return { kernel: 'subsample2x2-backward-input', options, code, workgroups: (count) => elementwiseDispatch(count * windows) };
}

/**
 * The trainable mode's coefficient gradient (`which: 'coefficient'`, bindings 1 input,
 * 2 preGrad, 3 grad) or bias gradient (`which: 'bias'`, bindings 1 preGrad, 2 grad).
 *
 * @example
 * const kernel = subsample2x2BackwardParameter({ channels: 6, inSize: 28, mode: 'trainable' }, 'coefficient');
 */
export function subsample2x2BackwardParameter(options: Subsample2x2BackwardOptions, which: 'coefficient' | 'bias'): TrainKernel {
  if (options.mode !== 'trainable') throw new RangeError(`only trainable subsampling has parameters, found mode '${options.mode}'`);
  const outSize = Math.floor(options.inSize / 2);
  const bindings =
    which === 'coefficient'
      ? `@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> preGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;`
      : `@group(0) @binding(1) var<storage, read> preGrad: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;`;
  const factor =
    which === 'coefficient'
      ? `
  let top = (plane * kInSize + 2u * y) * kInSize + 2u * x;
  return d * (input[top] + input[top + 1u] + input[top + kInSize] + input[top + kInSize + 1u]);`
      : `
  return d;`;
  const code = reductionKernel({
    outputs: options.channels,
    terms: `step.count * ${outSize * outSize}u`,
    declarations: `${constants(options)}
${bindings}

fn term(c: u32, t: u32) -> f32 {
  let n = t / (kOutSize * kOutSize);
  let y = (t / kOutSize) % kOutSize;
  let x = t % kOutSize;
  let plane = n * kChannels + c;
  let d = preGrad[(plane * kOutSize + y) * kOutSize + x];${factor}
}`,
    store: 'grad[o] = total;',
  });
  return { kernel: `subsample2x2-backward-${which}`, options, code, workgroups: () => reductionDispatch(options.channels) };
}
