/**
 * The peers: other frameworks running a model of the family on the same weights (TensorFlow.js
 * on its WASM and WebGPU backends, the seed model; ONNX Runtime Web on its WASM and WebGPU
 * backends, any model's ONNX file), behind one interface so the benchmark times them all
 * alike. Each is given what ours is given, raw pixels (bytes 0..255), and converts them to its
 * input tensor inside the timed call, as an application would. Each is loaded only when asked
 * for: the host (the page, or Node) imports its module on demand.
 */
import type { LogitsCheck, PeerId } from './types.js';

/** A network in another framework: `logits(pixels, n)` takes raw images, as ours does. */
export interface PeerModel {
  readonly id: PeerId;
  /** e.g. 'tfjs 4.22.0 wasm, fused ops', 'onnxruntime-web 1.30.0 wasm, 1 thread'. */
  readonly detail: string;
  /** n × 10 logits, read back to the CPU. `pixels` holds n raw images (bytes 0..255, planar). */
  logits(pixels: Uint8Array, count: number): Promise<Float32Array>;
  dispose(): void;
}

/**
 * A model's raw image and how its input tensor is made from it: `channels` planar maps of
 * `size`×`size` bytes, each value p becomes p / 255, zero-padded by `pad` on every side (the
 * preprocessing of every ONNX file of the family table, and of the seed model).
 */
export interface PixelInput {
  readonly channels: number;
  readonly size: number;
  readonly pad: number;
}

/** The seed model's raw image: 28×28 grey, no padding. */
export const kGreyInput: PixelInput = { channels: 1, size: 28, pad: 0 };

/** Bytes per raw image. */
export function pixelsPerImage(input: PixelInput): number {
  return input.channels * input.size * input.size;
}

/**
 * A peer's own conversion of raw bytes to its float input (NCHW, or NHWC for a single channel,
 * which is the same), into `out` (grown when too small) — what an application writes before
 * calling the framework. Returns the `count` images' values.
 *
 * @example
 * const x = pixelsToInput(bytes, 16, kGreyInput); // 16 × 784 values, p / 255
 */
export function pixelsToInput(pixels: Uint8Array, count: number, input: PixelInput, out?: Float32Array): Float32Array {
  const side = input.size + 2 * input.pad;
  const values = count * input.channels * side * side;
  const result = out && out.length >= values ? out.subarray(0, values) : new Float32Array(values);
  const scale = 1 / 255;
  if (input.pad === 0) {
    for (let i = 0; i < values; i++) result[i] = pixels[i]! * scale;
    return result;
  }
  result.fill(0);
  for (let map = 0; map < count * input.channels; map++) {
    for (let y = 0; y < input.size; y++) {
      const from = (map * input.size + y) * input.size;
      const to = (map * side + y + input.pad) * side + input.pad;
      for (let x = 0; x < input.size; x++) result[to + x] = pixels[from + x]! * scale;
    }
  }
  return result;
}

/** The seed model's tensors by their state_dict names (conv1.weight, …, fc3.bias), float32. */
export type SeedTensors = (name: string) => Float32Array;

/**
 * How close a peer's logits must be to ours. ONNX Runtime computes in float32 as we do:
 * 1e-4 absolute. TensorFlow.js's WebGPU backend evaluates sigmoid with less precision, so it
 * keeps the tolerance it has always had here, 1e-4 + 1e-3·|ours|.
 */
export function tolerance(id: PeerId): { atol: number; rtol: number } {
  return id.startsWith('ort-') ? { atol: 1e-4, rtol: 0 } : { atol: 1e-4, rtol: 1e-3 };
}

/**
 * Their logits against ours: ok when every |Δ| ≤ atol + rtol·|ours| and the lengths agree.
 *
 * @example
 * const check = checkLogits(theirs, ours, 64, { atol: 1e-4, rtol: 0 });
 * if (!check.ok) console.warn(`max |Δ| ${check.maxAbsDiff}`);
 */
export function checkLogits(theirs: ArrayLike<number>, ours: ArrayLike<number>, images: number, { atol, rtol }: { atol: number; rtol: number }): LogitsCheck {
  let maxAbsDiff = 0;
  let worstRatio = 0;
  const n = Math.min(theirs.length, ours.length);
  for (let i = 0; i < n; i++) {
    const d = Math.abs(theirs[i]! - ours[i]!);
    // NaN fails the check: it compares false against everything, so count it as infinitely far.
    const ratio = Number.isNaN(d) ? Infinity : d / (atol + rtol * Math.abs(ours[i]!));
    maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
    worstRatio = Math.max(worstRatio, ratio);
  }
  return { images, maxAbsDiff, worstRatio, atol, rtol, ok: worstRatio <= 1 && theirs.length === ours.length && n > 0 };
}
