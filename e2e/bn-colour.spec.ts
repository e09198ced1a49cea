/**
 * Batch norm and colour input through the WebGPU engine in headless Chromium, against real
 * PyTorch (tests/fixtures/family/bn-colour, made by scripts/pytorch/make_bn_colour_fixtures.py):
 * Dive into Deep Learning's LeNet with batch norm (folded at load: layered and fused plans), a
 * net whose batch norms cannot fold (scale-shift layers: the layered plan; the fused plan
 * declines and says why), and PyTorch's CIFAR-10 tutorial Net (3×32×32: the layered plan; the
 * fused plan declines colour input), the colour images as planar bytes and as a canvas's
 * ImageData. Every logit within 1e-5 + 1e-4·|PyTorch|, the same classes.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { parseIdxLabels } from '../src/data/idx.js';
import { compareWithPyTorch, kImagesFile, kLabelsFile } from '../tests/pytorch-fixture.js';
import { openHarness } from './gpu-page.js';

const kDir = 'tests/fixtures/family/bn-colour';
const kImages = 8;

interface Case {
  readonly name: string;
  /** The plan asked for, and the one that runs (the fused plan declines some models). */
  readonly plan: 'layered' | 'fused';
  readonly runs: 'layered' | 'fused';
  readonly declined?: RegExp;
}

const kCases: readonly Case[] = [
  { name: 'd2l-lenet-bn', plan: 'layered', runs: 'layered' },
  { name: 'd2l-lenet-bn', plan: 'fused', runs: 'fused' },
  { name: 'bn-unfoldable', plan: 'layered', runs: 'layered' },
  { name: 'bn-unfoldable', plan: 'fused', runs: 'layered', declined: /fused plan: bn1 is a per-channel scale and shift/ },
  { name: 'cifar10-tutorial', plan: 'fused', runs: 'layered', declined: /fused plan: its kernels read one input map; 'pytorch-cifar10-tutorial' takes 3/ },
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
          return {
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
    if (c.declined) expect(run.reason).toMatch(c.declined);
    expect(run.input).toEqual(colour ? { channels: 3, size: 32 } : { channels: 1, size: 28 });
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
