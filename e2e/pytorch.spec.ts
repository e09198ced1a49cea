/**
 * The WebGPU engine in headless Chromium against real PyTorch (1.13, tests/fixtures/pytorch,
 * made by scripts/pytorch/export_reference.py; no PyTorch needed here): every logit within
 * |engine − PyTorch| ≤ 1e-5 + 1e-4·|PyTorch| (the kernels' tolerance, e2e/compare.ts), and the
 * same class wherever PyTorch's top-two margin exceeds 1e-4, for
 *
 * - a seed model trained and saved by PyTorch (`save_file(model.state_dict())`, no metadata),
 *   loaded from the file's bytes exactly as saved;
 * - the shipped weights/seed.safetensors, whose logits PyTorch computed after
 *   `load_state_dict(strict=True)`.
 *
 * The page fetches the weights file and the MNIST test images from the dev server and calls
 * the public API (`window.lenet5.createEngine(bytes)`, `infer`). The fused plan runs all 10,000
 * test images (a few seconds); the default layered plan, ~10× slower on SwiftShader, the first
 * 1,000. The scores come back to Node, where the comparison names image, class, expected and
 * actual for the first mismatches.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { parseIdxLabels } from '../src/data/idx.js';
import type { PlanKind } from '../src/gpu/plans.js';
import {
  compareWithPyTorch,
  kImagesFile,
  kLabelsFile,
  kPyTorchCases,
  readCaseWeights,
  readPyTorchLogits,
} from '../tests/pytorch-fixture.js';
import { openHarness } from './gpu-page.js';

const kBatch = 1000;
const kRuns: readonly { plan: PlanKind; images: number }[] = [
  { plan: 'fused', images: 10_000 },
  { plan: 'layered', images: 1_000 },
];

/** What the page returns. */
interface PageRun {
  backend: string;
  adapter: string;
  scores: number[];
  seconds: number;
}

for (const c of kPyTorchCases) {
  for (const { plan, images } of kRuns) {
    test(`${plan} plan, first ${images.toLocaleString('en')} MNIST test images: logits equal PyTorch's — ${c.title}`, async ({ browser }) => {
      test.setTimeout(120_000);
      readCaseWeights(c); // refuses a weights file the fixture was not made from
      const expected = readPyTorchLogits(c, images);
      const labels = parseIdxLabels(readFileSync(kLabelsFile));

      const page = await openHarness(browser);
      const run: PageRun = await page.evaluate(
        async ({ weightsUrl, imagesUrl, plan, images, batch }) => {
          const { createEngine, parseIdxImages } = window.lenet5;
          // The file's bytes as PyTorch wrote them: no renaming, no metadata added.
          const bytes = new Uint8Array(await (await fetch(weightsUrl)).arrayBuffer());
          const file = parseIdxImages(new Uint8Array(await (await fetch(imagesUrl)).arrayBuffer()));
          const engine = await createEngine(bytes, { backend: 'webgpu', plan, maxBatch: batch });
          const started = performance.now();
          const scores: number[] = [];
          try {
            for (let from = 0; from < images; from += batch) {
              const n = Math.min(batch, images - from);
              const result = await engine.infer(file.pixels.subarray(from * 784, (from + n) * 784), n);
              scores.push(...result.scores);
            }
          } finally {
            engine.destroy();
          }
          return { backend: engine.backend, adapter: engine.adapterName, scores, seconds: (performance.now() - started) / 1000 };
        },
        { weightsUrl: `/${c.weights}`, imagesUrl: `/${kImagesFile}`, plan, images, batch: kBatch },
      );
      await page.close();
      expect(run.backend).toBe('webgpu');

      const result = compareWithPyTorch(run.scores, expected, labels);
      console.log(`${c.key}, ${plan} plan, ${run.seconds.toFixed(1)} s on ${run.adapter}: ${result.summary}`);
      expect(result.failures, `WebGPU (${plan} plan) vs PyTorch: ${result.summary}\n${result.failures.join('\n')}`).toEqual([]);
    });
  }
}
