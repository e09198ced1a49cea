/**
 * Element types a safetensors file may declare, and the conversion of the two this engine
 * reads (F32 as is, F16 widened to float32).
 */

/** Every dtype the safetensors format defines, with its size in bytes (sub-byte types: 1). */
export const kSafetensorsDtypes: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, F4: 1, F6_E2M3: 1, F6_E3M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

/** The dtypes this engine reads, and their sizes. */
export const kReadableDtypes = { F32: 4, F16: 2 } as const;
export type ReadableDtype = keyof typeof kReadableDtypes;

const kLittleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies little-endian float32 bytes into a fresh Float32Array. Always a copy: the source may
 * sit at an offset that is not a multiple of 4, and the caller keeps its own buffer.
 *
 * @example
 * readFloat32(new Uint8Array([0, 0, 0x80, 0x3f])); // Float32Array [1]
 */
export function readFloat32(bytes: Uint8Array): Float32Array {
  const count = bytes.length / 4;
  // new Uint8Array(typedArray) always copies; a Node Buffer's .slice() would not.
  if (kLittleEndianHost) return new Float32Array(new Uint8Array(bytes).buffer, 0, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
}

/** Every half's value, indexed by its 16 bits; built on first use (256 KiB). */
let halfValues: Float32Array | undefined;

/**
 * Widens little-endian IEEE half floats to float32 (exact: every half is a float32). One table
 * lookup per element: computing each value took ~50–200 ns, so a 60k-parameter file spent
 * most of a 100 ms loading budget here on a busy CPU.
 *
 * @example
 * readFloat16(new Uint8Array([0x00, 0x3c])); // Float32Array [1]
 */
export function readFloat16(bytes: Uint8Array): Float32Array {
  const table = (halfValues ??= Float32Array.from({ length: 0x10000 }, (_, bits) => halfToFloat(bits)));
  const count = bytes.length / 2;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = table[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
  return out;
}

/**
 * One IEEE 754 binary16 value (as its 16 bits) to a number.
 *
 * @example
 * halfToFloat(0xc100); // -2.5
 */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * Little-endian float32 bytes of `data` (a copy).
 *
 * @example
 * float32Bytes(new Float32Array([1])); // Uint8Array [0, 0, 128, 63]
 */
export function float32Bytes(data: Float32Array): Uint8Array {
  if (kLittleEndianHost) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}
