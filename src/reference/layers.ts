/**
 * CPU reference for every kernel, written for obviousness rather than speed: plain loops,
 * float64 accumulation, NCHW layouts exactly as the shaders read them. The GPU tests compare
 * against these, and the CPU engine (the fallback where WebGPU is missing) runs them.
 */
import {
  connectionOffsets,
  denseTable,
  kScaledTanhA,
  kScaledTanhS,
  type Activation,
  type Conv5x5Layer,
  type DenseLayer,
  type RbfLayer,
  type ScaleShiftLayer,
  type SoftmaxLayer,
  type Subsample2x2Layer,
} from '../model/spec.js';

// The conv table helper moved to the model (the GPU path needs it too); kept importable here.
export { denseTable } from '../model/spec.js';

/** Any float array the references read. */
export type Floats = Float32Array | Float64Array;

/** f(a) for one activation. */
export function activate(activation: Activation, a: number): number {
  switch (activation) {
    case 'none':
      return a;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-a));
    case 'tanh':
      return Math.tanh(a);
    case 'relu':
      return Math.max(0, a);
    case 'scaled-tanh':
      return kScaledTanhA * Math.tanh(kScaledTanhS * a);
  }
}

/** Element-wise activation over a whole array (the standalone activation kernel's reference). */
export function activationReference(activation: Activation, input: Floats): Float64Array {
  return Float64Array.from(input, (a) => activate(activation, a));
}

/**
 * 5×5 convolution, stride 1, zero padding, optional connection table, then the activation.
 * input [count, inChannels, inSize, inSize] → [count, outChannels, outSize, outSize].
 */
export function conv5x5Reference(
  layer: Conv5x5Layer,
  input: Floats,
  count: number,
  weight: Floats,
  bias: Floats,
): Float64Array {
  const { inChannels, outChannels, inSize, outSize, padding } = layer;
  const table = layer.connectionTable ?? denseTable(inChannels, outChannels);
  const kernelStart = connectionOffsets(table);
  const out = new Float64Array(count * outChannels * outSize * outSize);
  for (let n = 0; n < count; n++) {
    for (let o = 0; o < outChannels; o++) {
      for (let y = 0; y < outSize; y++) {
        for (let x = 0; x < outSize; x++) {
          let sum = bias[o]!;
          table[o]!.forEach((c, j) => {
            const kernel = (kernelStart[o]! + j) * 25;
            for (let ky = 0; ky < 5; ky++) {
              for (let kx = 0; kx < 5; kx++) {
                const iy = y + ky - padding;
                const ix = x + kx - padding;
                if (iy < 0 || ix < 0 || iy >= inSize || ix >= inSize) continue;
                sum += weight[kernel + ky * 5 + kx]! * input[((n * inChannels + c) * inSize + iy) * inSize + ix]!;
              }
            }
          });
          out[((n * outChannels + o) * outSize + y) * outSize + x] = activate(layer.activation, sum);
        }
      }
    }
  }
  return out;
}

/**
 * 2×2 pooling, stride 2 (a trailing odd row and column dropped): the window's mean, its
 * maximum, or the paper's trainable form (window sum × coefficient[c] + bias[c]), then the
 * activation. `coefficient` and `bias` are read in the trainable mode only.
 */
export function subsample2x2Reference(
  layer: Subsample2x2Layer,
  input: Floats,
  count: number,
  coefficient?: Floats,
  bias?: Floats,
): Float64Array {
  const { channels, inSize, outSize, mode } = layer;
  if (mode === 'trainable' && (!coefficient || !bias)) throw new RangeError(`${layer.name}: trainable subsampling needs its coefficient and bias`);
  const out = new Float64Array(count * channels * outSize * outSize);
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < outSize; y++) {
        for (let x = 0; x < outSize; x++) {
          const at = (dy: number, dx: number) =>
            input[((n * channels + c) * inSize + 2 * y + dy) * inSize + 2 * x + dx]!;
          const window = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
          const sum = window[0]! + window[1]! + window[2]! + window[3]!;
          const pooled =
            mode === 'max' ? Math.max(...window) : mode === 'average' ? sum / 4 : sum * coefficient![c]! + bias![c]!;
          out[((n * channels + c) * outSize + y) * outSize + x] = activate(layer.activation, pooled);
        }
      }
    }
  }
  return out;
}

/**
 * Softmax over each image's `features` scores (or its log, computed as x − max − log Σ e^(x − max)).
 */
export function softmaxReference(layer: SoftmaxLayer, input: Floats, count: number): Float64Array {
  const { features } = layer;
  const out = new Float64Array(count * features);
  for (let n = 0; n < count; n++) {
    const row = Array.from(input.subarray(n * features, (n + 1) * features));
    const max = Math.max(...row);
    const total = row.reduce((s, x) => s + Math.exp(x - max), 0);
    row.forEach((x, k) => {
      out[n * features + k] = layer.log ? x - max - Math.log(total) : Math.exp(x - max) / total;
    });
  }
  return out;
}

/** Dense layer: out[n, o] = f(bias[o] + Σ_i weight[o, i] · input[n, i]). */
export function denseReference(
  layer: DenseLayer,
  input: Floats,
  count: number,
  weight: Floats,
  bias: Floats,
): Float64Array {
  const { inFeatures, outFeatures } = layer;
  const out = new Float64Array(count * outFeatures);
  for (let n = 0; n < count; n++) {
    for (let o = 0; o < outFeatures; o++) {
      let sum = bias[o]!;
      for (let i = 0; i < inFeatures; i++) sum += weight[o * inFeatures + i]! * input[n * inFeatures + i]!;
      out[n * outFeatures + o] = activate(layer.activation, sum);
    }
  }
  return out;
}

/**
 * Per-channel scale and shift, then the activation: out[n, c, …] = f(input[n, c, …]·scale[c] +
 * shift[c]), over [count, channels, size, size] maps or [count, channels] vectors.
 */
export function scaleShiftReference(layer: ScaleShiftLayer, input: Floats, count: number, scale: Floats, shift: Floats): Float64Array {
  const perChannel = layer.size === undefined ? 1 : layer.size * layer.size;
  const perImage = layer.channels * perChannel;
  const out = new Float64Array(count * perImage);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor((i % perImage) / perChannel);
    out[i] = activate(layer.activation, input[i]! * scale[c]! + shift[c]!);
  }
  return out;
}

/** Euclidean RBF: out[n, k] = Σ_j (input[n, j] − centres[k, j])². */
export function rbfReference(layer: RbfLayer, input: Floats, count: number, centres: Floats): Float64Array {
  const { inFeatures, classes } = layer;
  const out = new Float64Array(count * classes);
  for (let n = 0; n < count; n++) {
    for (let k = 0; k < classes; k++) {
      let sum = 0;
      for (let j = 0; j < inFeatures; j++) {
        const d = input[n * inFeatures + j]! - centres[k * inFeatures + j]!;
        sum += d * d;
      }
      out[n * classes + k] = sum;
    }
  }
  return out;
}
