/**
 * The fused whole-network plan against the CPU reference, output only (the layered plan is
 * the one that exposes activations): both kernel variants — the one this adapter gets through
 * `createEngine(…, { plan: 'fused' })`, and the other one built directly, the lane kernel both
 * with subgroups (where the adapter has them) and without — for the seed model
 * and the classic model with either activation, on batches 1, 3, 7 and 257 (both shapes of the lane kernel). Plus: the variant
 * choice per adapter, and no GPU object created on the inference path after warm-up.
 */
import { expect, test, type Page } from '@playwright/test';
import { expectAllWithin, openHarness } from './gpu-page.js';
import type { Comparison } from './compare.js';

const kBatches = [1, 3, 7, 257]; // 1 and 3: the split lane kernel; 7 and 257: the packed one
const kModels = ['seed', 'classic-sigmoid', 'classic-scaled-tanh'] as const;

let page: Page;
test.beforeAll(async ({ browser }) => {
  page = await openHarness(browser);
});
test.afterAll(async () => {
  await page?.close();
});

/** In the page: scores and classes of `runs` against referenceForward for each batch. */
async function fusedCase(c: { model: string; variant: 'engine' | 'invocation' | 'workgroup'; subgroups?: boolean; seed: number; batches: number[] }) {
  return page.evaluate(async (c) => {
    const { lenet5, harness } = window;
    // Vite serves the sources by path: the test reaches the plan and the comparison helpers.
    const load = (path: string) => import(/* @vite-ignore */ path);
    const compare = (await load('/e2e/compare.ts')) as typeof import('./compare.js');
    const fused = (await load('/src/gpu/fused-plan.ts')) as typeof import('../src/gpu/fused-plan.js');
    const runnerModule = (await load('/src/gpu/plan-runner.ts')) as typeof import('../src/gpu/plan-runner.js');
    const spec = harness.modelSpec(c.model as Parameters<typeof harness.modelSpec>[0]);
    const weights = lenet5.randomWeights(spec, c.seed);
    const rng = new harness.Prng(c.seed + 1);
    const maxBatch = Math.max(...c.batches);
    const reports: Comparison[] = [];
    let kind = '';
    if (c.variant === 'engine') {
      const engine = await lenet5.createEngine(weights, { backend: 'webgpu', plan: 'fused', maxBatch });
      try {
        for (const count of c.batches) {
          const pixels = harness.randomPixels(rng, count, count % 2 === 0);
          const reference = lenet5.referenceOutput(weights, lenet5.preprocess(pixels, count, weights.preprocessing), count);
          const result = await engine.infer(pixels, count);
          reports.push(compare.compareFloats(`engine scores batch ${count}`, result.scores, reference, [10]));
          reports.push(
            compare.compareClasses(`engine classes batch ${count}`, result.classes, lenet5.classify(reference, count, spec.output), reference, 10),
          );
        }
        kind = (engine as unknown as { planKind: string }).planKind;
      } finally {
        engine.destroy();
      }
      return { reports, kind };
    }
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice({ requiredFeatures: lenet5.recommendedFeatures(adapter!) });
    const plan = await fused.buildFusedPlan(device, weights, { maxBatch, variant: c.variant, subgroups: c.subgroups });
    const subgroupKernel = plan.steps.some((s) => s.label.endsWith('.invocation.subgroups'));
    const runner = new runnerModule.PlanRunner(device, plan);
    try {
      for (const count of c.batches) {
        const pixels = harness.randomPixels(rng, count);
        const input = lenet5.preprocess(pixels, count, weights.preprocessing);
        const reference = lenet5.referenceOutput(weights, input, count);
        const scores = await runner.run(input, count);
        reports.push(compare.compareFloats(`${plan.kind} scores batch ${count}`, scores, reference, [10]));
      }
      return { reports, kind: plan.kind, subgroupKernel, subgroupsAvailable: fused.lanesShareSubgroup(device) };
    } finally {
      runner.destroy();
      plan.destroy();
      device.destroy();
    }
  }, c);
}

