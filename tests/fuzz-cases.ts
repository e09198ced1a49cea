/**
 * Hand-crafted hostile and broken safetensors files for the loader fuzz test, each with the
 * outcome it must have: a WeightsFileError ('file'), a ModelMismatchError ('model'), or
 * loading ('accept': valid files that look odd, as positive controls).
 *
 * Built from a real seed-model file (header as an object, data as bytes) so that each case
 * breaks exactly one thing.
 */
import { classicModel, seedModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import { saveWeights } from '../src/formats/load.js';
import { kMaxHeaderBytes } from '../src/weights/safetensors.js';
import { oracleRead } from './fuzz-oracle.js';

export type Outcome = 'file' | 'model' | 'accept';

export interface CraftedCase {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly outcome: Outcome;
}

type Entry = { dtype: unknown; shape: unknown; data_offsets: unknown };
type Header = Record<string, unknown>;

const encoder = new TextEncoder();

/** 8-byte little-endian length (a bigint, so 2^63 and 2^53 + 1 are exact), then header, then data. */
export function assemble(header: Uint8Array | string, data: Uint8Array, length?: bigint): Uint8Array {
  const json = typeof header === 'string' ? encoder.encode(header) : header;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A model file split into its header object and data bytes, to edit and reassemble. */
class Base {
  readonly header: Header;
  readonly data: Uint8Array;
  constructor(readonly bytes: Uint8Array) {
    const file = oracleRead(bytes);
    this.header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, file.dataStart))) as Header;
    this.data = bytes.slice(file.dataStart);
  }
  /** A deep copy of the header with `edit` applied, serialised with the (maybe edited) data. */
  with(edit: (h: Header, data: Uint8Array) => Uint8Array | void): Uint8Array {
    const header = JSON.parse(JSON.stringify(this.header)) as Header;
    const data = this.data.slice();
    const newData = edit(header, data) ?? data;
    return assemble(JSON.stringify(header), newData);
  }
  entry(h: Header, name: string): Entry {
    return h[name] as Entry;
  }
  offsets(name: string): [number, number] {
    return (this.header[name] as Entry).data_offsets as [number, number];
  }
}

/** Header text with one tensor's entry text replaced (for JSON that JSON.stringify cannot write). */
function replaceEntryText(base: Base, name: string, entryText: string): string {
  const parts = Object.entries(base.header).map(([k, v]) => `${JSON.stringify(k)}:${k === name ? entryText : JSON.stringify(v)}`);
  return `{${parts.join(',')}}`;
}

function f32Bits(data: Uint8Array, byteIndex: number, bits: number): void {
  new DataView(data.buffer, data.byteOffset).setUint32(byteIndex, bits, true);
}

/** Float32 → binary16 bits by truncation (exact for the values we need; no rounding needed). */
function halfBits(value: number): number {
  const f = new DataView(new ArrayBuffer(4));
  f.setFloat32(0, value);
  const bits = f.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  if (exponent >= 31) return sign | 0x7bff; // clamp to the largest finite half
  if (exponent <= 0) return sign; // flush tiny values to zero
  return sign | (exponent << 10) | ((bits >>> 13) & 0x3ff);
}

/**
 * Any F32 model file re-encoded as F16 (same header order and metadata; values truncated to
 * half precision): a valid file for the F16 reading path.
 */
export function asF16File(bytes: Uint8Array): Uint8Array {
  return seedAsF16(new Base(bytes));
}

/** The seed file re-encoded as F16 (a valid file); `poke` may overwrite half values by index. */
function seedAsF16(base: Base, poke?: (halves: Uint16Array) => void): Uint8Array {
  const header: Header = {};
  const floats = new Float32Array(base.data.buffer, base.data.byteOffset, base.data.length / 4);
  const halves = Uint16Array.from(floats, halfBits);
  poke?.(halves);
  for (const [name, value] of Object.entries(base.header)) {
    if (name === '__metadata__') header[name] = value;
    else {
      const [b, e] = (value as Entry).data_offsets as [number, number];
      header[name] = { ...(value as Entry), dtype: 'F16', data_offsets: [b / 2, e / 2] };
    }
  }
  return assemble(JSON.stringify(header), new Uint8Array(halves.buffer));
}

