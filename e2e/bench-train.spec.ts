/**
 * The training bench page (bench.html?train=…, pages/bench/train-page.ts) in headless
 * Chromium: ours on the GPU and tfjs on WebGPU and CPU (a tf.layers model and model.fit,
 * pages/bench/train-tfjs.ts) train the tutorial net from the same
 * initial weights on the same batch and report the same loss (float32 sums in other orders:
 * within 1e-5 relative; a different network, loss or update moves its third digit); tfjs's
 * WASM backend says why it cannot train.
 */
import { expect, test, type Page } from '@playwright/test';
import type { TrainOutcome } from '../pages/bench/train-solo.js';

async function trainPage(page: Page, engine: string): Promise<TrainOutcome> {
  const query = `train=${engine}&model=pytorch-tutorial&batch=4&warmup=1&steps=1&lr=0.05`;
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(`/bench.html?${query}`);
      await page.waitForFunction(() => window.trainSolo !== undefined, undefined, { timeout: 120_000 });
      return (await page.evaluate(() => window.trainSolo))!;
    } catch (e) {
      // Vite's dev server reloads the page when it pre-bundles a dependency met at run time.
      if (attempt >= 3 || !/Execution context was destroyed|navigation/i.test((e as Error).message)) throw e;
    }
  }
}

test('training page: ours on the GPU, tfjs WebGPU and tfjs CPU give the same loss; tfjs WASM cannot train', async ({ page }) => {
  test.setTimeout(300_000);
  const ours = await trainPage(page, 'ours-gpu');
  expect(ours.error).toBeUndefined();
  expect(ours.host).toBe('browser');
  expect(ours.imagesPerSecond).toBeGreaterThan(0);
  for (const engine of ['tfjs-webgpu', 'tfjs-cpu']) {
    const other = await trainPage(page, engine);
    expect(other.error, engine).toBeUndefined();
    expect(other.detail, engine).toContain('tf.layers Sequential + model.fit');
    expect(Math.abs(other.loss! - ours.loss!), `${engine} loss ${other.loss} vs ours ${ours.loss}`).toBeLessThanOrEqual(1e-5 * ours.loss!);
  }
  const wasm = await trainPage(page, 'tfjs-wasm');
  expect(wasm.error).toContain("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'");
});
