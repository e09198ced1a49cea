/**
 * The benchmark page runs (quick mode: batches 1, 16, 64) and reports sane figures: finite and
 * positive, latency p95 ≥ p50, the sweep in batch order, GFLOP/s consistent with images/s and
 * the model's multiply-adds, a GPU time for every kernel of each plan, the peers' logits
 * (tfjs WASM and WebGPU, ONNX Runtime Web WASM) equal to ours before they are timed, the
 * side-by-side rows, and the tables, charts and JSON on the page — all under the page's
 * Content-Security-Policy, every request same-origin. Solo pages (bench.html?engine=…&model=…,
 * one engine alone, as `npm run bench` opens each in a fresh browser) answer for ours, ONNX
 * Runtime Web and tfjs with the same logits on the same file, and the page draws the fair and
 * family tables from them. No speed is asserted.
 */
import { expect, test, type Page } from '@playwright/test';
import type { SoloOutcome, SoloRun } from '../pages/bench/solo.js';
import type { BenchResult, EngineResult } from '../pages/bench/types.js';
import { soloRows } from '../pages/bench/solo-summary.js';
import { alternatedRatio } from '../pages/bench/summary.js';

const kQuickBatches = [1, 16, 64];

/**
 * Runs `task` again (up to 3 times in all) if Vite's dev server reloaded the page under it:
 * the dev server pre-bundles a dependency it first meets at run time (tfjs, ONNX Runtime), or
 * finds its shared pre-bundle cache (node_modules/.vite) rewritten by another dev server, and
 * then reloads every page. The built site has no such reload.
 */
async function surviveDepReload<T>(page: Page, ready: () => Promise<unknown>, task: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (e) {
      if (attempt >= 3 || !/Execution context was destroyed|navigation/i.test((e as Error).message)) throw e;
      console.log(`[bench] the dev server reloaded the page (${(e as Error).message.split('\n')[0]}): running again`);
      await page.waitForLoadState('load');
      await ready();
    }
  }
}

/** CSP violations and requests to other origins, from the page's load on. */
async function watchPolicy(page: Page, origin: string): Promise<{ foreign: string[]; failed: string[]; violations: () => Promise<string[]> }> {
  const foreign: string[] = [];
  const failed: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin) foreign.push(url);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'}`));
  });
  return { foreign, failed, violations: () => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations) };
}