function lengthCases(base: Base): CraftedCase[] {
  const json = JSON.stringify(base.header);
  const n = BigInt(encoder.encode(json).length);
  const file = (length: bigint) => assemble(json, base.data, length);
  return [
    { name: 'empty file', bytes: new Uint8Array(0), outcome: 'file' },
    { name: '7 bytes', bytes: new Uint8Array(7), outcome: 'file' },
    { name: 'header length 0', bytes: file(0n), outcome: 'file' },
    { name: 'header length 1', bytes: file(1n), outcome: 'file' },
    { name: 'header length one past the file', bytes: file(BigInt(base.bytes.length - 8 + 1)), outcome: 'file' },
    { name: 'header length larger than the file by far', bytes: file(n * 1000n), outcome: 'file' },
    { name: 'header length 2^32 + header', bytes: file(2n ** 32n + n), outcome: 'file' },
    { name: 'header length 2^53 + 1', bytes: file(2n ** 53n + 1n), outcome: 'file' },
    { name: 'header length 2^63', bytes: file(2n ** 63n), outcome: 'file' },
    { name: 'header length 2^64 - 1', bytes: file(2n ** 64n - 1n), outcome: 'file' },
    { name: 'header length 100,000,001 (the reference implementation\'s cap + 1)', bytes: file(100_000_001n), outcome: 'file' },
    { name: 'header length one past the 64 KiB cap', bytes: file(BigInt(kMaxHeaderBytes + 1)), outcome: 'file' },
    { name: 'header length one short (cuts the JSON)', bytes: file(n - 1n), outcome: 'file' },
    { name: 'header length 8 long (eats data)', bytes: file(n + 8n), outcome: 'file' },
  ];
}

function syntaxCases(base: Base): CraftedCase[] {
  const json = JSON.stringify(base.header);
  const text = (header: string | Uint8Array) => assemble(header, base.data);
  const deep = (open: string, count: number) => `{"a":${open.repeat(count)}`;
  return [
    { name: 'not JSON at all', bytes: text('hello, world: not a header'), outcome: 'file' },
    { name: 'random bytes as header', bytes: text(Uint8Array.from({ length: 300 }, (_, i) => (i * 97 + 13) % 256)), outcome: 'file' },
    { name: 'header is a JSON array', bytes: text('[1, 2, 3]'), outcome: 'file' },
    { name: 'header is a JSON string', bytes: text('"conv1.weight"'), outcome: 'file' },
    { name: 'header is a JSON number', bytes: text('12345678'), outcome: 'file' },
    { name: 'UTF-8 BOM before the header', bytes: text(concat(Uint8Array.of(0xef, 0xbb, 0xbf), encoder.encode(json))), outcome: 'file' },
    { name: 'single-quoted keys', bytes: text(json.replaceAll('"', "'")), outcome: 'file' },
    { name: 'trailing comma in the object', bytes: text(`${json.slice(0, -1)},}`), outcome: 'file' },
    { name: 'garbage after the JSON object', bytes: text(`${json}xyz`), outcome: 'file' },
    { name: 'two JSON objects', bytes: text(`${json}{}`), outcome: 'file' },
    { name: 'unterminated string', bytes: text('{"conv1.weight'), outcome: 'file' },
    { name: 'unclosed object', bytes: text(json.slice(0, -1)), outcome: 'file' },
    { name: 'NUL byte inside a string', bytes: text(json.replace('conv1.weight', 'conv1\u0000weight')), outcome: 'file' },
    { name: 'invalid UTF-8 in a key', bytes: text(concat(encoder.encode('{"conv'), Uint8Array.of(0xc3, 0x28), encoder.encode(json.slice(6)))), outcome: 'file' },
    { name: 'lone surrogate escape in a key', bytes: text(json.replace('conv1.weight', 'conv1\\ud800.weight')), outcome: 'model' },
    { name: 'bad escape in a string', bytes: text(json.replace('conv1.weight', 'conv1\\q.weight')), outcome: 'file' },
    { name: 'NaN literal as an offset', bytes: text(replaceEntryText(base, 'conv1.bias', '{"dtype":"F32","shape":[6],"data_offsets":[NaN,24]}')), outcome: 'file' },
    { name: 'Infinity literal in a shape', bytes: text(replaceEntryText(base, 'conv1.bias', '{"dtype":"F32","shape":[Infinity],"data_offsets":[0,24]}')), outcome: 'file' },
    { name: 'hex number in a shape', bytes: text(replaceEntryText(base, 'conv1.bias', '{"dtype":"F32","shape":[0x6],"data_offsets":[0,24]}')), outcome: 'file' },
    { name: 'a 70-digit number', bytes: text(replaceEntryText(base, 'conv1.bias', `{"dtype":"F32","shape":[${'9'.repeat(70)}],"data_offsets":[0,24]}`)), outcome: 'file' },
    // Nesting as deep as fits under the header cap, so the depth bound (not the length check) rejects it.
    { name: '60,000 nested [', bytes: text(deep('[', 60_000)), outcome: 'file' },
    { name: '60,000 [ with no object around', bytes: text('['.repeat(60_000)), outcome: 'file' },
    { name: '12,000 nested {"a":', bytes: text(deep('{"a":', 12_000)), outcome: 'file' },
    { name: '30,000 nested [ closed properly', bytes: text(`{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}`), outcome: 'file' },
    { name: '100,000 nested [ (past the header cap)', bytes: text(deep('[', 100_000)), outcome: 'file' },
    { name: 'nesting one level too deep (shape [[6]])', bytes: text(replaceEntryText(base, 'conv1.bias', '{"dtype":"F32","shape":[[6]],"data_offsets":[0,24]}')), outcome: 'file' },
    { name: 'metadata value an object', bytes: base.with((h) => void (h['__metadata__'] = { a: { b: 'c' } })), outcome: 'file' },
  ];
}