kModels.forEach((model, i) => {
  test(`${model}: plan 'fused' through createEngine matches the reference, batches ${kBatches.join(', ')}`, async () => {
    const { reports, kind } = await fusedCase({ model, variant: 'engine', seed: 40 + i, batches: kBatches });
    expect(kind).toBe('fused');
    expect(reports).toHaveLength(kBatches.length * 2);
    expectAllWithin(reports);
  });
  const kernels = [
    { variant: 'invocation', subgroups: true, name: `'invocation' (subgroups where the adapter has them)` },
    { variant: 'invocation', subgroups: false, name: `'invocation' without subgroups` },
    { variant: 'workgroup', subgroups: false, name: `'workgroup'` },
  ] as const;
  for (const { variant, subgroups, name } of kernels) {
    test(`${model}: fused ${name} kernel matches the reference, batches ${kBatches.join(', ')}`, async () => {
      const result = await fusedCase({ model, variant, subgroups, seed: 50 + i, batches: kBatches });
      expect(result.kind).toBe(`fused-${variant}`);
      // The subgroup kernel is built exactly when asked for and the device can run it.
      expect(result.subgroupKernel).toBe(variant === 'invocation' && subgroups && result.subgroupsAvailable);
      expect(result.reports).toHaveLength(kBatches.length);
      expectAllWithin(result.reports);
    });
  }
});

test('the variant follows the adapter: SwiftShader and other CPU adapters get lanes, GPUs get workgroups', async () => {
  const choice = await page.evaluate(async () => {
    const path = '/src/gpu/fused-plan.ts';
    const fused = (await import(/* @vite-ignore */ path)) as typeof import('../src/gpu/fused-plan.js');
    const adapter = await navigator.gpu.requestAdapter();
    return {
      here: fused.fusedVariantFor(adapter!.info),
      architecture: adapter!.info.architecture,
      swiftshader: fused.fusedVariantFor({ vendor: 'google', architecture: 'swiftshader' }),
      lavapipe: fused.fusedVariantFor({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }),
      nvidia: fused.fusedVariantFor({ vendor: 'nvidia', architecture: 'hopper' }),
      unknown: fused.fusedVariantFor(undefined),
    };
  });
  expect(choice.swiftshader).toBe('invocation');
  expect(choice.lavapipe).toBe('invocation');
  expect(choice.nvidia).toBe('workgroup');
  expect(choice.unknown).toBe('workgroup');
  // This machine's adapter is SwiftShader; on a GPU machine the line above covers the choice.
  if (choice.architecture === 'swiftshader') expect(choice.here).toBe('invocation');
});

test('after warm-up, infer creates no buffer, pipeline, bind group or layout (fused and layered plans)', async () => {
  const counts = await page.evaluate(async () => {
    const { lenet5, harness } = window;
    const proto = GPUDevice.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const watched = ['createBuffer', 'createBindGroup', 'createBindGroupLayout', 'createPipelineLayout', 'createComputePipeline', 'createComputePipelineAsync', 'createShaderModule'];
    const calls: Record<string, number> = {};
    const originals = watched.map((name) => proto[name]!);
    const result: Record<string, Record<string, number>> = {};
    const weights = lenet5.randomWeights(lenet5.seedModel, 9);
    const pixels = harness.randomPixels(new harness.Prng(2), 64);
    for (const plan of ['fused', 'layered'] as const) {
      const engine = await lenet5.createEngine(weights, { backend: 'webgpu', plan, maxBatch: 64 });
      await engine.infer(pixels, 64); // warm-up
      watched.forEach((name, k) => {
        calls[name] = 0;
        proto[name] = function (this: unknown, ...args: unknown[]) {
          calls[name]!++;
          return originals[k]!.apply(this, args);
        };
      });
      try {
        for (const n of [1, 64, 17, 64]) await engine.infer(pixels.subarray(0, n * 784), n);
      } finally {
        watched.forEach((name, k) => (proto[name] = originals[k]!));
        engine.destroy();
      }
      result[plan] = { ...calls };
    }
    return result;
  });
  for (const [plan, calls] of Object.entries(counts)) {
    expect(Object.keys(calls).length, `${plan}: no method was watched`).toBe(7);
    for (const [method, n] of Object.entries(calls)) expect(n, `${plan} plan: ${method} calls during infer`).toBe(0);
  }
});
