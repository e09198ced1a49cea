/**
 * Typed errors. Every failure the engine reports is one of these, and each says what was
 * expected, what was found, and where (tensor name, byte offset, layer, image index).
 *
 * @example
 * try { await createEngine(bytes); }
 * catch (e) { if (e instanceof WeightsFileError) console.log(e.tensor, e.byteOffset); }
 */

/**
 * Every error's `code`, one per class: 'weights-file' (WeightsFileError), 'model-mismatch'
 * (ModelMismatchError), 'input' (InputError), 'data-file' (DataFileError),
 * 'webgpu-unavailable' (WebGPUUnavailableError), 'device-lost' (DeviceLostError), 'gpu'
 * (GpuError), 'destroyed' (EngineDestroyedError). Stable across versions, unlike messages.
 *
 * @example
 * if (e instanceof Lenet5Error && e.code === 'webgpu-unavailable') useCpu();
 */
export type Lenet5ErrorCode =
  | 'weights-file'
  | 'model-mismatch'
  | 'input'
  | 'data-file'
  | 'webgpu-unavailable'
  | 'device-lost'
  | 'gpu'
  | 'destroyed';

/** Base class: `code` is a stable machine-readable tag (Lenet5ErrorCode), `message` is for people. */
export class Lenet5Error extends Error {
  constructor(
    readonly code: Lenet5ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Where in a weights file a problem was found. */
export interface FileLocation {
  /** Tensor name, when the problem belongs to one tensor. */
  tensor?: string;
  /** Byte offset from the start of the file. */
  byteOffset?: number;
}

/** The weights file is not valid safetensors, or its contents are unusable (NaN, overlap...). */
export class WeightsFileError extends Lenet5Error {
  readonly tensor?: string;
  readonly byteOffset?: number;
  constructor(message: string, where: FileLocation = {}) {
    super('weights-file', withLocation(message, where));
    this.tensor = where.tensor;
    this.byteOffset = where.byteOffset;
  }
}

/** The file is valid safetensors but does not hold the tensors a known model needs. */
export class ModelMismatchError extends Lenet5Error {
  readonly tensor?: string;
  constructor(message: string, tensor?: string) {
    super('model-mismatch', withLocation(message, { tensor }));
    this.tensor = tensor;
  }
}

/** The caller's input (pixels, count, options) is wrong. */
export class InputError extends Lenet5Error {
  constructor(message: string) {
    super('input', message);
  }
}

/** An image data file (IDX, a CIFAR-10 batch) is malformed. */
export class DataFileError extends Lenet5Error {
  constructor(message: string, byteOffset?: number) {
    super('data-file', withLocation(message, { byteOffset }));
  }
}

/** `navigator.gpu` is missing, or no adapter/device could be had. */
export class WebGPUUnavailableError extends Lenet5Error {
  constructor(message: string) {
    super('webgpu-unavailable', message);
  }
}

/** The GPU device was lost; pending and later calls fail with this until `recover()`. */
export class DeviceLostError extends Lenet5Error {
  constructor(message: string) {
    super('device-lost', message);
  }
}

/** A WebGPU validation or out-of-memory error, naming the GPU object's label. */
export class GpuError extends Lenet5Error {
  constructor(message: string) {
    super('gpu', message);
  }
}

/** The engine was destroyed; it cannot be used any more. */
export class EngineDestroyedError extends Lenet5Error {
  constructor(what: string) {
    super('destroyed', `${what}: the engine was destroyed; create a new one`);
  }
}

function withLocation(message: string, where: FileLocation): string {
  const parts: string[] = [];
  if (where.tensor !== undefined) parts.push(`tensor '${where.tensor}'`);
  if (where.byteOffset !== undefined) parts.push(`byte ${where.byteOffset}`);
  return parts.length ? `${message} (${parts.join(', ')})` : message;
}
