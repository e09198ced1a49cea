/**
 * Forward and backward passes of every LeNet-5 layer for ONE image, over flat Float32Arrays.
 * The trainer runs these per image and accumulates parameter gradients over a mini-batch, so
 * nothing is allocated per image: the caller owns every buffer.
 *
 * Layouts are the model's (src/model/spec.ts): maps [channels, size, size] row-major, conv
 * weights [kernel, 5, 5] (a dense conv is the table in which every output reads every input),
 * dense weights [out, in]. Conv inputs arrive already zero-padded (side inSize + 2·padding),
 * so the hot loops carry no bounds checks.
 */
import { kScaledTanhA, kScaledTanhS, type Activation } from '../model/spec.js';

/** A 5×5 convolution's geometry, with the connection table flattened for the hot loops. */
export interface ConvGeometry {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Side of the padded input. */
  readonly paddedSize: number;
  readonly outSize: number;
  /** For each output map, the input maps that feed it. */
  readonly table: ReadonlyArray<ReadonlyArray<number>>;
  /** For each output map, the index of its first kernel in the weight tensor. */
  readonly kernelStart: readonly number[];
}

/** out[o] = bias[o] + Σ over the table's inputs c of weight[kernel(o, c)] ⋆ input[c]. */
export function convForward(g: ConvGeometry, input: Float32Array, weight: Float32Array, bias: Float32Array, out: Float32Array): void {
  const { paddedSize: ps, outSize: os } = g;
  for (let o = 0; o < g.outChannels; o++) {
    const outBase = o * os * os;
    out.fill(bias[o]!, outBase, outBase + os * os);
    const inputs = g.table[o]!;
    for (let j = 0; j < inputs.length; j++) {
      const inBase = inputs[j]! * ps * ps;
      const kernel = (g.kernelStart[o]! + j) * 25;
      for (let ky = 0; ky < 5; ky++) {
        for (let kx = 0; kx < 5; kx++) {
          const w = weight[kernel + ky * 5 + kx]!;
          for (let y = 0; y < os; y++) {
            const outRow = outBase + y * os;
            const inRow = inBase + (y + ky) * ps + kx;
            for (let x = 0; x < os; x++) out[outRow + x] = out[outRow + x]! + w * input[inRow + x]!;
          }
        }
      }
    }
  }
}

/**
 * Given dPre (the loss gradient at the conv's pre-activation output), accumulates the weight
 * and bias gradients and, when `inputGrad` is given, writes the gradient at the padded input.
 */
export function convBackward(
  g: ConvGeometry,
  input: Float32Array,
  weight: Float32Array,
  dPre: Float32Array,
  weightGrad: Float32Array,
  biasGrad: Float32Array,
  inputGrad: Float32Array | null,
): void {
  const { paddedSize: ps, outSize: os } = g;
  if (inputGrad) inputGrad.fill(0, 0, g.inChannels * ps * ps);
  for (let o = 0; o < g.outChannels; o++) {
    const outBase = o * os * os;
    let biasSum = 0;
    for (let i = outBase; i < outBase + os * os; i++) biasSum += dPre[i]!;
    biasGrad[o] = biasGrad[o]! + biasSum;
    const inputs = g.table[o]!;
    for (let j = 0; j < inputs.length; j++) {
      const inBase = inputs[j]! * ps * ps;
      const kernel = (g.kernelStart[o]! + j) * 25;
      for (let ky = 0; ky < 5; ky++) {
        for (let kx = 0; kx < 5; kx++) {
          const w = weight[kernel + ky * 5 + kx]!;
          let sum = 0;
          for (let y = 0; y < os; y++) {
            const outRow = outBase + y * os;
            const inRow = inBase + (y + ky) * ps + kx;
            for (let x = 0; x < os; x++) sum += dPre[outRow + x]! * input[inRow + x]!;
            if (inputGrad) for (let x = 0; x < os; x++) inputGrad[inRow + x] = inputGrad[inRow + x]! + w * dPre[outRow + x]!;
          }
          weightGrad[kernel + ky * 5 + kx] = weightGrad[kernel + ky * 5 + kx]! + sum;
        }
      }
    }
  }
}

/**
 * 2×2 subsampling, stride 2: out = window sum × coefficient[c] + bias[c] (pre-activation).
 * `windowSums` keeps each window's sum for the coefficient gradient.
 */