test('bench.html quick run (seed with tfjs and ONNX Runtime Web, classic) reports sane figures and draws its results', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const policy = await watchPolicy(page, new URL(baseURL!).origin);
  await page.goto('/bench.html');
  const idle = () => page.waitForFunction(() => document.body.dataset['state'] === 'idle', undefined, { timeout: 60_000 });
  await idle();
  expect(errors, 'page errors on load').toEqual([]);

  const seed = await surviveDepReload(page, idle, () =>
    page.evaluate(() => window.bench.run({ quick: true, frameworks: true, peers: ['tfjs-wasm', 'tfjs-webgpu', 'ort-wasm'], models: ['seed'] })),
  );
  checkResult(seed, ['webgpu-default', 'webgpu-fused', 'webgpu-layered', 'cpu-reference', 'tfjs-wasm', 'tfjs-webgpu', 'ort-wasm']);
  expect(seed.meta.peers).toEqual(['tfjs-wasm', 'tfjs-webgpu', 'ort-wasm']);
  for (const id of ['tfjs-webgpu', 'tfjs-wasm', 'ort-wasm']) {
    const e = seed.models[0]!.engines.find((x) => x.engine === id)!;
    expect(e.error, `${id}: ${e.error}`).toBeUndefined();
    expect(e.check?.ok, `${id}: logits vs ours, max |Δ| ${e.check?.maxAbsDiff}`).toBe(true);
    expect(e.check!.images).toBe(64);
  }
  const ort = seed.models[0]!.engines.find((x) => x.engine === 'ort-wasm')!;
  expect(ort.detail).toMatch(/^onnxruntime-web \d+\.\d+\.\d+ wasm, 1 thread$/);
  expect(ort.check!.atol).toBe(1e-4);
  expect(ort.check!.rtol).toBe(0);
  expect(ort.check!.maxAbsDiff, 'ONNX Runtime WASM against ours').toBeLessThanOrEqual(1e-4);
  expect(seed.meta.crossOriginIsolated, 'the page is not cross-origin isolated: WASM runs one thread').toBe(false);

  // The side-by-side rows: ours (default, fused, layered) and each peer, figures from the sweep.
  const rows = seed.sideBySide!;
  expect(rows.map((r) => r.engine)).toEqual(['webgpu-default', 'webgpu-fused', 'webgpu-layered', 'tfjs-wasm', 'tfjs-webgpu', 'ort-wasm']);
  for (const r of rows) {
    const e = seed.models[0]!.engines.find((x) => x.engine === r.engine)!;
    expect(r.latencyP50Ms).toBe(e.latency.p50);
    expect(r.imagesPerSecond[1]).toBe(e.sweep.find((p) => p.batch === 1)!.imagesPerSecond);
    // A sweep stops early after a batch slower than 3 s (tfjs WebGPU on a busy CPU adapter).
    expect(r.imagesPerSecond[64]).toBe(e.sweep.find((p) => p.batch === 64)?.imagesPerSecond);
    expect(r.imagesPerSecond[1024], 'a quick run stops at 64').toBeUndefined();
    expect(r.coldStartMs, 'cold starts come from npm run bench, not the page').toBeUndefined();
  }
  expect(rows.find((r) => r.engine === 'ort-wasm')!.logitsMatch).toBe(true);
  // Batch 1024, ours and the WASM peers alternated run by run: every run timed, ratios derived.
  const alternated = seed.models[0]!.alternated!;
  expect(alternated, 'alternated runs of ours and the WASM peers').toBeDefined();
  expect(alternated.batch).toBe(1024);
  expect(alternated.engines.map((e) => e.engine)).toEqual(['webgpu-default', 'ort-wasm', 'tfjs-wasm']);
  for (const e of alternated.engines) {
    expect(e.ms, `${e.engine}: one run per round`).toHaveLength(alternated.rounds);
    for (const ms of e.ms) expect(Number.isFinite(ms) && ms > 0, `${e.engine}: ${ms} ms`).toBe(true);
  }
  expect(alternated.engines[0]!.detail).toBe('createEngine default, plan fused');
  const byRound = alternatedRatio(alternated, 'ort-wasm')!;
  const ours = alternated.engines[0]!.ms;
  const theirs = alternated.engines[1]!.ms;
  expect(byRound, 'the median per-round ratio lies within the per-round ratios').toBeGreaterThanOrEqual(Math.min(...theirs.map((t, i) => t / ours[i]!)));
  expect(byRound).toBeLessThanOrEqual(Math.max(...theirs.map((t, i) => t / ours[i]!)));
  await expect(page.locator('#results table.side-by-side tr')).toHaveCount(1 + rows.length);
  await expect(page.locator('#charts #side-by-side canvas')).toHaveCount(2);

  const classic = await surviveDepReload(page, idle, () => page.evaluate(() => window.bench.run({ quick: true, frameworks: false, models: ['classic'] })));
  checkResult(classic, ['webgpu-default', 'webgpu-fused', 'webgpu-layered', 'cpu-reference']);

  // The page shows what it measured: the floors, one table per model, the charts, the JSON (the
  // side-by-side table is the seed model's: none for a classic-only run).
  await expect(page.locator('#results table.floors tr')).toHaveCount(1 + classic.floors!.length);
  await expect(page.locator('#results table.side-by-side')).toHaveCount(0);
  await expect(page.locator('#results table.model')).toHaveCount(1);
  await expect(page.locator('#results table.model tr')).toHaveCount(1 + 4);
  await expect(page.locator('#charts canvas#sweep-classic')).toHaveCount(1);
  await expect(page.locator('#charts canvas#kernels')).toHaveCount(1);
  const json = JSON.parse((await page.locator('#json').textContent()) ?? 'null') as BenchResult;
  expect(json).toEqual(classic);
  await expect(page.locator('#download')).toBeEnabled();
  expect(errors, 'page errors during the runs').toEqual([]);
  expect(await policy.violations(), 'CSP violations').toEqual([]);
  expect(policy.foreign, 'requests to other origins').toEqual([]);
  expect(policy.failed, 'failed requests (the favicon included)').toEqual([]);
});

