/**
 * The safetensors reader for the loader: the file as parsed and validated by
 * src/weights/safetensors.ts, plus the architecture its metadata declares
 * (`__metadata__['lenet5.architecture']`, a JSON description; docs/formats.md).
 */
import { ModelMismatchError, WeightsFileError } from '../errors.js';
import { parseArchitecture, type ArchitectureJson } from '../model/architecture.js';
import { parseSafetensors } from '../weights/safetensors.js';
import type { WeightsFileContents } from './types.js';

/** The metadata key that carries the JSON description of the network. */
export const kArchitectureKey = 'lenet5.architecture';

/**
 * Reads a safetensors file: tensors as float32, metadata, and the declared architecture.
 *
 * @example
 * const contents = readSafetensors(bytes);
 * contents.architecture?.layers.length; // 7, for a file the trainer wrote
 */
export function readSafetensors(bytes: Uint8Array): WeightsFileContents {
  const file = parseSafetensors(bytes);
  const tensors = new Map([...file.tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data }] as const));
  const declared = file.metadata[kArchitectureKey];
  return {
    format: 'safetensors',
    tensors,
    metadata: file.metadata,
    ...(declared !== undefined ? { architecture: architectureFromMetadata(declared) } : {}),
  };
}

/**
 * Whether the bytes start as safetensors does: a little-endian u64 header length that fits
 * the file, then '{'.
 */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  return length >= 2 && 8 + length <= bytes.length && bytes[8] === 0x7b;
}

function architectureFromMetadata(text: string): ArchitectureJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WeightsFileError(`__metadata__['${kArchitectureKey}']: expected a JSON description of the network, found text that is not JSON (${(e as Error).message})`);
  }
  try {
    return parseArchitecture(json);
  } catch (e) {
    if (e instanceof ModelMismatchError) throw new WeightsFileError(`__metadata__['${kArchitectureKey}']: ${e.message}`);
    throw e;
  }
}
