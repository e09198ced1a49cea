/**
 * Both models end to end with seeded random weights against the CPU reference: every layer's
 * activations (batches 1, 7, 257), `infer` scores and classes, `activations`, batches split
 * over maxBatch, and the engine's contract (serialised calls, destroy, typed errors, CPU
 * fallback).
 */
import { expect, test, type Page } from '@playwright/test';
import { expectAllWithin, openHarness } from './gpu-page.js';

const kBatches = [1, 7, 257];
const kModels = ['seed', 'classic-sigmoid', 'classic-scaled-tanh'] as const;

let page: Page;
test.beforeAll(async ({ browser }) => {
  page = await openHarness(browser);
});
test.afterAll(async () => {
  await page?.close();
});

kModels.forEach((model, i) => {
  for (const fuseActivations of [true, false]) {
    const how = fuseActivations ? 'fused activations' : 'standalone activation kernels';
    test(`${model}, ${how}: every layer, infer and activations vs the reference, batches ${kBatches.join(', ')}`, async () => {
      const reports = await page.evaluate((c) => window.harness.modelCase(c), {
        model,
        fuseActivations,
        batches: kBatches,
        seed: 100 + i,
      });
      // 7 layers + scores + classes per batch, and the 7 layers of activations().
      expect(reports).toHaveLength(kBatches.length * 9 + 7);
      expectAllWithin(reports);
    });
  }
});

for (const [model, maxBatch, count] of [['seed', 100, 257], ['classic-sigmoid', 7, 257], ['seed', 1, 5]] as const) {
  test(`${model}: ${count} images with maxBatch ${maxBatch} are split into runs and match the reference`, async () => {
    const reports = await page.evaluate((c) => window.harness.splitCase(c), { model, maxBatch, count, seed: 7 });
    expectAllWithin(reports);
  });
}

test('overlapping infer calls are serialised and each gets its own answer', async () => {
  const outcome = await page.evaluate(async () => {
    const { lenet5, harness } = window;
    const weights = lenet5.randomWeights(lenet5.seedModel, 3);
    const engine = await lenet5.createEngine(weights, { backend: 'webgpu', plan: 'layered', maxBatch: 8 });
    const rng = new harness.Prng(5);
    const batches = [3, 20, 1, 9].map((n) => ({ n, pixels: harness.randomPixels(rng, n) }));
    try {
      const results = await Promise.all(batches.map((b) => engine.infer(b.pixels, b.n)));
      return batches.map((b, k) => {
        const expected = lenet5.referenceOutput(weights, lenet5.preprocess(b.pixels, b.n, weights.preprocessing), b.n);
        const got = results[k]!.scores;
        let worst = 0;
        for (let j = 0; j < expected.length; j++) worst = Math.max(worst, Math.abs(got[j]! - expected[j]!) / (1e-5 + 1e-4 * Math.abs(expected[j]!)));
        return { n: b.n, count: results[k]!.count, length: got.length, worst };
      });
    } finally {
      engine.destroy();
    }
  });
  for (const r of outcome) {
    expect(r.count, `batch of ${r.n}`).toBe(r.n);
    expect(r.length, `batch of ${r.n}`).toBe(r.n * 10);
    expect(r.worst, `batch of ${r.n}: worst error as a share of the tolerance`).toBeLessThanOrEqual(1);
  }
});

test('destroy() is idempotent and later calls reject with EngineDestroyedError', async () => {
  const outcome = await page.evaluate(async () => {
    const { lenet5 } = window;
    const engine = await lenet5.createEngine(lenet5.randomWeights(lenet5.seedModel, 1), { backend: 'webgpu', plan: 'layered', maxBatch: 4 });
    const pixels = new Uint8Array(784);
    const pending = engine.infer(pixels, 1);
    engine.destroy();
    engine.destroy();
    const settle = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);
    return {
      pending: await settle(pending),
      infer: await settle(engine.infer(pixels, 1)),
      activations: await settle(engine.activations(pixels)),
    };
  });
  expect(outcome.infer).toMatch(/^EngineDestroyedError: infer/);
  expect(outcome.activations).toMatch(/^EngineDestroyedError: activations/);
  // Queued before destroy(): it may have finished or been cut short, but only with that error.
  expect(outcome.pending).toMatch(/^(resolved|EngineDestroyedError)/);
});

