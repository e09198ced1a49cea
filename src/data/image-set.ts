/**
 * An image file of either kind `npm run eval` reads, told apart by its bytes, never by its name:
 * IDX images (MNIST, Fashion-MNIST: a big-endian header that starts 00 00 08 03, grey) or a
 * CIFAR-10 binary batch (no header: a whole number of 3,073-byte records, each a label byte
 * below 10 and a planar RGB 32×32 image).
 *
 * The two can look alike only by accident: a CIFAR-10 batch whose first image begins with the
 * bytes 00 08 03 after a label 0 starts like an IDX file. So an IDX header is believed only when
 * the file's length is exactly what the header says; a file that is a valid IDX file and also a
 * whole number of CIFAR-10 records with good label bytes is read as IDX, and `detected` says so.
 */
import { DataFileError } from '../errors.js';
import { kCifarChannels, kCifarRecordBytes, kCifarSize, looksLikeCifar10, parseCifar10 } from './cifar.js';
import { parseIdxImages } from './idx.js';

/** Images read from a file, planar: count × channels × height × width bytes. */
export interface ImageSet {
  readonly format: 'idx' | 'cifar10';
  readonly count: number;
  /** 1 for grey (IDX), 3 for RGB (CIFAR-10). */
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** count × channels × height × width bytes, 0..255; each image's planes one after another. */
  readonly pixels: Uint8Array;
  /** The file's own labels (CIFAR-10 records carry theirs); IDX labels come in a file of their own. */
  readonly labels?: Uint8Array;
  /** What was found, for people: `IDX images (magic 2051): 10,000 grey images of 28×28`. */
  readonly detected: string;
}

/** IDX files begin with two zero bytes and the type code 08 (unsigned bytes). */
function startsLikeIdx(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0x08;
}

function count(n: number): string {
  return n.toLocaleString('en');
}

/**
 * Reads IDX images or a CIFAR-10 batch, whichever `bytes` holds. Throws DataFileError saying
 * what each format would need when it is neither (or a truncated one).
 *
 * @example
 * const images = readImageSet(readFileSync('test_batch.bin'));
 * images.detected; // 'CIFAR-10 binary batch: 10,000 colour images of 3×32×32 (10,000 records of 3,073 bytes), labels in the file'
 */
export function readImageSet(bytes: Uint8Array): ImageSet {
  const cifarShaped = looksLikeCifar10(bytes);
  if (startsLikeIdx(bytes)) {
    try {
      const idx = parseIdxImages(bytes);
      const also = cifarShaped ? ` (its length is also a whole number of CIFAR-10 records; read as IDX, since its header fits it exactly)` : '';
      return {
        format: 'idx',
        count: idx.count,
        channels: 1,
        height: idx.rows,
        width: idx.cols,
        pixels: idx.pixels,
        detected: `IDX images (magic 2051): ${count(idx.count)} grey images of ${idx.rows}×${idx.cols}${also}`,
      };
    } catch (e) {
      if (!cifarShaped) throw e;
    }
  }
  if (cifarShaped) {
    const batch = parseCifar10(bytes);
    const header = startsLikeIdx(bytes) ? '; it starts like an IDX file but its header does not fit its length' : '';
    return {
      format: 'cifar10',
      count: batch.count,
      channels: kCifarChannels,
      height: kCifarSize,
      width: kCifarSize,
      pixels: batch.pixels,
      labels: batch.labels,
      detected:
        `CIFAR-10 binary batch: ${count(batch.count)} colour images of ${kCifarChannels}×${kCifarSize}×${kCifarSize} ` +
        `(${count(batch.count)} records of ${count(kCifarRecordBytes)} bytes${header}), labels in the file`,
    };
  }
  throw new DataFileError(`not an image file: expected IDX images (header 00 00 08 03) or a CIFAR-10 binary batch (records of 3,073 bytes); ${notCifarBecause(bytes)}`, 0);
}

/** Why `bytes` is not a CIFAR-10 batch (it is not IDX either), for the error. */
function notCifarBecause(bytes: Uint8Array): string {
  const start = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const found = `found ${count(bytes.length)} bytes${bytes.length ? ` starting ${start}` : ''}`;
  try {
    parseCifar10(bytes);
  } catch (e) {
    return `${found}: ${(e as Error).message}`;
  }
  return found; // not reached: looksLikeCifar10 and parseCifar10 agree
}