function duplicateCases(base: Base): CraftedCase[] {
  const json = JSON.stringify(base.header);
  const bias = JSON.stringify(base.header['conv1.bias']);
  return [
    { name: 'duplicate tensor name', bytes: assemble(`${json.slice(0, -1)},"conv1.bias":${bias}}`, base.data), outcome: 'file' },
    { name: 'duplicate tensor name spelled with an escape', bytes: assemble(`${json.slice(0, -1)},"conv1\\u002ebias":${bias}}`, base.data), outcome: 'file' },
    { name: 'duplicate __metadata__', bytes: assemble(`${json.slice(0, -1)},"__metadata__":{}}`, base.data), outcome: 'file' },
    { name: 'duplicate key inside a tensor entry', bytes: assemble(replaceEntryText(base, 'conv1.bias', `{"dtype":"F32","dtype":"F16","shape":[6],"data_offsets":${JSON.stringify(base.offsets('conv1.bias'))}}`), base.data), outcome: 'file' },
    { name: 'duplicate metadata key', bytes: assemble(json.replace('"__metadata__":{', '"__metadata__":{"lenet5.model":"classic",'), base.data), outcome: 'file' },
  ];
}

function dtypeCases(base: Base): CraftedCase[] {
  const withDtype = (dtype: unknown) => base.with((h) => void (base.entry(h, 'conv1.bias').dtype = dtype));
  return [
    { name: "unknown dtype 'F33'", bytes: withDtype('F33'), outcome: 'file' },
    { name: "lower-case dtype 'f32'", bytes: withDtype('f32'), outcome: 'file' },
    { name: "unsupported dtype 'BF16'", bytes: withDtype('BF16'), outcome: 'file' },
    { name: "unsupported dtype 'F64'", bytes: withDtype('F64'), outcome: 'file' },
    { name: "unsupported dtype 'I64'", bytes: withDtype('I64'), outcome: 'file' },
    { name: 'dtype a number', bytes: withDtype(32), outcome: 'file' },
    { name: 'dtype null', bytes: withDtype(null), outcome: 'file' },
    { name: 'dtype 10,000 characters', bytes: withDtype('F'.repeat(10_000)), outcome: 'file' },
    { name: "dtype 'F16' with F32-sized bytes", bytes: withDtype('F16'), outcome: 'file' },
    { name: 'dtype missing', bytes: base.with((h) => void delete (h['conv1.bias'] as Partial<Entry>).dtype), outcome: 'file' },
  ];
}

