/**
 * What every weights-format reader returns: tensors as float32 in the engine's layout, the
 * file's metadata, and the architecture when the file itself says what it is (an ONNX graph,
 * a safetensors file with `lenet5.architecture`). The loader (src/formats/load.ts) then
 * decides the architecture and validates the tensors against it, the same way for every
 * format, so nothing after it knows where a model came from.
 */
import type { ArchitectureJson } from '../model/architecture.js';

/** The formats the engine reads. */
export type WeightsFormat = 'safetensors' | 'pth' | 'onnx';

/** One tensor: its shape and its row-major float32 values (finite, length = product of shape). */
export interface RawTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A tensor the reader read but set aside: an integer buffer (BatchNorm's `num_batches_tracked`). */
export interface IgnoredTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

/** A weights file as read, before it is checked against an architecture. */
export interface WeightsFileContents {
  readonly format: WeightsFormat;
  readonly tensors: ReadonlyMap<string, RawTensor>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors read and set aside (integer buffers), in the file's order; the loader's note names them. */
  readonly ignored?: readonly IgnoredTensor[];
  /** The architecture the file declares itself (ONNX graph; safetensors metadata). */
  readonly architecture?: ArchitectureJson;
}
