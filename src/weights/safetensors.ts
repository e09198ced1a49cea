/**
 * The safetensors file format: reader and writer.
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON (the header), then the data
 * section. The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }`
 * (offsets relative to the data section), plus an optional `__metadata__` of string → string.
 *
 * The reader trusts nothing in the file: every number read from the header is checked against
 * the file's real size before anything is sized by it, so a hostile file costs at most its
 * own size in memory. Every failure is a WeightsFileError naming the tensor and the absolute
 * byte offset, saying what was expected and what was found.
 */
import { InputError, WeightsFileError } from '../errors.js';
import {
  float32Bytes,
  kReadableDtypes,
  kSafetensorsDtypes,
  readFloat16,
  readFloat32,
  type ReadableDtype,
} from './dtypes.js';
import { parseJsonHeader, type Json, type JsonObject } from './json-header.js';

/** One tensor as read: its file dtype, its shape and its values widened to float32. */
export interface SafetensorsTensor {
  readonly dtype: ReadableDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A parsed file. `metadata` is `{}` when the file has no `__metadata__` (PyTorch writes none). */
export interface SafetensorsFile {
  readonly metadata: Readonly<Record<string, string>>;
  readonly hasMetadata: boolean;
  /** In header order. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
}

/**
 * The largest header accepted: 64 KiB. LeNet-5 files have headers of about 2 KB (the largest
 * this project holds, a training fixture with its record: 2,736 bytes). The reference Rust
 * implementation allows 100 MB for large models, but parsing a hostile header costs CPU and
 * memory in proportion to its size, so this cap keeps every file within the loader's 100 ms
 * budget (tests/fuzz-weights.spec.ts). Measured on the 2-core VM, a header at a 128 KiB cap
 * (9,219 metadata keys, or 1,898 empty tensors) cost 40–87 ms of CPU in the test, and 103 ms
 * on a loaded CI run: the cap was halved for a margin, not the budget raised.
 */
export const kMaxHeaderBytes = 64 * 1024;
/** A header is an object of objects of arrays: deeper nesting is not safetensors. */
export const kMaxHeaderDepth = 3;
const kMetadataKey = '__metadata__';

/** Where a tensor's entry was found, and what it declared. */
interface TensorEntry {
  readonly name: string;
  readonly dtype: ReadableDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * Parses and validates a safetensors file. Throws WeightsFileError on anything malformed.
 *
 * @example
 * const file = parseSafetensors(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 * file.tensors.get('conv1.weight')?.shape; // [6, 1, 5, 5]
 */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  const headerLength = readHeaderLength(bytes);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  if (bytes[8] !== 0x7b) {
    throw new WeightsFileError(`expected the JSON header to start with '{', found byte 0x${bytes[8]!.toString(16)}`, {
      byteOffset: 8,
    });
  }
  const header = parseJsonHeader(bytes.subarray(8, dataStart), 8, kMaxHeaderDepth);
  if (!(header instanceof Map)) throw new WeightsFileError('expected the JSON header to be an object', { byteOffset: 8 });

  let metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, { value, offset }] of header) {
    if (name === kMetadataKey) metadata = readMetadata(value, offset);
    else entries.push(readTensorEntry(name, value, offset, dataStart, dataLength));
  }
  checkCoverage(entries, dataStart, dataLength);

  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    const data = entry.dtype === 'F32' ? readFloat32(raw) : readFloat16(raw);
    checkFinite(entry, data, dataStart);
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, data });
  }
  return { metadata, hasMetadata: header.has(kMetadataKey), tensors };
}

