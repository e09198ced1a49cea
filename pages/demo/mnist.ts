/**
 * Real MNIST digits for the page: the 50-image sample shipped beside it (public/), and the
 * full 10,000-image test set served with the site (mnist/).
 */
import { parseIdxImages, parseIdxLabels, type InferenceResult, type Pixels } from '../../src/index.js';

/** Images (count × 784 bytes) and their labels. */
export interface DigitSet {
  readonly count: number;
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

/** Relative URLs, so the built site works from any sub-path. */
const kSample = { images: './mnist-sample-images-idx3-ubyte', labels: './mnist-sample-labels-idx1-ubyte' };
/**
 * For teaching (teach.ts): the first 1,000 MNIST training digits, replayed while the network
 * learns a drawing, and the first 1,000 test digits, the accuracy before and after
 * (scripts/make-teach-data.ts writes them, gzipped).
 */
export const kReplaySet = { images: './mnist-replay-images-idx3-ubyte.gz', labels: './mnist-replay-labels-idx1-ubyte.gz' };
export const kTestSubset = { images: './mnist-test-subset-images-idx3-ubyte.gz', labels: './mnist-test-subset-labels-idx1-ubyte.gz' };
/** The full test set, served with the site (pages/demo/serve-mnist.ts: dev server and build). */
export const kFullTestSet = { images: './mnist/t10k-images-idx3-ubyte', labels: './mnist/t10k-labels-idx1-ubyte' };

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  // A .gz file comes as stored, unless a server sent it with Content-Encoding and the browser unpacked it.
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzip(bytes) : bytes;
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Fetches and parses an IDX image/label pair; a malformed file is the parser's DataFileError.
 *
 * @example
 * const sample = await loadDigits(kSampleUrls);
 */
export async function loadDigits(urls: { images: string; labels: string }): Promise<DigitSet> {
  const [imageBytes, labelBytes] = await Promise.all([fetchBytes(urls.images), fetchBytes(urls.labels)]);
  const images = parseIdxImages(imageBytes);
  const labels = parseIdxLabels(labelBytes);
  if (images.rows !== 28 || images.cols !== 28 || labels.length !== images.count) {
    throw new Error(`${urls.images}: expected 28×28 images with one label each, found ${images.count} of ${images.rows}×${images.cols} and ${labels.length} labels`);
  }
  return { count: images.count, pixels: images.pixels, labels };
}

/** The sample shipped with the page. */
export function loadSample(): Promise<DigitSet> {
  return loadDigits(kSample);
}

/** Progress of a test-set run. */
export interface TestProgress {
  readonly done: number;
  readonly total: number;
  readonly correct: number;
  readonly seconds: number;
}

/** Images per batch: large enough to keep the GPU busy, small enough for a smooth progress bar. */
const kBatch = 500;

/**
 * Classifies every image of `set` in batches, reporting after each batch, until done or
 * `signal` aborts. Returns the final progress.
 *
 * @example
 * const { correct, total, seconds } = await runTestSet((p, n) => engine.infer(p, n), set, draw);
 */
export async function runTestSet(
  infer: (pixels: Pixels, count: number) => Promise<InferenceResult>,
  set: DigitSet,
  onProgress: (progress: TestProgress) => void,
  signal?: AbortSignal,
): Promise<TestProgress> {
  const start = performance.now();
  let correct = 0;
  let done = 0;
  while (done < set.count && !signal?.aborted) {
    const count = Math.min(kBatch, set.count - done);
    const { classes } = await infer(set.pixels.subarray(done * 784, (done + count) * 784), count);
    for (let i = 0; i < count; i++) if (classes[i] === set.labels[done + i]) correct++;
    done += count;
    onProgress({ done, total: set.count, correct, seconds: (performance.now() - start) / 1000 });
  }
  return { done, total: set.count, correct, seconds: (performance.now() - start) / 1000 };
}
