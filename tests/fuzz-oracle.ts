/**
 * An independent reading of a safetensors file, for the fuzz test to judge the loader by.
 *
 * Written for obviousness, not safety or speed: `JSON.parse` for the header, a DataView for
 * the numbers. It never decides whether a file is acceptable; it says what a file the loader
 * *did* accept encodes, so the fuzz test can check the loader returned exactly that and
 * nothing else (right model, every tensor's values bit for bit, metadata, preprocessing).
 */
import type { ModelWeights } from '../src/model/model-weights.js';

/** A tensor entry of the header, as declared. */
export interface OracleEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A file as the oracle reads it. */
export interface OracleFile {
  readonly dataStart: number;
  readonly metadata: Record<string, unknown> | undefined;
  /** In header order. */
  readonly entries: readonly OracleEntry[];
}

/** Reads a header with JSON.parse; throws a plain Error if it cannot. */
export function oracleRead(bytes: Uint8Array): OracleFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  const dataStart = 8 + length;
  if (dataStart > bytes.length) throw new Error(`oracle: header length ${length} runs past the file`);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
  const header = JSON.parse(text) as Record<string, unknown>;
  const entries: OracleEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const v = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
    entries.push({ name, dtype: v.dtype, shape: v.shape, begin: v.data_offsets[0], end: v.data_offsets[1] });
  }
  return { dataStart, metadata: header['__metadata__'] as Record<string, unknown> | undefined, entries };
}

/** IEEE binary16 → number, straight from the definition. */
export function halfValue(bits: number): number {
  const sign = bits >= 0x8000 ? -1 : 1;
  const exponent = Math.floor(bits / 1024) % 32;
  const mantissa = bits % 1024;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * Math.pow(2, -14) * (mantissa / 1024);
  return sign * Math.pow(2, exponent - 15) * (1 + mantissa / 1024);
}

/** The values a tensor entry's bytes encode, as float32 (F16 values are exact in float32). */
export function oracleValues(bytes: Uint8Array, file: OracleFile, entry: OracleEntry): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + file.dataStart + entry.begin, entry.end - entry.begin);
  const size = entry.dtype === 'F32' ? 4 : entry.dtype === 'F16' ? 2 : 0;
  if (size === 0) throw new Error(`oracle: dtype '${entry.dtype}' is neither F32 nor F16`);
  const values = new Float32Array(view.byteLength / size);
  for (let i = 0; i < values.length; i++) {
    values[i] = size === 4 ? view.getFloat32(4 * i, true) : halfValue(view.getUint16(2 * i, true));
  }
  return values;
}

/**
 * Throws an Error describing the first way `weights` (what the loader returned for `bytes`)
 * differs from what `bytes` encode. Checks: the model the metadata names (or the tensor names
 * imply), every tensor present with the spec's shape and its exact values, finite, the tensors
 * tiling the data section, the metadata as written, and the preprocessing it sets.
 */
export function verifyAccepted(bytes: Uint8Array, weights: ModelWeights): void {
  const file = oracleRead(bytes);
  const { spec } = weights;
  const metadata = file.metadata ?? {};
  const fail = (what: string): never => {
    throw new Error(`accepted file disagrees with its bytes: ${what}`);
  };

  // A file that describes its network without naming a preset is 'custom'; one that does
  // neither is the preset its tensor names fit.
  const declaredModel =
    metadata['lenet5.model'] ??
    (metadata['lenet5.architecture'] !== undefined ? 'custom' : file.entries.some((e) => e.name === 'conv1.weight') ? 'seed' : 'classic');
  if (declaredModel !== spec.id) fail(`model: file says '${String(declaredModel)}', loader gave '${spec.id}'`);
  if (spec.id === 'classic') {
    const activation = metadata['lenet5.activation'] ?? 'sigmoid';
    const first = spec.layers[0]!;
    if (!('activation' in first) || first.activation !== activation) fail(`activation: file says '${String(activation)}'`);
  }

  const names = file.entries.map((e) => e.name).sort();
  const specNames = spec.tensors.map((t) => t.name).sort();
  if (names.join() !== specNames.join()) fail(`tensor names [${names.join()}], model needs [${specNames.join()}]`);
  let covered = 0;
  for (const entry of [...file.entries].sort((a, b) => a.begin - b.begin)) {
    if (entry.begin !== covered) fail(`'${entry.name}' begins at ${entry.begin}, expected ${covered}`);
    covered = entry.end;
  }
  if (file.dataStart + covered !== bytes.length) fail(`tensors cover ${covered} of ${bytes.length - file.dataStart} data bytes`);

  for (const t of spec.tensors) {
    const entry = file.entries.find((e) => e.name === t.name)!;
    if (entry.shape.join() !== t.shape.join()) fail(`'${t.name}' shape [${entry.shape.join()}], model needs [${t.shape.join()}]`);
    const expected = oracleValues(bytes, file, entry);
    const got = weights.tensors.get(t.name)!;
    if (got.length !== expected.length) fail(`'${t.name}' has ${got.length} values, file holds ${expected.length}`);
    // Bit patterns: exact, and -0 differs from +0.
    const gotBits = new Uint32Array(got.buffer, got.byteOffset, got.length);
    const expectedBits = new Uint32Array(expected.buffer);
    for (let i = 0; i < expected.length; i++) {
      if (!Number.isFinite(expected[i]!)) fail(`'${t.name}'[${i}] is ${expected[i]} in the file, yet accepted`);
      if (gotBits[i] !== expectedBits[i]) fail(`'${t.name}'[${i}] = ${got[i]}, file holds ${expected[i]}`);
    }
  }

  const metadataGot = JSON.stringify(Object.entries(weights.metadata).sort());
  const metadataFile = JSON.stringify(Object.entries(metadata).sort());
  if (metadataGot !== metadataFile) fail(`metadata ${metadataGot.slice(0, 200)}, file holds ${metadataFile.slice(0, 200)}`);
  for (const [key, field] of [['lenet5.input.pad', 'pad'], ['lenet5.input.background', 'background'], ['lenet5.input.ink', 'ink']] as const) {
    const text = metadata[key];
    const expected = text === undefined ? spec.defaultPreprocessing[field] : Number(text);
    if (weights.preprocessing[field] !== expected) fail(`preprocessing.${field} = ${weights.preprocessing[field]}, file says ${String(text)}`);
  }
}
