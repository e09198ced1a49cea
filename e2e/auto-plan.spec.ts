/**
 * The default plan ('auto'): the engine answers at once with the layered plan, compiles the
 * fused plan in the background and moves to it between calls, never in the middle of one;
 * results agree with the CPU reference (|got − ref| ≤ 1e-5 + 1e-4·|ref|) before, across and
 * after the switch. A call of kAwaitFastPlanImages or more made before the switch waits for the
 * fused plan and runs on it. A model the fused plan declines stays on the layered plan and says why
 * (on a CPU adapter it moves to the layered plan's blocked kernels, built in the background);
 * an engine destroyed while the fused plan compiles lets it go quietly.
 */
import { expect, test } from '@playwright/test';
import { openHarness } from './gpu-page.js';

interface Checked {
  plan: string;
  worst: number;
}

test('seed: first answer on the layered plan, then the fused plan takes over between calls; every call agrees with the reference', async ({ browser }) => {
  test.setTimeout(180_000);
  const page = await openHarness(browser);
  const errors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  const run = await page.evaluate(async () => {
    const { createEngine, loadWeights, referenceOutput, preprocess, WebGpuEngine } = window.lenet5;
    const { randomPixels, Prng } = window.harness;
    const bytes = new Uint8Array(await (await fetch('/weights/seed.safetensors')).arrayBuffer());
    const weights = loadWeights(bytes);
    const rng = new Prng(5);
    const worstRatio = (got: Float32Array, ref: Float64Array) =>
      got.reduce((w, g, i) => Math.max(w, Math.abs(g - ref[i]!) / (1e-5 + 1e-4 * Math.abs(ref[i]!))), 0);
    const started = performance.now();
    const engine = await createEngine(bytes);
    if (!(engine instanceof WebGpuEngine)) throw new Error('expected the WebGPU engine');
    const planAtStart = engine.plan;
    const pixels = randomPixels(rng, 7, false);
    const first = await engine.infer(pixels, 7);
    const firstAnswerMs = performance.now() - started;
    const reference = referenceOutput(weights, preprocess(pixels, 7, weights.preprocessing), 7);
    // A stream of calls overlapping the switch: each must finish on one plan, with right answers.
    const calls: Promise<Checked>[] = [];
    for (let i = 0; i < 24; i++) {
      const count = 1 + ((i * 37) % 64);
      const batch = randomPixels(rng, count, i % 2 === 0);
      const ref = referenceOutput(weights, preprocess(batch, count, weights.preprocessing), count);
      calls.push(engine.infer(batch, count).then((r) => ({ plan: engine.plan, worst: worstRatio(r.scores, ref) })));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stream = await Promise.all(calls);
    const settled = await engine.fastest();
    const fastestMs = performance.now() - started;
    const after = await engine.infer(pixels, 7);
    engine.destroy();
    return {
      planAtStart,
      settled,
      planAfter: engine.plan,
      firstWorst: worstRatio(first.scores, reference),
      afterWorst: worstRatio(after.scores, reference),
      sameClasses: Array.from(first.classes).join() === Array.from(after.classes).join(),
      stream,
      firstAnswerMs,
      fastestMs,
      reason: engine.planFallbackReason,
    };
  });
  await page.close();
  console.log(`auto plan: first answer ${run.firstAnswerMs.toFixed(0)} ms (layered), fused after ${run.fastestMs.toFixed(0)} ms; ` +
    `stream plans ${run.stream.map((s) => s.plan[0]).join('')}`);
  expect(run.planAtStart).toBe('layered');
  expect(run.settled).toBe('fused');
  expect(run.planAfter).toBe('fused');
  expect(run.reason).toBeUndefined();
  expect(run.firstWorst).toBeLessThanOrEqual(1);
  expect(run.afterWorst).toBeLessThanOrEqual(1);
  expect(run.sameClasses).toBe(true);
  for (const [i, call] of run.stream.entries()) expect(call.worst, `call ${i} on the ${call.plan} plan`).toBeLessThanOrEqual(1);
  // Once a call has seen the fused plan, no later call runs layered: the switch happens once.
  const firstFused = run.stream.findIndex((c) => c.plan === 'fused');
  if (firstFused >= 0) expect(run.stream.slice(firstFused).every((c) => c.plan === 'fused')).toBe(true);
  expect(errors).toEqual([]);
});

test('a large call made before the fused plan is ready waits for it and runs on it, matching the reference', async ({ browser }) => {
  test.setTimeout(180_000);
  const page = await openHarness(browser);
  const errors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  const run = await page.evaluate(async () => {
    const { createEngine, loadWeights, referenceOutput, preprocess, WebGpuEngine, kAwaitFastPlanImages } = window.lenet5;
    const { randomPixels, Prng } = window.harness;
    const bytes = new Uint8Array(await (await fetch('/weights/seed.safetensors')).arrayBuffer());
    const weights = loadWeights(bytes);
    const engine = await createEngine(bytes);
    if (!(engine instanceof WebGpuEngine)) throw new Error('expected the WebGPU engine');
    const planAtStart = engine.plan;
    const count = kAwaitFastPlanImages;
    const pixels = randomPixels(new Prng(11), count, false);
    const small = engine.infer(pixels.subarray(0, 784), 1).then(() => engine.plan);
    const large = await engine.infer(pixels, count);
    const planAfterLarge = engine.plan;
    const reference = referenceOutput(weights, preprocess(pixels, count, weights.preprocessing), count);
    const worst = large.scores.reduce((w, g, i) => Math.max(w, Math.abs(g - reference[i]!) / (1e-5 + 1e-4 * Math.abs(reference[i]!))), 0);
    const settled = await engine.fastest();
    engine.destroy();
    return { planAtStart, smallPlan: await small, planAfterLarge, worst, settled, count };
  });
  await page.close();
  expect(run.planAtStart).toBe('layered');
  // The 1-image call made first runs at once, on the layered plan; the large one after it waits.
  expect(run.smallPlan).toBe('layered');
  expect(run.planAfterLarge).toBe('fused');
  expect(run.worst).toBeLessThanOrEqual(1);
  expect(run.settled).toBe('fused');
  expect(errors).toEqual([]);
});

test("a model the fused plan declines (one conv stage) stays on the layered plan under 'auto', says why, and moves to its blocked kernels", async ({ browser }) => {
  // Every preset runs fused now (Caffe's LeNet included); a model of another shape does not.
  const page = await openHarness(browser);
  const run = await page.evaluate(async () => {
    const { createEngine, WebGpuEngine, buildArchitecture, randomWeights, referenceOutput, preprocess } = window.lenet5;
    const { randomPixels, Prng } = window.harness;
    const spec = buildArchitecture({
      inputSize: 28,
      layers: [
        { type: 'conv', outChannels: 6, padding: 2, activation: 'relu' },
        { type: 'pool', mode: 'max' },
        { type: 'dense', outFeatures: 10 },
      ],
    });
    const weights = randomWeights(spec, 5);
    const pixels = randomPixels(new Prng(9), 13, false);
    const reference = referenceOutput(weights, preprocess(pixels, 13, weights.preprocessing), 13);
    const worstRatio = (got: Float32Array) =>
      got.reduce((w, g, i) => Math.max(w, Math.abs(g - reference[i]!) / (1e-5 + 1e-4 * Math.abs(reference[i]!))), 0);
    const adapter = await navigator.gpu.requestAdapter();
    const engine = await createEngine(weights, { backend: 'webgpu' });
    if (!(engine instanceof WebGpuEngine)) throw new Error('expected the WebGPU engine');
    const detailAtStart = engine.planDetail;
    const first = await engine.infer(pixels, 13);
    const settled = await engine.fastest();
    const after = await engine.infer(pixels, 13);
    engine.destroy();
    return {
      cpuAdapter: /swiftshader/i.test(`${adapter?.info.vendor} ${adapter?.info.architecture}`),
      detailAtStart,
      settled,
      plan: engine.plan,
      detail: engine.planDetail,
      reason: engine.planFallbackReason,
      firstWorst: worstRatio(first.scores),
      afterWorst: worstRatio(after.scores),
    };
  });
  await page.close();
  expect(run.settled).toBe('layered');
  expect(run.plan).toBe('layered');
  expect(run.reason).toMatch(/^fused plan: the fused kernel runs conv → pool → conv → pool/);
  // On a CPU adapter the first answer comes from one output per invocation (quick to build), then the blocked kernels take over; a GPU has them from the start.
  expect(run.detailAtStart).toBe(run.cpuAdapter ? 'layered' : 'layered-blocked');
  expect(run.detail).toBe('layered-blocked');
  expect(run.firstWorst, 'first answer against the float64 reference, in units of the allowance').toBeLessThanOrEqual(1);
  expect(run.afterWorst, 'blocked kernels against the float64 reference, in units of the allowance').toBeLessThanOrEqual(1);
});

test('an engine destroyed while its fused plan compiles lets it go: a pending fastest() settles, later calls (fastest() too) reject, nothing is reported', async ({ browser }) => {
  const page = await openHarness(browser);
  const errors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  const run = await page.evaluate(async () => {
    const { createEngine, randomWeights, seedModel, WebGpuEngine, EngineDestroyedError } = window.lenet5;
    const engine = await createEngine(randomWeights(seedModel, 3), { backend: 'webgpu' });
    if (!(engine instanceof WebGpuEngine)) throw new Error('expected the WebGPU engine');
    const pending = engine.fastest();
    engine.destroy();
    const settled = await pending;
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof EngineDestroyedError ? 'EngineDestroyedError' : String(e)),
      );
    return { settled, later: await outcome(engine.infer(new Uint8Array(784), 1)), fastest: await outcome(engine.fastest()) };
  });
  await page.close();
  expect(run.settled).toBe('layered');
  expect(run.later).toBe('EngineDestroyedError');
  expect(run.fastest, 'fastest() after destroy(), as its declaration says').toBe('EngineDestroyedError');
  expect(errors).toEqual([]);
});