export function subsampleForward(
  channels: number,
  inSize: number,
  input: Float32Array,
  coefficient: Float32Array | null,
  bias: Float32Array | null,
  windowSums: Float32Array,
  out: Float32Array,
): void {
  const os = inSize >> 1;
  for (let c = 0; c < channels; c++) {
    const scale = coefficient ? coefficient[c]! : 0.25;
    const shift = bias ? bias[c]! : 0;
    for (let y = 0; y < os; y++) {
      for (let x = 0; x < os; x++) {
        const i = (c * inSize + 2 * y) * inSize + 2 * x;
        const sum = input[i]! + input[i + 1]! + input[i + inSize]! + input[i + inSize + 1]!;
        const o = (c * os + y) * os + x;
        windowSums[o] = sum;
        out[o] = sum * scale + shift;
      }
    }
  }
}

/** Backward of subsampleForward: parameter gradients (trainable form) and the input gradient. */
export function subsampleBackward(
  channels: number,
  inSize: number,
  coefficient: Float32Array | null,
  windowSums: Float32Array,
  dPre: Float32Array,
  coefficientGrad: Float32Array | null,
  biasGrad: Float32Array | null,
  inputGrad: Float32Array | null,
): void {
  const os = inSize >> 1;
  for (let c = 0; c < channels; c++) {
    const scale = coefficient ? coefficient[c]! : 0.25;
    let coefficientSum = 0;
    let biasSum = 0;
    for (let y = 0; y < os; y++) {
      for (let x = 0; x < os; x++) {
        const o = (c * os + y) * os + x;
        const d = dPre[o]!;
        coefficientSum += d * windowSums[o]!;
        biasSum += d;
        if (inputGrad) {
          const i = (c * inSize + 2 * y) * inSize + 2 * x;
          const g = d * scale;
          inputGrad[i] = g;
          inputGrad[i + 1] = g;
          inputGrad[i + inSize] = g;
          inputGrad[i + inSize + 1] = g;
        }
      }
    }
    if (coefficientGrad) coefficientGrad[c] = coefficientGrad[c]! + coefficientSum;
    if (biasGrad) biasGrad[c] = biasGrad[c]! + biasSum;
  }
}

/** out[o] = bias[o] + Σ_i weight[o, i] · input[i] (pre-activation). */
export function denseForward(
  inFeatures: number,
  outFeatures: number,
  input: Float32Array,
  weight: Float32Array,
  bias: Float32Array,
  out: Float32Array,
): void {
  for (let o = 0; o < outFeatures; o++) {
    let sum = bias[o]!;
    const row = o * inFeatures;
    for (let i = 0; i < inFeatures; i++) sum += weight[row + i]! * input[i]!;
    out[o] = sum;
  }
}

/** Backward of denseForward: accumulates weight and bias gradients, writes the input gradient. */
export function denseBackward(
  inFeatures: number,
  outFeatures: number,
  input: Float32Array,
  weight: Float32Array,
  dPre: Float32Array,
  weightGrad: Float32Array,
  biasGrad: Float32Array,
  inputGrad: Float32Array | null,
): void {
  if (inputGrad) inputGrad.fill(0, 0, inFeatures);
  for (let o = 0; o < outFeatures; o++) {
    const d = dPre[o]!;
    biasGrad[o] = biasGrad[o]! + d;
    if (d === 0) continue;
    const row = o * inFeatures;
    for (let i = 0; i < inFeatures; i++) weightGrad[row + i] = weightGrad[row + i]! + d * input[i]!;
    if (inputGrad) for (let i = 0; i < inFeatures; i++) inputGrad[i] = inputGrad[i]! + d * weight[row + i]!;
  }
}

/** Euclidean RBF: out[k] = Σ_j (input[j] − centres[k, j])². */
export function rbfForward(inFeatures: number, classes: number, input: Float32Array, centres: Float32Array, out: Float32Array): void {
  for (let k = 0; k < classes; k++) {
    let sum = 0;
    for (let j = 0; j < inFeatures; j++) {
      const d = input[j]! - centres[k * inFeatures + j]!;
      sum += d * d;
    }
    out[k] = sum;
  }
}

/** Backward of rbfForward: the centres are fixed, so only the input gradient. */
export function rbfBackward(
  inFeatures: number,
  classes: number,
  input: Float32Array,
  centres: Float32Array,
  dOut: Float32Array,
  inputGrad: Float32Array,
): void {
  for (let j = 0; j < inFeatures; j++) {
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += 2 * dOut[k]! * (input[j]! - centres[k * inFeatures + j]!);
    inputGrad[j] = sum;
  }
}

