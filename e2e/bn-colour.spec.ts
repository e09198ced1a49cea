/**
 * Batch norm and colour input through the WebGPU engine in headless Chromium, against real
 * PyTorch (tests/fixtures/family/bn-colour, made by scripts/pytorch/make_bn_colour_fixtures.py):
 * Dive into Deep Learning's LeNet with batch norm (folded at load), a net whose batch norms
 * cannot fold (scale-shift layers) and PyTorch's CIFAR-10 tutorial Net (3×32×32), each on the
 * layered and the fused plan (and the fused plan's workgroup kernel, the one GPUs run), the
 * colour images as planar bytes and as a canvas's ImageData. Every logit within
 * 1e-5 + 1e-4·|PyTorch|, the same classes.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { parseIdxLabels } from '../src/data/idx.js';
import { compareWithPyTorch, kImagesFile, kLabelsFile } from '../tests/pytorch-fixture.js';
import { expectAllWithin, openHarness } from './gpu-page.js';

const kDir = 'tests/fixtures/family/bn-colour';
const kImages = 8;

interface Case {
  readonly name: string;
  /** The plan asked for, and the one that runs (the fused plan runs every model here). */
  readonly plan: 'layered' | 'fused';
  readonly runs: 'layered' | 'fused';
}

const kCases: readonly Case[] = [
  { name: 'd2l-lenet-bn', plan: 'layered', runs: 'layered' },
  { name: 'd2l-lenet-bn', plan: 'fused', runs: 'fused' },
  { name: 'bn-unfoldable', plan: 'layered', runs: 'layered' },
  // Its batch norms after activations and pools run as scale-shift steps inside the fused kernel.
  { name: 'bn-unfoldable', plan: 'fused', runs: 'fused' },
  { name: 'cifar10-tutorial', plan: 'layered', runs: 'layered' },
  // Colour input: the fused kernel's first stage reads the 3 maps.
  { name: 'cifar10-tutorial', plan: 'fused', runs: 'fused' },
];

for (const c of kCases) {
  test(`${c.name}, ${c.plan} plan asked: PyTorch's logits on ${kImages} images`, async ({ browser }) => {
    test.setTimeout(120_000);
    const colour = c.name === 'cifar10-tutorial';
    const page = await openHarness(browser);
    const run = await page.evaluate(
      async ({ url, imagesUrl, plan, images, colour }) => {
        const { createEngine, parseIdxImages } = window.lenet5;
        const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
        const raw = new Uint8Array(await (await fetch(imagesUrl)).arrayBuffer());
        const pixels = colour ? raw : parseIdxImages(raw).pixels.subarray(0, images * 784);
        const engine = await createEngine(bytes, { backend: 'webgpu', plan, maxBatch: images });
        try {
          const result = await engine.infer(pixels, images);
          // The last colour image again, as a canvas gives it: drawn as ImageData, read back.
          let fromCanvas: number[] | undefined;
          if (colour) {
            const image = new ImageData(32, 32);
            const last = (images - 1) * 3072;
            for (let i = 0; i < 1024; i++) {
              for (let ch = 0; ch < 3; ch++) image.data[i * 4 + ch] = pixels[last + ch * 1024 + i]!;
              image.data[i * 4 + 3] = 255;
            }
            const canvas = new OffscreenCanvas(32, 32);
            const context = canvas.getContext('2d')!;
            context.putImageData(image, 0, 0);
            fromCanvas = Array.from((await engine.infer(context.getImageData(0, 0, 32, 32))).scores);
          }
          // A wrong RGBA length rejects with an InputError saying what was expected.
          const refused = await engine.infer(new Uint8Array(100), 1, { layout: 'rgba' }).then(
            () => 'accepted',
            (e: Error) => `${e.name}: ${e.message}`,
          );
          return {
            refused,
            plan: engine.plan ?? 'cpu',
            reason: engine.planFallbackReason,
            layers: engine.model.layers,
            input: engine.model.input,
            scores: Array.from(result.scores),
            fromCanvas,
          };
        } finally {
          engine.destroy();
        }
      },
      {
        url: `/${kDir}/${c.name}.safetensors`,
        imagesUrl: colour ? `/${kDir}/cifar10-tutorial.images.u8` : `/${kImagesFile}`,
        plan: c.plan,
        images: kImages,
        colour,
      },
    );
    await page.close();
    expect(run.plan, `fallback: ${run.reason ?? 'none'}`).toBe(c.runs);
    expect(run.input).toEqual(colour ? { channels: 3, size: 32 } : { channels: 1, size: 28 });
    expect(run.refused).toBe(`InputError: layout 'rgba': expected ${colour ? 4096 : 3136} bytes (1 × ${colour ? '32×32' : '28×28'} × 4), found 100`);
    const expected = new Float32Array(new Uint8Array(readFileSync(`${kDir}/${c.name}.logits.f32`)).buffer);
    const labels = colour ? Uint8Array.from({ length: kImages }, (_, n) => n) : parseIdxLabels(readFileSync(kLabelsFile)).subarray(0, kImages);
    const result = compareWithPyTorch(run.scores, expected, labels);
    console.log(`${c.name}, ${run.plan} plan: ${result.summary}`);
    expect(result.failures, `WebGPU (${run.plan} plan) vs PyTorch: ${result.summary}\n${result.failures.join('\n')}`).toEqual([]);
    if (run.fromCanvas) {
      const last = compareWithPyTorch(run.fromCanvas, expected.subarray((kImages - 1) * 10), labels.subarray(kImages - 1));
      expect(last.failures, `the last image through a canvas's ImageData: ${last.summary}`).toEqual([]);
    }
  });
}

