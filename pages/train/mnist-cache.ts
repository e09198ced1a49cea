/**
 * MNIST for the training page: the four IDX files served with the site (mnist/, see
 * pages/demo/serve-mnist.ts), fetched once with progress and kept in the browser's Cache API,
 * so a second visit (or a reset) reads them from the cache.
 */
import { DataFileError, parseIdxImages, parseIdxLabels, type LabelledImages } from '../../src/index.js';

/** Bump when the files change: an old cache is then deleted. */
const kCacheName = 'lenet5-mnist-v1';

/** The files in the order they are read, and their sizes (the progress bar's total). */
const kFileBytes: Record<string, number> = {
  'train-images-idx3-ubyte': 47_040_016,
  'train-labels-idx1-ubyte': 60_008,
  't10k-images-idx3-ubyte': 7_840_016,
  't10k-labels-idx1-ubyte': 10_008,
};

/** Bytes read so far of all four files, of their total, and whether the cache had them. */
export type LoadProgress = (loaded: number, total: number, fromCache: boolean) => void;

/** A file's progress: its own bytes so far (the set's loader adds the files before it). */
type FileProgress = (loaded: number, fromCache: boolean) => void;

const kTotalBytes = Object.values(kFileBytes).reduce((a, b) => a + b, 0);

async function readWithProgress(response: Response, onProgress: FileProgress, fromCache: boolean): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, fromCache);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** One file: from the cache, else fetched (and then cached). `base` is the site's root URL. */
async function fetchFile(base: URL, file: string, onProgress: FileProgress): Promise<Uint8Array> {
  const url = new URL(`mnist/${file}`, base);
  const cache = typeof caches === 'undefined' ? null : await caches.open(kCacheName).catch(() => null);
  const cached = await cache?.match(url);
  if (cached) return readWithProgress(cached, onProgress, true);
  const response = await fetch(url);
  if (!response.ok) throw new DataFileError(`MNIST file ${url.pathname}: expected the IDX file, the server answered HTTP ${response.status}`);
  const bytes = await readWithProgress(response, onProgress, false);
  // A full cache (quota) costs only the next visit's download.
  await cache?.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': 'application/octet-stream' } })).catch(() => undefined);
  return bytes;
}

/** Drops caches of older versions of the files. */
async function dropOldCaches(): Promise<void> {
  if (typeof caches === 'undefined') return;
  for (const name of await caches.keys()) if (name.startsWith('lenet5-mnist-') && name !== kCacheName) await caches.delete(name);
}

function labelled(imageBytes: Uint8Array, labelBytes: Uint8Array, what: string): LabelledImages {
  const images = parseIdxImages(imageBytes);
  const labels = parseIdxLabels(labelBytes);
  if (images.rows !== 28 || images.cols !== 28 || labels.length !== images.count) {
    throw new DataFileError(`MNIST ${what}: expected 28×28 images with one label each, found ${images.count} of ${images.rows}×${images.cols} and ${labels.length} labels`);
  }
  return { images: images.pixels, labels, count: images.count };
}

/**
 * The training and test sets, fetched (or read from the cache) one file after another.
 *
 * @example
 * const { train, test } = await loadMnist(new URL('./', location.href), (loaded, total) => …);
 */
export async function loadMnist(base: URL, onProgress: LoadProgress): Promise<{ train: LabelledImages; test: LabelledImages }> {
  await dropOldCaches();
  const bytes: Uint8Array[] = [];
  let before = 0;
  for (const file of Object.keys(kFileBytes)) {
    const done = before;
    bytes.push(await fetchFile(base, file, (loaded, fromCache) => onProgress(done + loaded, Math.max(kTotalBytes, done + loaded), fromCache)));
    before += bytes[bytes.length - 1]!.length;
  }
  return { train: labelled(bytes[0]!, bytes[1]!, 'training set'), test: labelled(bytes[2]!, bytes[3]!, 'test set') };
}

/** The first `count` images of a set (views, no copy). */
export function firstImages(set: LabelledImages, count: number): LabelledImages {
  const n = Math.min(count, set.count);
  return { images: set.images.subarray(0, n * 784), labels: set.labels.subarray(0, n), count: n };
}