function shapeCases(base: Base): CraftedCase[] {
  const withShape = (name: string, shape: unknown) => base.with((h) => void (base.entry(h, name).shape = shape));
  const huge = 2 ** 53;
  return [
    { name: 'shape and byte length disagree (one element short)', bytes: withShape('conv1.bias', [5]), outcome: 'file' },
    { name: 'shape and byte length disagree (one dimension extra)', bytes: withShape('conv1.weight', [6, 1, 5, 5, 2]), outcome: 'file' },
    { name: 'negative dimension', bytes: withShape('conv1.bias', [-6]), outcome: 'file' },
    { name: 'two negative dimensions with the right product', bytes: withShape('conv1.weight', [-6, 1, -5, 5]), outcome: 'file' },
    { name: 'fractional dimensions with the right product', bytes: withShape('conv1.weight', [6, 2.5, 2, 5]), outcome: 'file' },
    { name: 'dimension 2^53', bytes: withShape('conv1.bias', [huge]), outcome: 'file' },
    { name: 'dimension 1e308', bytes: withShape('conv1.bias', [1e308]), outcome: 'file' },
    { name: 'dimensions whose product overflows', bytes: withShape('conv1.weight', [2 ** 52, 2 ** 52, 2 ** 52, 2 ** 52]), outcome: 'file' },
    { name: 'dimension a string', bytes: withShape('conv1.bias', ['6']), outcome: 'file' },
    { name: 'shape an object', bytes: withShape('conv1.bias', { 0: 6 }), outcome: 'file' },
    { name: 'shape missing', bytes: base.with((h) => void delete (h['conv1.bias'] as Partial<Entry>).shape), outcome: 'file' },
    { name: 'scalar shape [] for a 6-value tensor', bytes: withShape('conv1.bias', []), outcome: 'file' },
    { name: 'wrong shape, right byte length (fc1 transposed)', bytes: withShape('fc1.weight', [400, 120]), outcome: 'model' },
    { name: 'wrong shape, right byte length (conv1 as [6, 25])', bytes: withShape('conv1.weight', [6, 25]), outcome: 'model' },
    { name: 'wrong shape, right byte length (conv1 as [6, 5, 5, 1])', bytes: withShape('conv1.weight', [6, 5, 5, 1]), outcome: 'model' },
    {
      name: 'zero-size extra tensor with dimension 2^52',
      bytes: base.with((h, data) => void (h['extra'] = { dtype: 'F32', shape: [2 ** 52, 0], data_offsets: [data.length, data.length] })),
      outcome: 'model',
    },
  ];
}