for (const name of ['d2l-lenet-bn', 'bn-unfoldable', 'cifar10-tutorial']) {
  test(`${name} on the fused plan's workgroup kernel (the one GPUs run): PyTorch's logits`, async ({ browser }) => {
    test.setTimeout(120_000);
    const colour = name === 'cifar10-tutorial';
    const page = await openHarness(browser);
    const scores = await page.evaluate(
      async ({ url, imagesUrl, images, colour }) => {
        const { lenet5 } = window;
        // Vite serves the sources by path: the test builds the fused plan with the GPU variant.
        const load = (path: string) => import(/* @vite-ignore */ path);
        const fused = (await load('/src/gpu/fused-plan.ts')) as typeof import('../src/gpu/fused-plan.js');
        const { PlanRunner } = (await load('/src/gpu/plan-runner.ts')) as typeof import('../src/gpu/plan-runner.js');
        const weights = lenet5.loadWeights(new Uint8Array(await (await fetch(url)).arrayBuffer()));
        const raw = new Uint8Array(await (await fetch(imagesUrl)).arrayBuffer());
        const pixels = colour ? raw.subarray(0, images * 3072) : lenet5.parseIdxImages(raw).pixels.subarray(0, images * 784);
        const input = colour ? { channels: 3, size: 32 } : { channels: 1, size: 28 };
        const adapter = (await navigator.gpu.requestAdapter())!;
        // The colour Net keeps 19,408 bytes of an image in workgroup memory: more than the guaranteed 16,384.
        const device = await adapter.requestDevice({ requiredLimits: lenet5.recommendedLimits(adapter) });
        try {
          const plan = await fused.buildFusedPlan(device, weights, { maxBatch: images, variant: 'workgroup' });
          const runner = new PlanRunner(device, plan);
          const out = await runner.run(lenet5.preprocess(pixels, images, weights.preprocessing, undefined, input), images);
          runner.destroy();
          plan.destroy();
          return Array.from(out);
        } finally {
          device.destroy();
        }
      },
      { url: `/${kDir}/${name}.safetensors`, imagesUrl: colour ? `/${kDir}/cifar10-tutorial.images.u8` : `/${kImagesFile}`, images: kImages, colour },
    );
    await page.close();
    const expected = new Float32Array(new Uint8Array(readFileSync(`${kDir}/${name}.logits.f32`)).buffer);
    const labels = colour ? Uint8Array.from({ length: kImages }, (_, n) => n) : parseIdxLabels(readFileSync(kLabelsFile)).subarray(0, kImages);
    const result = compareWithPyTorch(scores, expected, labels);
    console.log(`${name}, fused workgroup kernel: ${result.summary}`);
    expect(result.failures, result.summary).toEqual([]);
  });
}

test('a 4-channel 20×20 model with per-channel Normalize and batch norms before and after a pool: the WebGPU engine equals the CPU reference, batches 1, 7, 33', async ({ browser }) => {
  test.setTimeout(120_000);
  const page = await openHarness(browser);
  const reports = await page.evaluate(async () => {
    const { lenet5, harness } = window;
    // Vite serves the sources by path: the comparison helper runs in the page.
    const load = (path: string) => import(/* @vite-ignore */ path);
    const compare = (await load('/e2e/compare.ts')) as typeof import('./compare.js');
    const spec = lenet5.buildArchitecture({
      inputSize: 20,
      inputChannels: 4,
      preprocessing: { mean: [0.1, 0.2, 0.3, 0.4], std: [0.5, 0.25, 0.2, 0.1] },
      layers: [
        { type: 'conv', outChannels: 5, padding: 1 },
        { type: 'batchnorm' }, // folds into conv1
        { type: 'activation', activation: 'relu' },
        { type: 'batchnorm' }, // after the ReLU: scale-shift over maps
        { type: 'pool', mode: 'average' },
        { type: 'batchnorm', eps: 1e-3 }, // after the pool
        { type: 'dense', outFeatures: 10, activation: 'tanh' },
        { type: 'batchnorm' }, // after the tanh: scale-shift over a vector
      ],
    });
    const rng = new harness.Prng(5);
    const tensors = new Map<string, Float32Array>();
    for (const t of spec.tensors) {
      const size = t.shape.reduce((a, b) => a * b, 1);
      const positive = spec.batchNorms!.some((bn) => bn.runningVar === t.name || bn.weight === t.name);
      tensors.set(t.name, Float32Array.from({ length: size }, () => (positive ? rng.uniform(0.3, 2) : rng.uniform(-0.5, 0.5))));
    }
    const folded = lenet5.foldBatchNorms(spec, tensors);
    const weights = { spec: folded.spec, tensors: folded.tensors, preprocessing: spec.defaultPreprocessing, metadata: {} };
    const engine = await lenet5.createEngine(weights, { backend: 'webgpu', plan: 'layered', maxBatch: 33 });
    const out: ReturnType<typeof compare.compareFloats>[] = [];
    try {
      for (const count of [1, 7, 33]) {
        const pixels = Float32Array.from({ length: count * 4 * 400 }, () => rng.uniform(0, 1));
        const input = lenet5.preprocess(pixels, count, weights.preprocessing, undefined, engine.model.input);
        const reference = lenet5.referenceOutput(weights, input, count);
        out.push(compare.compareFloats(`4-channel model, batch ${count}`, (await engine.infer(pixels, count)).scores, reference, [10]));
      }
      return { reports: out, layers: engine.model.layers, input: engine.model.input, perChannel: weights.preprocessing.perChannel?.length };
    } finally {
      engine.destroy();
    }
  });
  await page.close();
  expect(reports.layers).toEqual(['conv1', 'bn2', 'pool1', 'bn3', 'fc1', 'bn4']);
  expect(reports.input).toEqual({ channels: 4, size: 20 });
  expect(reports.perChannel).toBe(4);
  expectAllWithin(reports.reports);
});