test('bad input rejects with InputError saying what was expected and found', async () => {
  const outcome = await page.evaluate(async () => {
    const { lenet5 } = window;
    const engine = await lenet5.createEngine(lenet5.randomWeights(lenet5.classicModel('sigmoid'), 1), { backend: 'webgpu', plan: 'layered', maxBatch: 4 });
    const settle = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);
    try {
      const outcome = {
        short: await settle(engine.infer(new Uint8Array(783), 1)),
        zero: await settle(engine.infer(new Uint8Array(0), 0)),
        range: await settle(engine.infer(new Float32Array(784).fill(1.5), 1)),
        activations: await settle(engine.activations(new Uint8Array(784 * 2))),
        maxBatch: await settle(lenet5.createEngine(lenet5.randomWeights(lenet5.seedModel, 1), { backend: 'webgpu', plan: 'layered', maxBatch: 0 })),
        plan: await settle(lenet5.createEngine(lenet5.randomWeights(lenet5.seedModel, 1), { backend: 'webgpu', plan: 'nonsense' as 'layered' })),
        // The engine still works after rejected calls.
        after: await engine.infer(new Uint8Array(784), 1).then((r) => r.count),
      };
      return outcome;
    } finally {
      engine.destroy();
    }
  });
  expect(outcome.short).toBe('InputError: expected 784 pixels (1 × 28×28), found 783');
  expect(outcome.zero).toMatch(/^InputError: image count must be a positive integer, found 0/);
  expect(outcome.range).toMatch(/^InputError: pixel 0 \(image 0\) must be a finite intensity in \[0, 1\], found 1.5/);
  expect(outcome.activations).toMatch(/^InputError: expected 784 pixels/);
  expect(outcome.maxBatch).toMatch(/^InputError: createEngine options: 'maxBatch' must be a positive integer, found 0/);
  expect(outcome.plan).toBe("InputError: createEngine options: 'plan' must be 'auto', 'layered', 'fused', found 'nonsense'");
  expect(outcome.after).toBe(1);
});

test("backend 'auto' falls back to the CPU engine, with the reason, where navigator.gpu is missing", async ({ browser }) => {
  const other = await browser.newPage();
  try {
    await other.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    await other.goto('/e2e/harness.html');
    await other.waitForFunction(() => document.body.dataset['ready'] === 'true');
    const outcome = await other.evaluate(async () => {
      const { lenet5, harness } = window;
      const weights = lenet5.randomWeights(lenet5.classicModel('scaled-tanh'), 2);
      const settle = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);
      const engine = await lenet5.createEngine(weights, { backend: 'auto' });
      const pixels = harness.randomPixels(new harness.Prng(9), 3);
      const result = await engine.infer(pixels, 3);
      const expected = lenet5.referenceOutput(weights, lenet5.preprocess(pixels, 3, weights.preprocessing), 3);
      const activations = await engine.activations(pixels.subarray(0, 784));
      engine.destroy();
      return {
        backend: engine.backend,
        adapter: engine.adapterName,
        reason: engine.fallbackReason,
        maxDiff: Math.max(...expected.map((e, k) => Math.abs(e - result.scores[k]!))),
        classes: [...result.classes],
        expectedClasses: [...lenet5.classify(expected, 3, 'distances')],
        layers: activations.map((a) => `${a.name}:${a.data.length}`).join(' '),
        webgpu: await settle(lenet5.createEngine(weights, { backend: 'webgpu' })),
        afterDestroy: await settle(engine.infer(pixels, 3)),
      };
    });
    expect(outcome.backend).toBe('cpu');
    expect(outcome.adapter).toBe('CPU reference');
    expect(outcome.reason).toMatch(/navigator\.gpu is missing/);
    // The CPU engine returns the reference's float64 scores rounded to float32.
    expect(outcome.maxDiff).toBeLessThan(1e-5);
    expect(outcome.classes).toEqual(outcome.expectedClasses);
    expect(outcome.layers).toBe('C1:4704 S2:1176 C3:1600 S4:400 C5:120 F6:84 OUTPUT:10');
    expect(outcome.webgpu).toMatch(/^WebGPUUnavailableError: navigator\.gpu is missing/);
    expect(outcome.afterDestroy).toMatch(/^EngineDestroyedError/);
  } finally {
    await other.close();
  }
});
