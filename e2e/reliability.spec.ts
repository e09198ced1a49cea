/**
 * Reliability of the WebGPU engine in Chromium: device loss and recovery, 1,000 overlapping
 * calls, buffer and heap accounting over 10,000 inferences, destroy(), and input limits
 * (bad inputs rejected; batches larger than one run processed in chunks within the device's
 * limits). The drivers run in the page (e2e/reliability-page.ts) on devices whose buffers,
 * mappings and dispatches they count; figures are printed with a [reliability] prefix.
 */
import { expect, test, type CDPSession, type Page } from '@playwright/test';
import { openHarness } from './gpu-page.js';
import type { Reliability } from './reliability-page.js';

/** Heap growth allowed across 10,000 inferences, after GC (the engine allocates results only). */
const kHeapBound = 2 * 2 ** 20;

let page: Page;
let cdp: CDPSession;
test.beforeAll(async ({ browser }) => {
  page = await openHarness(browser);
  await page.addScriptTag({ type: 'module', url: '/e2e/reliability-page.ts' });
  await page.waitForFunction(() => document.body.dataset['reliability'] === 'ready');
  cdp = await page.context().newCDPSession(page);
});
test.afterAll(async () => {
  await page?.close();
});

declare global {
  interface Window {
    reliability: Reliability;
  }
}

/** Used JS heap after a full garbage collection (DevTools protocol: exact, not bucketed). */
async function heapAfterGc(): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize;
}

test('device lost mid-stream: pending calls reject with DeviceLostError, recover() restores identical results', async () => {
  test.setTimeout(300_000);
  const r = await page.evaluate((c) => window.reliability.deviceLoss(c), { model: 'seed' as const, seed: 21, calls: 40, lossAfter: 5 });
  console.log(
    `[reliability] device loss: ${r.loss1.resolved} calls resolved before the loss (checked), ${r.loss1.rejected.length} rejected; ` +
      `second loss: ${r.loss2.resolved} resolved, ${r.loss2.rejected.length} rejected; lost reason '${r.lostReason}'`,
  );
  expect(r.beforeCheck).toEqual([]);
  for (const loss of [r.loss1, r.loss2]) {
    expect(loss.resolved).toBeGreaterThanOrEqual(6); // calls 0..lossAfter finished before destroy()
    expect(loss.rejected.length).toBeGreaterThan(0);
    expect(loss.resolved + loss.rejected.length).toBe(40);
    expect(loss.resolvedAfterRejection, 'a call resolved after an earlier one failed').toBe(0);
    expect(loss.failedChecks).toEqual([]);
    for (const message of loss.rejected) expect(message).toMatch(/^DeviceLostError: infer: the GPU device was lost .*recover\(\)/);
  }
  expect(r.afterLoss).toMatch(/^DeviceLostError: infer: the GPU device was lost/);
  expect(r.activationsAfterLoss).toMatch(/^DeviceLostError: activations: the GPU device was lost/);
  expect(r.sameAfterRecover1, 'recover(device): scores bit-identical to before the loss').toBe(true);
  expect(r.sameAfterRecover2, 'recover(): scores bit-identical to before the loss').toBe(true);
  expect(r.activationLayers).toBe('conv1:4704 pool1:1176 conv2:1600 pool2:400 fc1:120 fc2:84 fc3:10');
  expect(r.recoverWhenHealthy).toBe('resolved');
  expect(r.sameAfterHealthyRecover).toBe(true);
  expect(r.recoverAfterDestroy).toMatch(/^EngineDestroyedError: recover/);
  expect(r.violations).toEqual([]);
});

test('1,000 overlapping infer calls, mixed batch sizes: each resolves with its own correct result', async () => {
  test.setTimeout(600_000);
  const sizes = [1, 3, 2, 7, 1, 5, 12, 1, 4, 9, 2, 6];
  const r = await page.evaluate((c) => window.reliability.overlapping(c), { model: 'classic-scaled-tanh' as const, seed: 31, calls: 1000, maxBatch: 8, sizes });
  console.log(
    `[reliability] 1,000 overlapping calls: ${r.images} images in ${r.ms.toFixed(0)} ms on ${r.submits} GPU runs, ` +
      `${r.checked} comparisons with the reference, ${r.failed.length} failed, ${r.violations.length} mapping violations`,
  );
  expect(r.checked).toBe(3000);
  expect(r.failed.slice(0, 10)).toEqual([]);
  expect(r.violations).toEqual([]);
  expect(r.liveAfterDestroy).toBe(0);
});