function readHeaderLength(bytes: Uint8Array): number {
  if (bytes.length < 8) {
    throw new WeightsFileError(
      `file too short: expected at least 8 bytes (the header length), found ${bytes.length}`,
      { byteOffset: 0 },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const length = high * 2 ** 32 + low; // may be inexact above 2^53, but then it is rejected anyway
  if (high !== 0 || low > kMaxHeaderBytes) {
    throw new WeightsFileError(
      `header length is absurd: expected at most ${kMaxHeaderBytes} bytes, found ${length}`,
      { byteOffset: 0 },
    );
  }
  if (low > bytes.length - 8) {
    throw new WeightsFileError(
      `header length runs past the end of the file: expected at most ${bytes.length - 8} bytes, found ${low}`,
      { byteOffset: 0 },
    );
  }
  if (low < 2) {
    throw new WeightsFileError(`header too short: expected at least 2 bytes ('{}'), found ${low}`, { byteOffset: 0 });
  }
  return low;
}

function readMetadata(value: Json, offset: number): Record<string, string> {
  if (!(value instanceof Map)) {
    throw new WeightsFileError(`__metadata__: expected an object of strings, found ${describe(value)}`, {
      byteOffset: offset,
    });
  }
  // Filled while it has no prototype, so a '__proto__' key is just a key (no setter runs), and a
  // dictionary from the start: Object.fromEntries took twice as long for the ~5,000 keys a
  // header at the cap can hold (a hidden class per key).
  const metadata = Object.create(null) as Record<string, string>;
  for (const [key, entry] of value) {
    if (typeof entry.value !== 'string') {
      throw new WeightsFileError(
        `__metadata__['${key}']: expected a string value, found ${describe(entry.value)}`,
        { byteOffset: entry.offset },
      );
    }
    metadata[key] = entry.value;
  }
  return Object.setPrototypeOf(metadata, Object.prototype) as Record<string, string>;
}

function readTensorEntry(name: string, value: Json, keyOffset: number, dataStart: number, dataLength: number): TensorEntry {
  const where = { tensor: name, byteOffset: keyOffset };
  const fail = (message: string): never => {
    throw new WeightsFileError(message, where);
  };
  if (!(value instanceof Map)) return fail(`expected an object {dtype, shape, data_offsets}, found ${describe(value)}`);
  const field = (key: string): Json => {
    const entry = (value as JsonObject).get(key);
    return entry ? entry.value : fail(`expected a '${key}' field, found none`);
  };

  const dtype = field('dtype');
  if (typeof dtype !== 'string') return fail(`dtype: expected a string, found ${describe(dtype)}`);
  if (!(dtype in kSafetensorsDtypes)) return fail(`dtype: expected F32 or F16, found unknown dtype '${dtype.slice(0, 40)}'`);
  if (!(dtype in kReadableDtypes)) return fail(`dtype: expected F32 or F16, found unsupported dtype '${dtype}'`);
  const elementSize = kReadableDtypes[dtype as ReadableDtype];

  const shape = field('shape');
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    return fail(`shape: expected an array of non-negative integers, found ${describe(shape)}`);
  }
  const offsets = field('data_offsets');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return fail(`data_offsets: expected [begin, end] of non-negative integers, found ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) return fail(`data_offsets: expected begin ≤ end, found [${begin}, ${end}]`);
  if (end > dataLength) {
    throw new WeightsFileError(
      `data_offsets: expected end ≤ ${dataLength} (the data section's size), found [${begin}, ${end}]`,
      { tensor: name, byteOffset: dataStart + begin },
    );
  }
  // Exact while ≤ 2^53; past that it can never equal a byte length that fits in a file.
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  if (elements * elementSize !== end - begin) {
    throw new WeightsFileError(
      `shape [${shape.join(', ')}] × ${elementSize} bytes (${dtype}) = ${elements * elementSize} bytes ` +
        `disagrees with data_offsets [${begin}, ${end}]: expected ${elements * elementSize} bytes, found ${end - begin}`,
      { tensor: name, byteOffset: dataStart + begin },
    );
  }
  return { name, dtype: dtype as ReadableDtype, shape: shape as number[], begin, end };
}

/** The tensors must tile the data section: sorted by offset, each starts where the last ended. */
function checkCoverage(entries: readonly TensorEntry[], dataStart: number, dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: TensorEntry | undefined;
  for (const entry of sorted) {
    if (entry.begin < expected) {
      throw new WeightsFileError(
        `data_offsets [${entry.begin}, ${entry.end}] overlap tensor '${previous!.name}' ` +
          `[${previous!.begin}, ${previous!.end}]: expected begin ${expected}, found ${entry.begin}`,
        { tensor: entry.name, byteOffset: dataStart + entry.begin },
      );
    }
    if (entry.begin > expected) {
      throw new WeightsFileError(
        `data_offsets [${entry.begin}, ${entry.end}] leave a gap of ${entry.begin - expected} unused bytes: ` +
          `expected begin ${expected}, found ${entry.begin}`,
        { tensor: entry.name, byteOffset: dataStart + expected },
      );
    }
    expected = entry.end;
    previous = entry;
  }
  if (expected !== dataLength) {
    throw new WeightsFileError(
      `the tensors cover ${expected} bytes of the data section: expected ${dataLength}, found ` +
        `${dataLength - expected} trailing bytes no tensor owns`,
      { byteOffset: dataStart + expected },
    );
  }
}

function checkFinite(entry: TensorEntry, data: Float32Array, dataStart: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      const size = kReadableDtypes[entry.dtype];
      throw new WeightsFileError(
        `element ${i} (of ${data.length}): expected a finite value, found ${data[i]}`,
        { tensor: entry.name, byteOffset: dataStart + entry.begin + i * size },
      );
    }
  }
}

