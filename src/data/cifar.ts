/**
 * CIFAR-10's binary batches (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`): no
 * header, a whole number of 3,073-byte records, each one label byte (0..9) followed by the
 * 32×32 image as three 1,024-byte planes, red, green, blue, each row by row. The file's length
 * is checked before anything is read; the images are copied out without the label bytes, so
 * they are planar RGB, image after image, as the engine takes them.
 */
import { DataFileError } from '../errors.js';

/** Side of a CIFAR-10 image in pixels. */
export const kCifarSize = 32;
/** Colour planes per image: red, green, blue. */
export const kCifarChannels = 3;
/** Bytes of one image: 3 planes of 32×32. */
export const kCifarImageBytes = kCifarChannels * kCifarSize * kCifarSize;
/** Bytes of one record: the label byte, then the image. */
export const kCifarRecordBytes = 1 + kCifarImageBytes;

/** A CIFAR-10 batch as the engine takes it. */
export interface CifarBatch {
  readonly count: number;
  /** count × 3 × 32 × 32 bytes: each image's red, green and blue planes, row by row. */
  readonly pixels: Uint8Array;
  /** count labels, 0..9 (src/model/presets.ts's kCifar10Labels names them). */
  readonly labels: Uint8Array;
}

/**
 * Whether `bytes` has a CIFAR-10 batch's shape: a non-zero whole number of 3,073-byte records,
 * each starting with a label byte below 10. Reads only the label bytes.
 *
 * @example
 * looksLikeCifar10(readFileSync('test_batch.bin')); // true
 */
export function looksLikeCifar10(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length % kCifarRecordBytes !== 0) return false;
  for (let offset = 0; offset < bytes.length; offset += kCifarRecordBytes) if (bytes[offset]! > 9) return false;
  return true;
}

/**
 * Parses a CIFAR-10 binary batch. Throws DataFileError for an empty file, a length that is not
 * a whole number of records (a truncated download, or another file), or a label byte above 9
 * (CIFAR-100's two-label records, or not CIFAR at all).
 *
 * @example
 * const { count, pixels, labels } = parseCifar10(readFileSync('cifar-10-batches-bin/test_batch.bin'));
 * count; // 10000
 * const engine = await createEngine('cifar_net.pth', { architecture: 'pytorch-cifar10-tutorial' });
 * await engine.infer(pixels, count);
 */
export function parseCifar10(bytes: Uint8Array): CifarBatch {
  if (bytes.length === 0) throw new DataFileError('CIFAR-10 batch is empty: expected records of 3,073 bytes (1 label + 3×32×32 pixels)', 0);
  const whole = Math.floor(bytes.length / kCifarRecordBytes);
  const left = bytes.length - whole * kCifarRecordBytes;
  if (left !== 0) {
    throw new DataFileError(
      `CIFAR-10 batch length ${bytes.length} is not a whole number of 3,073-byte records ` +
        `(1 label + 3×32×32 pixels): ${whole} records and ${left} bytes over` +
        (whole > 0 ? ' (truncated?)' : ''),
      whole * kCifarRecordBytes,
    );
  }
  const labels = new Uint8Array(whole);
  const pixels = new Uint8Array(whole * kCifarImageBytes);
  for (let i = 0; i < whole; i++) {
    const offset = i * kCifarRecordBytes;
    const label = bytes[offset]!;
    if (label > 9) {
      throw new DataFileError(`CIFAR-10 record ${i}: expected a label byte 0..9, found ${label}`, offset);
    }
    labels[i] = label;
    pixels.set(bytes.subarray(offset + 1, offset + kCifarRecordBytes), i * kCifarImageBytes);
  }
  return { count: whole, pixels, labels };
}
