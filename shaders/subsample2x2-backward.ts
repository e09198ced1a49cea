/**
 * Backward of 2×2 stride-2 pooling (shaders/subsample2x2.ts), from preGrad = dLoss/d(pooled
 * pre-activation) [N, channels, outSize, outSize] and the layer's kept input [N, channels,
 * inSize, inSize]. CPU references: `subsampleBackward` and `maxPoolBackward`
 * (src/train/layers.ts).
 *
 * - input gradient, one invocation per input element (n, c, iy, ix) of window (y, x) =
 *   (iy / 2, ix / 2): average 0.25 · preGrad; trainable coefficient[c] · preGrad; max
 *   preGrad where this element is the window's first maximum (row-major, as PyTorch's
 *   max_pool2d keeps it) and 0 elsewhere. The argmax is re-read from the kept input, so the
 *   forward kernel need not store it. A trailing odd row or column (dropped by the forward
 *   pass) gets 0.
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
 * Input gradient. Bindings: 0 step uniform, 1 preGrad, 2 inputGrad, then for max 3 input,
 * for trainable 3 coefficient.
 *
 * @example
 * const kernel = subsample2x2BackwardInput({ channels: 6, inSize: 28, mode: 'max' });
 */
export function subsample2x2BackwardInput(options: Subsample2x2BackwardOptions): TrainKernel {
  const { channels, inSize, mode } = options;
  const perImage = channels * inSize * inSize;
  const extra =
    mode === 'max'
      ? '@group(0) @binding(3) var<storage, read> input: array<f32>;'
      : mode === 'trainable'
        ? '@group(0) @binding(3) var<storage, read> coefficient: array<f32>;'
        : '';
  const scale = mode === 'trainable' ? 'd * coefficient[c]' : 'd * 0.25';
  const code = elementwiseKernel({
    count: `step.count * ${perImage}u`,
    declarations: `${constants(options)}

@group(0) @binding(1) var<storage, read> preGrad: array<f32>;
@group(0) @binding(2) var<storage, read_write> inputGrad: array<f32>;
${extra}`,
    body: `
  let plane = i / (kInSize * kInSize);
  let c = plane % kChannels;
  let iy = (i / kInSize) % kInSize;
  let ix = i % kInSize;
  let y = iy / 2u;
  let x = ix / 2u;
  if (y >= kOutSize || x >= kOutSize) {
    inputGrad[i] = 0.0;
    return;
  }
  let d = preGrad[(plane * kOutSize + y) * kOutSize + x];
${
  mode === 'max'
    ? `  let top = (plane * kInSize + 2u * y) * kInSize + 2u * x;
  let window = array<u32, 4>(top, top + 1u, top + kInSize, top + kInSize + 1u);
  var argmax = 0u;
  for (var k = 1u; k < 4u; k++) {
    if (input[window[k]] > input[window[argmax]]) { argmax = k; }
  }
  inputGrad[i] = select(0.0, d, window[argmax] == i);`
    : `  inputGrad[i] = ${scale};`
}`,
  });
  return { kernel: 'subsample2x2-backward-input', options, code, workgroups: (count) => elementwiseDispatch(count * perImage) };
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