/** Applies the activation in place to the first `length` values. */
export function activateInPlace(activation: Activation, values: Float32Array, length: number): void {
  switch (activation) {
    case 'none':
      return;
    case 'sigmoid':
      for (let i = 0; i < length; i++) values[i] = 1 / (1 + Math.exp(-values[i]!));
      return;
    case 'tanh':
      for (let i = 0; i < length; i++) values[i] = Math.tanh(values[i]!);
      return;
    case 'relu':
      for (let i = 0; i < length; i++) values[i] = Math.max(0, values[i]!);
      return;
    case 'scaled-tanh':
      for (let i = 0; i < length; i++) values[i] = kScaledTanhA * Math.tanh(kScaledTanhS * values[i]!);
      return;
  }
}

/**
 * dPre = dOut · f′, with f′ written in terms of the activation's OUTPUT (what the forward
 * pass kept): sigmoid y(1 − y), tanh 1 − y², ReLU [y > 0], scaled tanh S·(A − y²/A).
 */
export function activationBackward(activation: Activation, output: Float32Array, dOut: Float32Array, dPre: Float32Array, length: number): void {
  switch (activation) {
    case 'none':
      if (dPre !== dOut) dPre.set(dOut.subarray(0, length));
      return;
    case 'sigmoid':
      for (let i = 0; i < length; i++) {
        const y = output[i]!;
        dPre[i] = dOut[i]! * y * (1 - y);
      }
      return;
    case 'tanh':
      for (let i = 0; i < length; i++) {
        const y = output[i]!;
        dPre[i] = dOut[i]! * (1 - y * y);
      }
      return;
    case 'relu':
      for (let i = 0; i < length; i++) dPre[i] = output[i]! > 0 ? dOut[i]! : 0;
      return;
    case 'scaled-tanh':
      for (let i = 0; i < length; i++) {
        const y = output[i]!;
        dPre[i] = dOut[i]! * kScaledTanhS * (kScaledTanhA - (y * y) / kScaledTanhA);
      }
      return;
  }
}

/**
 * Softmax cross-entropy on `scores` (negated first when `negate`, for RBF distances): returns
 * the loss and writes dLoss/dscores into `grad`.
 */
export function softmaxCrossEntropy(scores: Float32Array, classes: number, label: number, negate: boolean, grad: Float32Array): number {
  const sign = negate ? -1 : 1;
  let max = -Infinity;
  for (let k = 0; k < classes; k++) max = Math.max(max, sign * scores[k]!);
  let total = 0;
  for (let k = 0; k < classes; k++) {
    const e = Math.exp(sign * scores[k]! - max);
    grad[k] = e;
    total += e;
  }
  for (let k = 0; k < classes; k++) grad[k] = (sign * grad[k]!) / total - (k === label ? sign : 0);
  return Math.log(total) + max - sign * scores[label]!;
}

/** 2×2 max pooling, stride 2 (a trailing odd row and column dropped). */
export function maxPoolForward(channels: number, inSize: number, input: Float32Array, out: Float32Array): void {
  const os = inSize >> 1;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < os; y++) {
      for (let x = 0; x < os; x++) {
        const i = (c * inSize + 2 * y) * inSize + 2 * x;
        out[(c * os + y) * os + x] = Math.max(input[i]!, input[i + 1]!, input[i + inSize]!, input[i + inSize + 1]!);
      }
    }
  }
}

/**
 * Backward of 2×2 max pooling, stride 2: each window's gradient goes to its first maximum in
 * row-major order (as PyTorch's max_pool2d records it); every other input, and a trailing odd
 * row or column the forward pass dropped, gets 0.
 */
export function maxPoolBackward(channels: number, inSize: number, input: Float32Array, dOut: Float32Array, inputGrad: Float32Array): void {
  const os = inSize >> 1;
  inputGrad.fill(0, 0, channels * inSize * inSize);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < os; y++) {
      for (let x = 0; x < os; x++) {
        const top = (c * inSize + 2 * y) * inSize + 2 * x;
        const window = [top, top + 1, top + inSize, top + inSize + 1];
        let argmax = window[0]!;
        for (const at of window) if (input[at]! > input[argmax]!) argmax = at;
        inputGrad[argmax] = dOut[(c * os + y) * os + x]!;
      }
    }
  }
}