test('solo pages: each engine alone on the same ONNX file (batch-norm LeNet; tfjs on the seed) from the same bytes gives the same logits', async ({ page }) => {
  test.setTimeout(300_000);
  const solo = async (query: string): Promise<SoloRun> => {
    await page.goto(`/bench.html?${query}&batches=1,3&quick`);
    const finished = () => page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['state'] ?? ''), undefined, { timeout: 240_000 });
    await surviveDepReload(page, async () => undefined, finished);
    const outcome = (await page.evaluate(() => window.solo))! as SoloOutcome;
    expect('error' in outcome ? outcome.error : undefined, query).toBeUndefined();
    const run = outcome as SoloRun;
    expect(run.host).toBe('browser');
    expect(run.phases.map((p) => p.label), query).toEqual(['imported', 'ready', 'first logits']);
    const at = run.phases.map((p) => p.atMs);
    expect(at, `${query}: phases in order, from page load`).toEqual([...at].sort((a, b) => a - b));
    expect(run.firstLogitsMs).toBe(at[2]);
    expect(run.logits, `${query}: 16 images × 10 logits`).toHaveLength(160);
    expect(run.sweep.map((p) => p.batch)).toEqual([1, 3]);
    for (const p of run.sweep) {
      expect(p.msPerBatch, `${query} batch ${p.batch}`).toBeGreaterThan(0);
      expect(p.imagesPerSecond).toBeCloseTo((p.batch / p.msPerBatch) * 1000, 6);
    }
    expect(run.latency.p95).toBeGreaterThanOrEqual(run.latency.p50);
    return run;
  };
  const near = (a: SoloRun, b: SoloRun) => {
    const worst = Math.max(...a.logits.map((x, i) => Math.abs(x - b.logits[i]!)));
    expect(worst, `${a.engine} against ${b.engine} on ${a.model}: max |Δ| ${worst}`).toBeLessThanOrEqual(1e-4);
  };
  const ours = await solo('engine=webgpu-default&model=d2l-lenet-bn');
  expect(ours.detail).toMatch(/createEngine default/);
  expect(ours.plans?.[0], 'the default engine answers first on the layered plan').toBe('layered');
  const ort = await solo('engine=ort-wasm&model=d2l-lenet-bn');
  expect(ort.detail).toMatch(/^onnxruntime-web \d+\.\d+\.\d+ wasm, 1 thread$/);
  near(ort, ours);
  // tfjs written as its users write it (fused ops) against ours on the seed model's ONNX file.
  const tfjs = await solo('engine=tfjs-wasm&model=seed');
  expect(tfjs.detail).toMatch(/fused ops/);
  const layered = await solo('engine=webgpu-layered&model=seed');
  near(tfjs, layered);
  // The tables: each model's rows, logits checked against ours, ours ÷ ORT WASM; drawn on the page.
  const rows = soloRows([ours, ort, tfjs, layered]);
  expect(rows.map((r) => `${r.model}/${r.engine}`)).toEqual(['d2l-lenet-bn/webgpu-default', 'd2l-lenet-bn/ort-wasm', 'seed/tfjs-wasm', 'seed/webgpu-layered']);
  expect(rows[1]!.logits?.ok).toBe(true);
  expect(rows[0]!.vsOrtWasm!.batch).toBe(3);
  expect(rows[0]!.vsOrtWasm!.imagesPerSecond).toBeCloseTo(ours.sweep[1]!.imagesPerSecond / ort.sweep[1]!.imagesPerSecond, 9);
  expect(rows[0]!.vsOrtWasm!.coldStart).toBeCloseTo(ours.firstLogitsMs / ort.firstLogitsMs, 9);
  await page.goto('/bench.html');
  await page.waitForFunction(() => document.body.dataset['state'] === 'idle');
  const meta = await page.evaluate(() => window.bench.meta());
  await page.evaluate((r) => window.bench.show(r), { ...meta, solo: { setup: 'test', rounds: 1, batches: [1, 3], rows } });
  await expect(page.locator('#results table.fair tr'), 'header and the two seed rows').toHaveCount(3);
  await expect(page.locator('#results table.family tr'), 'header, ours and ORT WASM on the batch-norm net').toHaveCount(3);
  await expect(page.locator('#results table.family')).toContainText('equal');
  // The charts draw the same runs: the seed's engines side by side, and the family (ours and ORT
  // WASM on the batch-norm net), its label carrying ours ÷ ORT WASM at the largest batch.
  await expect(page.locator('#charts #side-by-side canvas')).toHaveCount(2);
  await expect(page.locator('#charts h2').first()).toContainText('Seed model, each engine alone in a fresh browser');
  await expect(page.locator('#charts #family canvas')).toHaveCount(2);
  const familyChart = (await page.evaluate(() => window.bench.charts())).find((c) => c.id === 'family-rate');
  expect(familyChart, 'the family chart, as the page drew it').toEqual({
    id: 'family-rate',
    labels: [`d2l's LeNet with batch norm (${rows[0]!.vsOrtWasm!.imagesPerSecond.toFixed(2)}×)`],
    datasets: [
      { label: 'ours, default', data: [ours.sweep[1]!.imagesPerSecond] },
      { label: 'ONNX Runtime Web WASM', data: [ort.sweep[1]!.imagesPerSecond] },
    ],
  });
  // A bad request is an error naming what was expected, not a hang.
  await page.goto('/bench.html?engine=ort-wasm&model=vgg16');
  await page.waitForFunction(() => document.body.dataset['state'] === 'error');
  expect(((await page.evaluate(() => window.solo)) as { error: string }).error).toMatch(/model 'vgg16' \(expected one of seed, classic/);
});

function checkResult(result: BenchResult, engines: readonly string[]): void {
  const { meta } = result;
  expect(meta.quick).toBe(true);
  expect(meta.host).toBe('browser');
  expect(meta.batches).toEqual(kQuickBatches);
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
  if (e.engine === 'webgpu-fused' || e.engine === 'webgpu-layered') {
    const k = e.kernels;
    expect(k, `${what}: kernel times`).toBeDefined();
    expect(k!.kernels.length, `${what}: kernels`).toBe(e.engine === 'webgpu-fused' ? 1 : 7);
    for (const kernel of k!.kernels) {
      expect(kernel.label).not.toBe('');
      expect(Number.isFinite(kernel.ms) && kernel.ms >= 0, `${what} ${kernel.label}: ${kernel.ms} ms`).toBe(true);
    }
    positive(k!.totalMs, 'total kernel ms');
  }
  if (e.engine === 'webgpu-default') expect(e.detail).toMatch(/^createEngine default/);
}
