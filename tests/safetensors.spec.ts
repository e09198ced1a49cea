/**
 * The safetensors reader and writer (src/weights/safetensors.ts): round trips, a file
 * byte-identical to what `safetensors.torch.save_file` writes, and one test per validation
 * failure, each checking the error's type, tensor, absolute byte offset, and that its message
 * says what was expected and what was found.
 */
import { expect, test } from '@playwright/test';
import { InputError, WeightsFileError } from '../src/errors.js';
import { kMaxHeaderBytes, parseSafetensors, writeSafetensors, type TensorToWrite } from '../src/weights/safetensors.js';

const encoder = new TextEncoder();

/** A file from raw header text and data bytes; `headerLength` overrides the length field. */
function craft(header: string, data: ArrayLike<number> = [], headerLength?: number): Uint8Array {
  const json = encoder.encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  const view = new DataView(out.buffer);
  const length = headerLength ?? json.length;
  view.setUint32(0, length % 2 ** 32, true);
  view.setUint32(4, Math.floor(length / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian float32 bytes. */
function f32(...values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** Absolute byte offset of `text`'s first occurrence in a header crafted by `craft` (ASCII). */
function at(header: string, text: string): number {
  const index = header.indexOf(text);
  if (index < 0) throw new Error(`'${text}' not in header`);
  return 8 + index;
}

interface Expected {
  tensor?: string;
  byteOffset: number;
  /** Fragments the message must contain, besides 'expected' and 'found'. */
  says: string[];
}

function expectWeightsError(bytes: Uint8Array, expected: Expected): WeightsFileError {
  let error: unknown;
  try {
    parseSafetensors(bytes);
  } catch (e) {
    error = e;
  }
  expect(error, 'parseSafetensors should have thrown').toBeInstanceOf(WeightsFileError);
  const e = error as WeightsFileError;
  expect(e.code).toBe('weights-file');
  expect(e.tensor).toBe(expected.tensor);
  expect(e.byteOffset).toBe(expected.byteOffset);
  expect(e.message).toContain(`byte ${expected.byteOffset}`);
  if (expected.tensor !== undefined) expect(e.message).toContain(`tensor '${expected.tensor}'`);
  for (const fragment of ['expected', 'found', ...expected.says]) expect(e.message).toContain(fragment);
  return e;
}

const tensorEntry = (dtype: string, shape: number[], begin: number, end: number) =>
  `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;

test.describe('round trip', () => {
  test('writer → reader gives back every tensor, shape and metadata value exactly', () => {
    const tensors = new Map<string, TensorToWrite>([
      ['conv.weight', { shape: [2, 1, 2, 2], data: new Float32Array([1, -2, 3.5, 1e-30, -0, 7, 8, 9]) }],
      ['conv.bias', { shape: [2], data: new Float32Array([0.1, -0.2]) }],
      ['scalar', { shape: [], data: new Float32Array([42]) }],
      ['empty', { shape: [0, 3], data: new Float32Array(0) }],
    ]);
    const metadata = { 'lenet5.model': 'seed', note: 'é ✓ "quoted" \\ \n', ['__proto__']: 'just a key' };
    const file = parseSafetensors(writeSafetensors(tensors, metadata));
    expect(file.hasMetadata).toBe(true);
    expect(Object.entries(file.metadata).sort()).toEqual(Object.entries(metadata).sort());
    expect(Object.getPrototypeOf(file.metadata)).toBe(Object.prototype);
    expect([...file.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, { shape, data }] of tensors) {
      const read = file.tensors.get(name)!;
      expect(read.dtype).toBe('F32');
      expect(read.shape).toEqual(shape);
      expect(Array.from(read.data)).toEqual(Array.from(data));
    }
  });

  test('a file without __metadata__ reads with empty metadata', () => {
    const file = parseSafetensors(writeSafetensors(new Map([['x', { shape: [1], data: new Float32Array([5]) }]])));
    expect(file.hasMetadata).toBe(false);
    expect(file.metadata).toEqual({});
    expect(Array.from(file.tensors.get('x')!.data)).toEqual([5]);
  });

  test('the reader copies: tensors at unaligned offsets are read right and do not alias the input', () => {
    const bytes = writeSafetensors(new Map([['w', { shape: [3], data: new Float32Array([1.5, -2.25, 3]) }]]));
    // The same file at byte 1 of a bigger buffer: every float sits at an odd address.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const view = shifted.subarray(1);
    const data = parseSafetensors(view).tensors.get('w')!.data;
    expect(Array.from(data)).toEqual([1.5, -2.25, 3]);
    expect(data.buffer).not.toBe(shifted.buffer);
    shifted.fill(0);
    expect(Array.from(data)).toEqual([1.5, -2.25, 3]);
  });

  test('a Node Buffer at an offset inside a larger buffer reads right (Buffer.slice is a view)', () => {
    const bytes = writeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([7, -8]) }]]));
    const buffer = Buffer.concat([Buffer.alloc(5, 0xee), Buffer.from(bytes)]).subarray(5);
    expect(buffer.byteOffset).toBeGreaterThan(0);
    expect(Array.from(parseSafetensors(buffer).tensors.get('w')!.data)).toEqual([7, -8]);
  });

  test('F16 tensors are widened to float32 exactly (normal, subnormal, signed zero, max)', () => {
    // Half bit patterns: 1.0 = 0x3C00, −2.5 = 0xC100, smallest subnormal 2^−24 = 0x0001,
    // −0 = 0x8000, largest finite 65504 = 0x7BFF; little-endian bytes below.
    const halves = [0x3c00, 0xc100, 0x0001, 0x8000, 0x7bff];
    const data = halves.flatMap((h) => [h & 0xff, h >> 8]);
    const header = `{"h":${tensorEntry('F16', [5], 0, 10)}}`;
    const read = parseSafetensors(craft(header, data)).tensors.get('h')!;
    expect(read.dtype).toBe('F16');
    expect(Array.from(read.data)).toEqual([1, -2.5, 2 ** -24, -0, 65504]);
    expect(Object.is(read.data[3], -0)).toBe(true);
  });

  test('tensors may be listed in any order in the header; offsets decide where the bytes are', () => {
    const header = `{"b":${tensorEntry('F32', [1], 4, 8)},"a":${tensorEntry('F32', [1], 0, 4)}}`;
    const file = parseSafetensors(craft(header, f32(10, 20)));
    expect(Array.from(file.tensors.get('a')!.data)).toEqual([10]);
    expect(Array.from(file.tensors.get('b')!.data)).toEqual([20]);
  });

  test('header whitespace, escapes and padding are accepted', () => {
    const header = ` { "w\\u0031" : {"dtype":"F32", "shape":[ 2 ], "data_offsets":[0, 8]} }      `;
    const file = parseSafetensors(craft(header.trimStart(), f32(1, 2)));
    expect(Array.from(file.tensors.get('w1')!.data)).toEqual([1, 2]);
  });
});

test.describe('byte-identical to safetensors.torch.save_file', () => {
  test('a two-tensor float32 state dict, bytes written out by hand from the format', () => {
    // What safetensors (Rust core, used by safetensors.torch.save_file) writes, from its
    // `prepare`/`serialize`: tensors sorted by descending dtype then by name (all F32 here, so
    // by name: "bias" < "weight"), a compact serde_json header with fields in the order
    // dtype, shape, data_offsets and no __metadata__ (save_file passes metadata=None), padded
    // with spaces to a multiple of 8, the u64 length little-endian, then the raw LE data
    // back to back. Its own test vector for {"test": zeros(2,2) int32} is
    // b'@\x00…{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    \x00…' (60 bytes
    // of JSON + 4 spaces = 0x40); this is the same construction for float32.
    const json =
      '{"bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"weight":{"dtype":"F32","shape":[2,1],"data_offsets":[8,16]}}';
    expect(json.length).toBe(118); // → padded with 2 spaces to 120 = 0x78
    const expected = [
      0x78, 0, 0, 0, 0, 0, 0, 0,
      ...Array.from(json, (c) => c.charCodeAt(0)), 0x20, 0x20,
      // bias = [1.0, -2.0]: 0x3F800000, 0xC0000000, little-endian
      0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
      // weight = [[0.5], [3.0]]: 0x3F000000, 0x40400000
      0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x40, 0x40,
    ];
    // Inserted in the "wrong" order on purpose: the writer must sort.
    const written = writeSafetensors(
      new Map([
        ['weight', { shape: [2, 1], data: new Float32Array([0.5, 3]) }],
        ['bias', { shape: [2], data: new Float32Array([1, -2]) }],
      ]),
    );
    expect(Array.from(written)).toEqual(expected);
  });

  test('with metadata, __metadata__ comes first and the header stays a multiple of 8', () => {
    const written = writeSafetensors(new Map([['x', { shape: [1], data: new Float32Array([1]) }]]), { a: 'b' });
    const length = new DataView(written.buffer).getUint32(0, true);
    expect(length % 8).toBe(0);
    const header = new TextDecoder().decode(written.subarray(8, 8 + length));
    expect(header).toBe('{"__metadata__":{"a":"b"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'.padEnd(length, ' '));
  });

  test('names sort by UTF-8 bytes as Rust does, not by UTF-16 units', () => {
    // U+FF5E (UTF-8 EF BD 9E) sorts before U+1F600 (F0 9F 98 80) in bytes, after it in UTF-16.
    const names = ['\u{1F600}', '\uFF5E'];
    const written = writeSafetensors(new Map(names.map((n) => [n, { shape: [1], data: new Float32Array([1]) }])));
    const header = new TextDecoder().decode(written.subarray(8, 8 + new DataView(written.buffer).getUint32(0, true)));
    expect(header.indexOf('\uFF5E')).toBeLessThan(header.indexOf('\u{1F600}'));
  });
});

test.describe('writer refuses what the reader would refuse', () => {
  test('shape disagreeing with data, non-finite values, reserved name', () => {
    const write = (tensor: TensorToWrite, name = 't') => () => writeSafetensors(new Map([[name, tensor]]));
    expect(write({ shape: [3], data: new Float32Array(2) })).toThrow(InputError);
    expect(write({ shape: [3], data: new Float32Array(2) })).toThrow(/needs 3 values, found 2/);
    expect(write({ shape: [2], data: new Float32Array([1, NaN]) })).toThrow(/element 1 must be finite, found NaN/);
    expect(write({ shape: [1], data: new Float32Array([1]) }, '__metadata__')).toThrow(InputError);
  });

  test('a header past the cap (metadata too long) is refused; one just under it reads back', () => {
    const tensors = new Map([['t', { shape: [1], data: new Float32Array([1]) }]]);
    // '{"__metadata__":{"notes":"…"},"t":{…}}': everything but the value is under 100 bytes.
    const withNotes = (length: number) => () => writeSafetensors(tensors, { notes: 'x'.repeat(length) });
    expect(withNotes(kMaxHeaderBytes)).toThrow(InputError);
    expect(withNotes(kMaxHeaderBytes)).toThrow(new RegExp(`expected at most ${kMaxHeaderBytes} bytes`));
    const fits = withNotes(kMaxHeaderBytes - 100)();
    expect(parseSafetensors(fits).metadata['notes']).toHaveLength(kMaxHeaderBytes - 100);
  });
});

test.describe('each validation failure is a WeightsFileError saying where, expected and found', () => {
  test('file shorter than the 8-byte header length', () => {
    expectWeightsError(new Uint8Array([1, 0, 0]), { byteOffset: 0, says: ['at least 8 bytes', 'found 3'] });
  });

  test('header length larger than the file', () => {
    const header = `{"a":${tensorEntry('F32', [1], 0, 4)}}`;
    const bytes = craft(header, f32(1), 1000);
    expectWeightsError(bytes, { byteOffset: 0, says: [`at most ${bytes.length - 8}`, 'found 1000'] });
  });

  test('absurdly large header length (u64 beyond 2^32, and beyond the 64 KiB cap)', () => {
    expectWeightsError(craft('{}', [], 2 ** 40), { byteOffset: 0, says: ['absurd', `found ${2 ** 40}`] });
    expectWeightsError(craft('{}', [], kMaxHeaderBytes + 1), { byteOffset: 0, says: [`${kMaxHeaderBytes + 1}`] });
  });

  test('header too short to hold an object', () => {
    expectWeightsError(craft('{', []), { byteOffset: 0, says: ['at least 2', 'found 1'] });
  });

  test('header that is not a JSON object', () => {
    expectWeightsError(craft('[1,2]'), { byteOffset: 8, says: ["start with '{'", "found byte 0x5b"] });
    expectWeightsError(craft('xx'), { byteOffset: 8, says: ["start with '{'"] });
  });

  test('malformed JSON: missing value, trailing garbage, unterminated string, bad literal', () => {
    expectWeightsError(craft('{"a":}'), { byteOffset: 13, says: ['expected a JSON value', "found '}'"] });
    expectWeightsError(craft('{} x'), { byteOffset: 11, says: ['end of the JSON header', "found 'x'"] });
    expectWeightsError(craft('{"abc'), { byteOffset: 9, says: ['unterminated string'] });
    expectWeightsError(craft('{"a":tru}'), { byteOffset: 13, says: ["expected 'true'", "found 't'"] });
    expectWeightsError(craft('{"a":01}'), { byteOffset: 14, says: ["expected ',' or '}'", "found '1'"] });
  });

  test('deeply nested JSON is rejected at the depth bound, without recursing', () => {
    const header = `{"a":${'['.repeat(60_000)}`; // 60 KB: within the 64 KiB header cap
    const started = performance.now();
    expectWeightsError(craft(header), { byteOffset: at(header, '[[[[') + 2, says: ['at most 3 levels of nesting', 'found deeper'] });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('string that is not valid UTF-8', () => {
    const bytes = craft('{"a\u0000b":1}');
    bytes[11] = 0xff; // the U+0000 placeholder becomes a lone 0xFF byte inside the key
    expectWeightsError(bytes, { byteOffset: 9, says: ['not valid UTF-8'] });
  });

  test('duplicate tensor names (JSON.parse would keep the last silently)', () => {
    const header = `{"w":${tensorEntry('F32', [1], 0, 4)},"w":${tensorEntry('F32', [1], 4, 8)}}`;
    const second = header.indexOf('"w"', 5);
    expectWeightsError(craft(header, f32(1, 2)), { byteOffset: 8 + second, says: ["duplicate key 'w'", 'first at byte 9'] });
  });

  test('__metadata__ that is not an object of strings', () => {
    const header = `{"__metadata__":{"lenet5.input.pad":2},"a":${tensorEntry('F32', [1], 0, 4)}}`;
    expectWeightsError(craft(header, f32(1)), {
      byteOffset: at(header, '"lenet5.input.pad"'),
      says: ["__metadata__['lenet5.input.pad']", 'a string value', 'found 2'],
    });
    const notObject = `{"__metadata__":"x"}`;
    expectWeightsError(craft(notObject), { byteOffset: 9, says: ['an object of strings', 'found "x"'] });
  });

  test('tensor entry that is not an object, or lacks a field', () => {
    expectWeightsError(craft('{"a":[1]}'), { tensor: 'a', byteOffset: 9, says: ['{dtype, shape, data_offsets}', 'found [1]'] });
    const header = '{"a":{"dtype":"F32","shape":[1]}}';
    expectWeightsError(craft(header, f32(1)), { tensor: 'a', byteOffset: 9, says: ["'data_offsets' field", 'found none'] });
  });

  test('unknown dtype', () => {
    const header = `{"x":${tensorEntry('Q7', [1], 0, 4)}}`;
    expectWeightsError(craft(header, f32(1)), { tensor: 'x', byteOffset: 9, says: ["unknown dtype 'Q7'", 'F32 or F16'] });
  });

  test('known but unsupported dtype', () => {
    const header = `{"x":${tensorEntry('BF16', [2], 0, 4)}}`;
    expectWeightsError(craft(header, f32(1)), { tensor: 'x', byteOffset: 9, says: ["unsupported dtype 'BF16'", 'F32 or F16'] });
  });

  test('shape with a negative, fractional or huge entry', () => {
    for (const shape of ['[-1]', '[1.5]', '[1e300]', '["2"]', '2']) {
      const header = `{"x":{"dtype":"F32","shape":${shape},"data_offsets":[0,4]}}`;
      expectWeightsError(craft(header, f32(1)), { tensor: 'x', byteOffset: 9, says: ['non-negative integers'] });
    }
  });

  test('shape × dtype size disagreeing with the byte length', () => {
    const header = `{"a":${tensorEntry('F32', [1], 0, 4)},"x":${tensorEntry('F32', [2, 3], 4, 20)}}`;
    expectWeightsError(craft(header, new Uint8Array(20)), {
      tensor: 'x',
      byteOffset: 8 + header.length + 4,
      says: ['shape [2, 3]', 'expected 24 bytes', 'found 16'],
    });
  });

  test('huge shape whose product overflows is a mismatch, not an allocation', () => {
    const header = `{"x":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`;
    expectWeightsError(craft(header, f32(1)), { tensor: 'x', byteOffset: 8 + header.length, says: ['found 4'] });
  });

  test('negative and malformed offsets', () => {
    for (const offsets of ['[-4,0]', '[0]', '[0,4,8]', '[0,4.5]', '"0,4"']) {
      const header = `{"x":{"dtype":"F32","shape":[1],"data_offsets":${offsets}}}`;
      expectWeightsError(craft(header, f32(1)), { tensor: 'x', byteOffset: 9, says: ['[begin, end]'] });
    }
  });

  test('end before begin', () => {
    const header = `{"x":${tensorEntry('F32', [0], 4, 0)}}`;
    expectWeightsError(craft(header, f32(1)), { tensor: 'x', byteOffset: 9, says: ['begin ≤ end', 'found [4, 0]'] });
  });

  test('offsets past the end of the data section', () => {
    const header = `{"x":${tensorEntry('F32', [2], 0, 8)}}`;
    expectWeightsError(craft(header, f32(1)), {
      tensor: 'x',
      byteOffset: 8 + header.length,
      says: ['end ≤ 4', 'found [0, 8]'],
    });
  });

  test('overlapping tensors', () => {
    const header = `{"a":${tensorEntry('F32', [2], 0, 8)},"b":${tensorEntry('F32', [2], 4, 12)}}`;
    expectWeightsError(craft(header, new Uint8Array(12)), {
      tensor: 'b',
      byteOffset: 8 + header.length + 4,
      says: ["overlap tensor 'a'", 'expected begin 8', 'found 4'],
    });
  });

  test('a gap between tensors', () => {
    const header = `{"a":${tensorEntry('F32', [1], 0, 4)},"b":${tensorEntry('F32', [1], 8, 12)}}`;
    expectWeightsError(craft(header, new Uint8Array(12)), {
      tensor: 'b',
      byteOffset: 8 + header.length + 4,
      says: ['gap of 4', 'expected begin 4', 'found 8'],
    });
  });

  test('trailing bytes no tensor owns', () => {
    const header = `{"a":${tensorEntry('F32', [1], 0, 4)}}`;
    expectWeightsError(craft(header, new Uint8Array(7)), {
      byteOffset: 8 + header.length + 4,
      says: ['expected 7', '3 trailing bytes'],
    });
  });

  test('NaN and ±Inf values, F32 and F16, name the element', () => {
    const header = `{"a":${tensorEntry('F32', [1], 0, 4)},"x":${tensorEntry('F32', [3], 4, 16)}}`;
    const dataStart = 8 + header.length;
    expectWeightsError(craft(header, f32(0, 1, NaN, 2)), {
      tensor: 'x',
      byteOffset: dataStart + 8,
      says: ['element 1', 'a finite value', 'found NaN'],
    });
    expectWeightsError(craft(header, f32(0, 1, 2, -Infinity)), {
      tensor: 'x',
      byteOffset: dataStart + 12,
      says: ['element 2', 'found -Infinity'],
    });
    const half = `{"h":${tensorEntry('F16', [2], 0, 4)}}`;
    expectWeightsError(craft(half, [0x00, 0x3c, 0x00, 0x7c]), {
      tensor: 'h',
      byteOffset: 8 + half.length + 2,
      says: ['element 1', 'found Infinity'],
    });
  });

  test('a __proto__ tensor name is just a name (and then an ordinary tensor)', () => {
    const header = `{"__proto__":${tensorEntry('F32', [1], 0, 4)}}`;
    const file = parseSafetensors(craft(header, f32(3)));
    expect(Array.from(file.tensors.get('__proto__')!.data)).toEqual([3]);
  });
});