function offsetCases(base: Base): CraftedCase[] {
  const [b1, e1] = base.offsets('conv1.bias');
  const [b2, e2] = base.offsets('conv1.weight');
  const length = base.data.length;
  const withOffsets = (name: string, offsets: unknown) => base.with((h) => void (base.entry(h, name).data_offsets = offsets));
  return [
    { name: 'end past the data section', bytes: withOffsets('conv1.bias', [length - 8, length + 16]), outcome: 'file' },
    { name: 'begin and end 2^53 past the data', bytes: withOffsets('conv1.bias', [2 ** 53, 2 ** 53 + 24]), outcome: 'file' },
    { name: 'end 2^64', bytes: withOffsets('conv1.bias', [b1, 2 ** 64]), outcome: 'file' },
    { name: 'begin after end', bytes: withOffsets('conv1.bias', [e1, b1]), outcome: 'file' },
    { name: 'negative begin', bytes: withOffsets('conv1.bias', [-24, 0]), outcome: 'file' },
    { name: 'fractional offsets', bytes: withOffsets('conv1.bias', [b1 + 0.5, e1 + 0.5]), outcome: 'file' },
    { name: 'offsets as strings', bytes: withOffsets('conv1.bias', [String(b1), String(e1)]), outcome: 'file' },
    { name: 'three offsets', bytes: withOffsets('conv1.bias', [b1, e1, e1]), outcome: 'file' },
    { name: 'offsets missing', bytes: base.with((h) => void delete (h['conv1.bias'] as Partial<Entry>).data_offsets), outcome: 'file' },
    { name: 'two tensors starting at the same byte', bytes: withOffsets('conv1.weight', [b1, b1 + (e2 - b2)]), outcome: 'file' },
    { name: 'overlap by 4 bytes', bytes: withOffsets('conv1.weight', [b2 - 4, e2 - 4]), outcome: 'file' },
    { name: 'gap-leaving offsets (16 unused bytes)', bytes: base.with((h, data) => {
      for (const [name, value] of Object.entries(h)) {
        if (name === '__metadata__') continue;
        const offsets = (value as Entry).data_offsets as [number, number];
        if (offsets[0] >= b1 && name !== 'conv1.bias') (value as Entry).data_offsets = [offsets[0] + 16, offsets[1] + 16];
      }
      base.entry(h, 'conv1.bias').data_offsets = [b1, e1];
      const grown = new Uint8Array(data.length + 16);
      grown.set(data.subarray(0, e1), 0);
      grown.set(data.subarray(e1), e1 + 16);
      return grown;
    }), outcome: 'file' },
    { name: 'trailing bytes no tensor owns', bytes: base.with((_, data) => concat(data, Uint8Array.of(1, 2, 3, 4))), outcome: 'file' },
    { name: 'data section 4 bytes short', bytes: base.with((_, data) => data.subarray(0, data.length - 4)), outcome: 'file' },
  ];
}

function valueCases(base: Base): CraftedCase[] {
  const [begin] = base.offsets('fc2.weight');
  const poke32 = (bits: number, index = 17) => base.with((_, data) => f32Bits(data, begin + 4 * index, bits));
  const halfIndex = begin / 4 + 17; // element index: the F16 file has the same elements
  return [
    { name: 'F32 quiet NaN', bytes: poke32(0x7fc00000), outcome: 'file' },
    { name: 'F32 NaN with a payload, sign set', bytes: poke32(0xffa5a5a5), outcome: 'file' },
    { name: 'F32 +Infinity', bytes: poke32(0x7f800000), outcome: 'file' },
    { name: 'F32 -Infinity in the last element', bytes: base.with((_, data) => f32Bits(data, data.length - 4, 0xff800000)), outcome: 'file' },
    { name: 'F16 NaN', bytes: seedAsF16(base, (h) => void (h[halfIndex] = 0x7e00)), outcome: 'file' },
    { name: 'F16 +Infinity', bytes: seedAsF16(base, (h) => void (h[halfIndex] = 0x7c00)), outcome: 'file' },
    { name: 'F16 -Infinity', bytes: seedAsF16(base, (h) => void (h[0] = 0xfc00)), outcome: 'file' },
    { name: 'F32 largest finite value (valid)', bytes: poke32(0x7f7fffff), outcome: 'accept' },
    { name: 'F32 smallest subnormal and -0 (valid)', bytes: base.with((_, data) => { f32Bits(data, begin, 1); f32Bits(data, begin + 4, 0x80000000); }), outcome: 'accept' },
    { name: 'the seed model as F16 (valid)', bytes: seedAsF16(base), outcome: 'accept' },
    { name: 'F16 largest finite and subnormal (valid)', bytes: seedAsF16(base, (h) => { h[halfIndex] = 0x7bff; h[halfIndex + 1] = 0x8001; }), outcome: 'accept' },
  ];
}

