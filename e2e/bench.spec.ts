/**
 * The benchmark page runs (quick mode: batches 1, 4, 16) and reports sane figures: finite and
 * positive, latency p95 ≥ p50, the sweep in batch order, GFLOP/s consistent with images/s and
 * the model's multiply-adds, a GPU time for every kernel of each plan, tfjs logits equal to
 * ours where tfjs ran, and the table, charts and JSON on the page. No speed is asserted.
 */
import { expect, test } from '@playwright/test';
import type { BenchResult, EngineResult } from '../pages/bench/types.js';

test('bench.html quick run (seed with tfjs, classic) reports sane figures and draws its results', async ({ page }) => {
  test.setTimeout(600_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/bench.html');
  await page.waitForFunction(() => document.body.dataset['state'] === 'idle', undefined, { timeout: 60_000 });
  expect(errors, 'page errors on load').toEqual([]);

  const seed = await page.evaluate(() => window.bench.run({ quick: true, frameworks: true, models: ['seed'] }));
  checkResult(seed, ['webgpu-fused', 'webgpu-layered', 'cpu-reference', 'tfjs-webgpu', 'tfjs-wasm']);
  for (const id of ['tfjs-webgpu', 'tfjs-wasm']) {
    const e = seed.models[0]!.engines.find((x) => x.engine === id)!;
    expect(e.error, `${id}: ${e.error}`).toBeUndefined();
    expect(e.check?.ok, `${id}: logits vs ours, max |Δ| ${e.check?.maxAbsDiff}`).toBe(true);
    expect(e.check!.images).toBeGreaterThan(0);
  }

  const classic = await page.evaluate(() => window.bench.run({ quick: true, frameworks: false, models: ['classic'] }));
  checkResult(classic, ['webgpu-fused', 'webgpu-layered', 'cpu-reference']);

  // The page shows what it measured: the floors, one table per model, one sweep chart per model, the JSON.
  await expect(page.locator('#results table.floors tr')).toHaveCount(1 + classic.floors!.length);
  await expect(page.locator('#results table.model')).toHaveCount(1);
  await expect(page.locator('#results table.model tr')).toHaveCount(1 + 3);
  await expect(page.locator('#charts canvas#sweep-classic')).toHaveCount(1);
  await expect(page.locator('#charts canvas#kernels')).toHaveCount(1);
  const json = JSON.parse((await page.locator('#json').textContent()) ?? 'null') as BenchResult;
  expect(json).toEqual(classic);
  await expect(page.locator('#download')).toBeEnabled();
  expect(errors, 'page errors during the runs').toEqual([]);
});

function checkResult(result: BenchResult, engines: readonly string[]): void {
  const { meta } = result;
  expect(meta.quick).toBe(true);
  expect(meta.batches).toEqual([1, 4, 16]);
  expect(meta.adapter.vendor + meta.adapter.architecture + meta.adapter.description, 'adapter info').not.toBe('');
  expect(meta.browser).toMatch(/Chrome/);
  expect(result.floors!.length).toBeGreaterThan(0);
  for (const f of result.floors!) expect(Number.isFinite(f.p50) && f.p50 >= 0 && f.p95 >= f.p50, `floor '${f.label}': ${f.p50} / ${f.p95} ms`).toBe(true);
  expect(result.models).toHaveLength(1);
  const model = result.models[0]!;
  expect(model.multiplyAddsPerImage).toBe(model.model === 'seed' ? 416_520 : 326_520);
  expect(model.engines.map((e) => e.engine)).toEqual(engines);
  for (const e of model.engines) checkEngine(e, model.multiplyAddsPerImage, meta.batches);
}

function checkEngine(e: EngineResult, macs: number, batches: readonly number[]): void {
  const what = `${e.engine} (${e.detail})`;
  expect(e.error, `${what}: ${e.error}`).toBeUndefined();
  const positive = (x: number, label: string) => {
    expect(Number.isFinite(x), `${what} ${label} = ${x}`).toBe(true);
    expect(x, `${what} ${label}`).toBeGreaterThan(0);
  };
  positive(e.latency.p50, 'latency p50');
  positive(e.latency.p95, 'latency p95');
  expect(e.latency.p95, `${what} p95 ≥ p50`).toBeGreaterThanOrEqual(e.latency.p50);
  expect(e.latency.samples, `${what} latency samples`).toBeGreaterThanOrEqual(5);
  const swept = e.sweep.map((p) => p.batch);
  expect(swept.length, `${what}: sweep points`).toBeGreaterThan(0);
  expect(swept, `${what}: sweep in batch order, from the run's batches`).toEqual(batches.slice(0, swept.length));
  for (const p of e.sweep) {
    positive(p.msPerBatch, `ms at batch ${p.batch}`);
    positive(p.imagesPerSecond, `images/s at batch ${p.batch}`);
    expect(p.imagesPerSecond, `${what} batch ${p.batch}: images/s = batch / time`).toBeCloseTo((p.batch / p.msPerBatch) * 1000, 6);
    expect(p.gflops / ((2 * macs * p.imagesPerSecond) / 1e9), `${what} batch ${p.batch}: GFLOP/s from multiply-adds`).toBeCloseTo(1, 9);
  }
  if (e.engine.startsWith('webgpu')) {
    const k = e.kernels;
    expect(k, `${what}: kernel times`).toBeDefined();
    expect(k!.kernels.length, `${what}: kernels`).toBe(e.engine === 'webgpu-fused' ? 1 : 7);
    for (const kernel of k!.kernels) {
      expect(kernel.label).not.toBe('');
      expect(Number.isFinite(kernel.ms) && kernel.ms >= 0, `${what} ${kernel.label}: ${kernel.ms} ms`).toBe(true);
    }
    positive(k!.totalMs, 'total kernel ms');
  }
}
