/**
 * The peers: other frameworks running the seed model on the same weights (TensorFlow.js on its
 * WASM and WebGPU backends, ONNX Runtime Web on its WASM and WebGPU backends), behind one
 * interface so the benchmark times them all alike. Each is loaded only when asked for: the
 * host (the page, or Node) imports its module on demand.
 */
import type { LogitsCheck, PeerId } from './types.js';

/** The seed network in another framework: `logits(input, n)` takes preprocessed 28×28 images. */
export interface PeerModel {
  readonly id: PeerId;
  /** e.g. 'tfjs 4.22.0 wasm', 'onnxruntime-web 1.30.0 wasm, 1 thread'. */
  readonly detail: string;
  /** n × 10 logits, read back to the CPU. `input` holds n × 784 values, pixel / 255. */
  logits(input: Float32Array, count: number): Promise<Float32Array>;
  dispose(): void;
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