test('10,000 inferences: live GPU buffers unchanged after warm-up, JS heap flat', async () => {
  test.setTimeout(600_000);
  const start = await page.evaluate((c) => window.reliability.steadyStart(c), { model: 'seed' as const, seed: 41, warmup: 200, plan: 'layered' as const });
  const heapBefore = await heapAfterGc();
  const run = await page.evaluate((c) => window.reliability.steadyRun(c), { count: 10_000 });
  const heapAfter = await heapAfterGc();
  const end = await page.evaluate(() => window.reliability.steadyEnd());
  const growth = heapAfter - heapBefore;
  console.log(
    `[reliability] 10,000 inferences (batch 1, layered plan): ${(run.ms / 1000).toFixed(1)} s (${((run.ms * 1000) / 10_000).toFixed(0)} µs each); ` +
      `live GPU buffers ${start.live} after warm-up, ${run.live} after, ${run.createdDuringRun} created during the run; ` +
      `JS heap ${(heapBefore / 2 ** 20).toFixed(2)} → ${(heapAfter / 2 ** 20).toFixed(2)} MiB (${(growth / 1024).toFixed(0)} KiB, bound ${kHeapBound / 1024} KiB); ` +
      `${end.liveAfterDestroy} live after destroy()`,
  );
  expect(start.live).toBeGreaterThan(0);
  expect(run.live).toBe(start.live);
  expect(run.createdDuringRun).toBe(0);
  expect(run.lastCheck).toEqual([]);
  expect(run.violations).toEqual([]);
  expect(growth).toBeLessThan(kHeapBound);
  expect(end.liveAfterDestroy).toBe(0);
});

test('destroy() is idempotent, releases every buffer, and every later call fails with EngineDestroyedError', async () => {
  const r = await page.evaluate((c) => window.reliability.destroyContract(c), { model: 'classic-sigmoid' as const, seed: 51 });
  for (const outcome of r.pending) expect(outcome).toMatch(/^(resolved|EngineDestroyedError: (infer|activations))/);
  expect(r.infer).toMatch(/^EngineDestroyedError: infer: the engine was destroyed/);
  expect(r.activations).toMatch(/^EngineDestroyedError: activations: the engine was destroyed/);
  expect(r.recover).toMatch(/^EngineDestroyedError: recover/);
  expect(r.inferBadInput).toMatch(/^EngineDestroyedError/);
  expect(r.liveAfterDestroy).toBe(0);
  expect(r.deviceStillUsable, "a caller's device is not destroyed with the engine").toBe(true);
});

test('bad inputs are rejected with InputError saying what was expected and found', async () => {
  const r = await page.evaluate((c) => window.reliability.inputLimits(c), { seed: 61 });
  const wrong = r.outcomes.filter((o) => !/^InputError: /.test(o.outcome));
  expect(wrong, wrong.map((o) => `${o.what} → ${o.outcome}`).join('\n')).toEqual([]);
  for (const o of r.outcomes) expect(o.outcome, o.what).toMatch(/expected|must|needs|at most|≤/);
  const byWhat = new Map(r.outcomes.map((o) => [o.what, o.outcome]));
  expect(byWhat.get('infer: NaN pixel')).toContain('pixel 100 (image 0)');
  expect(byWhat.get('infer: count 1,000,000 with 784 bytes')).toContain('expected 784000000 pixels');
  expect(byWhat.get('createEngine maxBatch 100000000')).toMatch(/this device binds at most \d+ bytes, so maxBatch ≤ \d+/);
  expect(r.stillWorks).toBe(1);
  console.log(`[reliability] ${r.outcomes.length} bad inputs, each an InputError`);
});

test('a batch larger than one run is processed in chunks within the dispatch and buffer limits', async () => {
  test.setTimeout(300_000);
  // 2,100 images with the default maxBatch (1024): 3 runs, and C1's 1024 × 4,704 outputs need
  // more than 65,535 workgroups of 64, so each run uses a 2-D dispatch grid.
  const r = await page.evaluate((c) => window.reliability.chunked(c), { model: 'classic-sigmoid' as const, seed: 71, count: 2100 });
  console.log(
    `[reliability] ${2100} images, maxBatch ${r.maxBatch}: ${r.runs} runs in ${r.ms.toFixed(0)} ms; largest dispatch ` +
      `[${r.largestDispatch.join(', ')}] (limit ${r.maxComputeWorkgroupsPerDimension} per dimension); largest storage buffer ` +
      `${r.largestStorageBuffer} bytes (limit ${r.maxStorageBufferBindingSize})`,
  );
  expect(r.failed).toEqual([]);
  expect(r.runs).toBe(Math.ceil(2100 / r.maxBatch));
  expect(r.runs).toBeGreaterThan(1);
  expect(r.largestDispatch[1], 'a 2-D grid was needed').toBeGreaterThan(1);
  for (const d of r.largestDispatch) expect(d).toBeLessThanOrEqual(r.maxComputeWorkgroupsPerDimension);
  expect(r.largestStorageBuffer).toBeLessThanOrEqual(r.maxStorageBufferBindingSize);
  expect(r.violations).toEqual([]);
});