function modelCases(base: Base, classic: Base): CraftedCase[] {
  const meta = (edit: Record<string, unknown>) => base.with((h) => void Object.assign(h['__metadata__'] as object, edit));
  const classicMeta = (edit: Record<string, unknown>) => classic.with((h) => void Object.assign(h['__metadata__'] as object, edit));
  const noMetadata = base.with((h) => void delete h['__metadata__']);
  const foreign = assemble(
    JSON.stringify({ 'encoder.layer.0.weight': { dtype: 'F32', shape: [4, 2], data_offsets: [0, 32] }, 'encoder.layer.0.bias': { dtype: 'F32', shape: [4], data_offsets: [32, 48] } }),
    new Uint8Array(48),
  );
  const [b3, e3] = base.offsets('fc3.bias');
  return [
    { name: 'valid safetensors of another model (no lenet5 tensor)', bytes: foreign, outcome: 'model' },
    { name: 'valid safetensors of another model, claiming to be seed', bytes: assemble(JSON.stringify({ __metadata__: { 'lenet5.model': 'seed' }, x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), new Uint8Array(4)), outcome: 'model' },
    { name: 'empty header {}', bytes: assemble('{}', new Uint8Array(0)), outcome: 'model' },
    { name: 'only __metadata__', bytes: assemble('{"__metadata__":{"lenet5.model":"seed"}}', new Uint8Array(0)), outcome: 'model' },
    { name: 'classic tensors labelled seed', bytes: classicMeta({ 'lenet5.model': 'seed', 'lenet5.activation': 'sigmoid' }), outcome: 'model' },
    { name: 'seed tensors labelled classic', bytes: meta({ 'lenet5.model': 'classic' }), outcome: 'model' },
    { name: "unknown model 'resnet'", bytes: meta({ 'lenet5.model': 'resnet' }), outcome: 'file' },
    { name: "classic with activation 'relu'", bytes: classicMeta({ 'lenet5.activation': 'relu' }), outcome: 'file' },
    { name: 'seed with activation scaled-tanh', bytes: meta({ 'lenet5.activation': 'scaled-tanh' }), outcome: 'file' },
    { name: 'seed without fc3.bias (data trimmed)', bytes: base.with((h, data) => {
      delete h['fc3.bias'];
      for (const value of Object.values(h)) {
        const offsets = (value as Entry).data_offsets as [number, number] | undefined;
        if (offsets && offsets[0] >= e3) (value as Entry).data_offsets = [offsets[0] - (e3 - b3), offsets[1] - (e3 - b3)];
      }
      return concat(data.subarray(0, b3), data.subarray(e3));
    }), outcome: 'model' },
    { name: 'seed plus an extra tensor', bytes: base.with((h, data) => {
      h['fc4.bias'] = { dtype: 'F32', shape: [1], data_offsets: [data.length, data.length + 4] };
      return concat(data, new Uint8Array(4));
    }), outcome: 'model' },
    { name: 'seed tensors renamed (model.conv1.weight, …)', bytes: assemble(JSON.stringify(Object.fromEntries(Object.entries(noMetadataHeader(base)).map(([k, v]) => [`model.${k}`, v]))), base.data), outcome: 'model' },
    { name: 'pad 2 for the seed model', bytes: meta({ 'lenet5.input.pad': '2' }), outcome: 'file' },
    { name: 'pad 0 for the classic model', bytes: classicMeta({ 'lenet5.input.pad': '0' }), outcome: 'file' },
    { name: "background 'NaN'", bytes: meta({ 'lenet5.input.background': 'NaN' }), outcome: 'file' },
    { name: "ink '1e999'", bytes: meta({ 'lenet5.input.ink': '1e999' }), outcome: 'file' },
    { name: "ink '0x1'", bytes: meta({ 'lenet5.input.ink': '0x1' }), outcome: 'file' },
    { name: 'ink equal to background', bytes: meta({ 'lenet5.input.ink': '0', 'lenet5.input.background': '0' }), outcome: 'file' },
    { name: 'metadata value a number', bytes: meta({ 'lenet5.input.pad': 0 }), outcome: 'file' },
    { name: 'metadata value null', bytes: meta({ 'lenet5.train.seed': null }), outcome: 'file' },
    { name: '__metadata__ an array', bytes: base.with((h) => void (h['__metadata__'] = ['lenet5.model', 'seed'])), outcome: 'file' },
    { name: '__metadata__ a string', bytes: base.with((h) => void (h['__metadata__'] = 'seed')), outcome: 'file' },
    { name: 'a tensor entry that is a string', bytes: base.with((h) => void (h['conv1.bias'] = 'F32')), outcome: 'file' },
    { name: 'no __metadata__ (PyTorch save_file; valid)', bytes: noMetadata, outcome: 'accept' },
    { name: "a '__proto__' metadata key (valid, just a key)", bytes: assemble(JSON.stringify(base.header).replace('"__metadata__":{', '"__metadata__":{"__proto__":"x",'), base.data), outcome: 'accept' },
    { name: 'header padded with spaces, tabs and newlines (valid)', bytes: assemble(`${JSON.stringify(base.header, null, '\t')}\r\n        `, base.data), outcome: 'accept' },
    { name: 'tensors listed in reverse order (valid)', bytes: assemble(JSON.stringify(Object.fromEntries(Object.entries(base.header).reverse())), base.data), outcome: 'accept' },
  ];
}

function noMetadataHeader(base: Base): Header {
  const { __metadata__: _, ...rest } = base.header;
  return rest;
}

/**
 * Headers as large as the cap allows, of the shapes that cost the parser most per byte: the
 * worst a file can cost the loader (time and memory) is one of these.
 */
function sizeCases(base: Base): CraftedCase[] {
  const json = JSON.stringify(base.header);
  const room = kMaxHeaderBytes - encoder.encode(json).length - 64;
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `"k${i}":"v"`).join(',');
  const keyCount = Math.floor(room / `"k${room}":"v",`.length);
  const [, end] = base.offsets('fc3.weight');
  const tensorEntry = (i: number) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[${end},${end}]}`;
  const tensorCount = Math.floor(room / (tensorEntry(99_999).length + 1));
  return [
    {
      name: `header at the cap: one ${Math.round(room / 1024)} KiB metadata value (valid)`,
      bytes: base.with((h) => void ((h['__metadata__'] as Record<string, string>)['lenet5.notes'] = 'x'.repeat(room))),
      outcome: 'accept',
    },
    {
      name: `header at the cap: ${keyCount.toLocaleString('en')} metadata keys (valid)`,
      bytes: assemble(json.replace('"__metadata__":{', `"__metadata__":{${keys(keyCount)},`), base.data),
      outcome: 'accept',
    },
    {
      name: `header at the cap: a shape of ${Math.floor(room / 2).toLocaleString('en')} dimensions`,
      bytes: assemble(replaceEntryText(base, 'conv1.bias', `{"dtype":"F32","shape":[6${',1'.repeat(Math.floor(room / 2))}],"data_offsets":${JSON.stringify(base.offsets('conv1.bias'))}}`), base.data),
      outcome: 'model',
    },
    {
      name: `header at the cap: ${tensorCount.toLocaleString('en')} extra empty tensors`,
      bytes: assemble(`${json.slice(0, -1)},${Array.from({ length: tensorCount }, (_, i) => tensorEntry(i)).join(',')}}`, base.data),
      outcome: 'model',
    },
  ];
}

/** Every crafted case, built from seeded random seed and classic models. */
export function craftedCases(): CraftedCase[] {
  const seed = new Base(saveWeights(randomWeights(seedModel, 7)));
  const classic = new Base(saveWeights(randomWeights(classicModel('scaled-tanh'), 7)));
  return [
    ...lengthCases(seed),
    ...syntaxCases(seed),
    ...duplicateCases(seed),
    ...dtypeCases(seed),
    ...shapeCases(seed),
    ...offsetCases(seed),
    ...valueCases(seed),
    ...modelCases(seed, classic),
    ...sizeCases(seed),
  ];
}
