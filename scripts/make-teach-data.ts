/**
 * Writes the MNIST subsets the demo's "teach it your handwriting" uses, gzipped IDX files in
 * public/ (served beside the page, also in the built site): the first 1,000 training images
 * (replayed while it learns a drawing, so it does not forget) and the first 1,000 test images
 * (the accuracy before and after). Run once; the outputs are committed.
 *
 *   npx tsx scripts/make-teach-data.ts      (--help: what it writes)
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { kIdxImagesMagic, kIdxLabelsMagic } from '../src/data/idx.js';
import { loadMnist } from '../src/train/mnist.js';

/** Images in each subset. */
const kCount = 1000;
const kOutputs = [
  { split: 'train', name: 'mnist-replay' },
  { split: 't10k', name: 'mnist-test-subset' },
] as const;

function idxHeader(magic: number, dimensions: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dimensions.length);
  header.writeUInt32BE(magic, 0);
  dimensions.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return header;
}

if (process.argv[2] === '--help' || process.argv[2] === '-h') {
  console.log(`Writes ${kOutputs.map((o) => `public/${o.name}-{images-idx3,labels-idx1}-ubyte.gz`).join(' and ')}:
the first ${kCount} MNIST training and test images and their labels, for the demo's teaching.`);
  process.exit(0);
}
for (const { split, name } of kOutputs) {
  const set = loadMnist(split, kCount);
  // mtime 0 in the gzip header: the same inputs give the same bytes.
  const gzip = (bytes: Buffer) => gzipSync(bytes, { level: 9 });
  const images = gzip(Buffer.concat([idxHeader(kIdxImagesMagic, [set.count, 28, 28]), set.images]));
  const labels = gzip(Buffer.concat([idxHeader(kIdxLabelsMagic, [set.count]), set.labels]));
  writeFileSync(`public/${name}-images-idx3-ubyte.gz`, images);
  writeFileSync(`public/${name}-labels-idx1-ubyte.gz`, labels);
  console.log(`public/${name}-*.gz: ${set.count} MNIST ${split} images (${images.length + labels.length} bytes)`);
}