function isCount(value: Json): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: Json): string {
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map((v) => (v instanceof Map || Array.isArray(v) ? describe(v) : JSON.stringify(v)));
    return `[${items.join(', ')}${value.length > 8 ? ', …' : ''}]`;
  }
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** A tensor to write: float32 values in row-major order. */
export interface TensorToWrite {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * Writes float32 tensors as safetensors, byte for byte as `safetensors.torch.save_file` does
 * for float32 tensors: compact JSON header (`__metadata__` first, then tensors sorted by name),
 * padded with spaces to a multiple of 8, then each tensor's bytes in that order, contiguous.
 * Throws InputError if a shape disagrees with its data, a value is not finite, or the header
 * would pass `kMaxHeaderBytes` (the reader would refuse the file).
 *
 * @example
 * const bytes = writeSafetensors(new Map([['fc.bias', { shape: [2], data: new Float32Array([1, 2]) }]]),
 *   { 'lenet5.model': 'seed' });
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const names = [...tensors.keys()].sort(compareUtf8);
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(kMetadataKey)}:${metadataJson(metadata)}`);
  let offset = 0;
  for (const name of names) {
    const { shape, data } = checkTensorToWrite(name, tensors.get(name)!);
    const size = data.length * 4;
    parts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":[${shape.join(',')}],"data_offsets":[${offset},${offset + size}]}`);
    offset += size;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > kMaxHeaderBytes) {
    throw new InputError(
      `the header (metadata and tensor entries) would be ${headerLength} bytes: expected at most ${kMaxHeaderBytes} bytes, the most the reader accepts`,
    );
  }
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setUint32(0, headerLength, true); // high word stays 0
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const name of names) {
    const bytes = float32Bytes(tensors.get(name)!.data);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

function metadataJson(metadata: Readonly<Record<string, string>>): string {
  const keys = Object.keys(metadata).sort(compareUtf8);
  for (const key of keys) {
    if (typeof metadata[key] !== 'string') {
      throw new InputError(`metadata['${key}'] must be a string, found ${typeof metadata[key]}`);
    }
  }
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`;
}

function checkTensorToWrite(name: string, tensor: TensorToWrite): TensorToWrite {
  if (name === kMetadataKey) throw new InputError(`'${kMetadataKey}' is reserved and cannot name a tensor`);
  const { shape, data } = tensor;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InputError(`tensor '${name}': shape must hold non-negative integers, found [${shape.join(', ')}]`);
  }
  const elements = shape.reduce((a, b) => a * b, 1);
  if (elements !== data.length) {
    throw new InputError(`tensor '${name}': shape [${shape.join(', ')}] needs ${elements} values, found ${data.length}`);
  }
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`tensor '${name}': element ${bad} must be finite, found ${data[bad]}`);
  return tensor;
}

/** Rust orders strings by their UTF-8 bytes; JS `<` compares UTF-16 units, which differs past U+FFFF. */
function compareUtf8(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return x.length - y.length;
}
