/**
 * The fused whole-network plan against the CPU reference, on its output only (the fused
 * kernel keeps no layer's activations; the layered plan is the one compared layer by layer).
 * For each model, on one device: the plan the adapter gets through `createEngine(…, { plan:
 * 'fused' })` (scores and classes), then each kernel built directly — the lane kernel with
 * subgroups (where the adapter has them) and without, the packed lane kernel alone (the
 * 'auto' plan's first step, which runs small batches too; with its Winograd second conv and
 * with the direct one), and the workgroup kernel — on
 * batches 1 and 2 (the lane kernel's split shape) and 3, 7 and 257 (its packed shape). Random weights
 * (`randomWeights`, PyTorch's initialisation), tolerance 1e-5 + 1e-4·|ref|.
 *
 * The models: the seed, the classic model with either activation, PyTorch's tutorial Net, and
 * more members (kFamily) chosen so that between them every activation appears after a conv,
 * a pool and a dense layer, every pooling mode in both stages, inputs of 28 and 32 with
 * padding 0, 1 and 2 (on either conv, odd sizes pooled with floor), with an RBF output, a
 * softmax and a log-softmax; a colour input (3 maps) with scale-shift layers (random scales
 * of either sign and shifts) after every conv, pool and dense layer; and a wide conv (4→33
 * maps, 132 kernels). The device is requested with `recommendedLimits`, so every kernel fits
 * its workgroup memory. Plus: a model the fused plan declines runs on the layered plan and
 * says why, what a device with less workgroup memory gets, the variant choice per adapter,
 * and no GPU object created on the inference path after warm-up.
 */
import { expect, test, type Page } from '@playwright/test';
import { expectAllWithin, openHarness } from './gpu-page.js';
import type { Comparison } from './compare.js';
import type { ArchitectureJson } from '../src/model/architecture.js';

const kBatches = [1, 2, 3, 7, 257]; // 1 and 2: the split lane kernel (kSplitMaxBatch); 3, 7 and 257: the packed one

/**
 * Family members beyond the presets. Sizes: tanh-max-log-softmax 28 → 26 (pad 1) → 13 → 9
 * → 4 (both pools drop a row); trainable-max-rbf 28 → 24 → 12 → 10 (pad 1) → 5;
 * odd-32-softmax 32 → 30 (pad 1) → 15 → 11 → 5, two dense layers.
 */
const kFamily: Readonly<Record<string, ArchitectureJson>> = {
  'tanh-max-log-softmax': {
    inputSize: 28,
    layers: [
      { type: 'conv', outChannels: 6, padding: 1, activation: 'tanh' },
      { type: 'pool', mode: 'max', activation: 'tanh' },
      { type: 'conv', outChannels: 16, activation: 'tanh' },
      { type: 'pool', mode: 'average', activation: 'relu' },
      { type: 'dense', outFeatures: 120, activation: 'tanh' },
      { type: 'dense', outFeatures: 84, activation: 'relu' },
      { type: 'dense', outFeatures: 10 },
      { type: 'softmax', log: true },
    ],
  },
  'trainable-max-rbf': {
    inputSize: 28,
    layers: [
      { type: 'conv', outChannels: 6, activation: 'none' },
      { type: 'pool', mode: 'trainable', activation: 'scaled-tanh' },
      { type: 'conv', outChannels: 16, padding: 1, activation: 'relu' },
      { type: 'pool', mode: 'max', activation: 'sigmoid' },
      { type: 'dense', outFeatures: 120, activation: 'sigmoid' },
      { type: 'dense', outFeatures: 84, activation: 'scaled-tanh' },
      { type: 'rbf', classes: 10 },
    ],
  },
  // 3 input maps (28 + 2·2 padded) → 28 → 14 → 10 → 5; a scale-shift after every layer but the
  // last, some with an activation of their own, two in a row after the second conv.
  'colour-scale-shift': {
    inputSize: 28,
    inputChannels: 3,
    preprocessing: { pad: 0, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] },
    layers: [
      { type: 'conv', outChannels: 6, padding: 2, activation: 'relu' },
      { type: 'scale-shift' },
      { type: 'pool', mode: 'max' },
      { type: 'scale-shift', activation: 'tanh' },
      { type: 'conv', outChannels: 16, activation: 'sigmoid' },
      { type: 'scale-shift', activation: 'relu' },
      { type: 'scale-shift' },
      { type: 'pool', mode: 'average' },
      { type: 'scale-shift' },
      { type: 'dense', outFeatures: 30, activation: 'relu' },
      { type: 'scale-shift', activation: 'sigmoid' },
      { type: 'dense', outFeatures: 10 },
      { type: 'softmax' },
    ],
  },
  // A wide second conv (4→33 maps: 132 kernels, past the old bound of 128; kept near it, as
  // SwiftShader's compile time grows with the kernels): 28 → 24 → 12 → 8 → 4.
  'wide-4-33': {
    inputSize: 28,
    layers: [
      { type: 'conv', outChannels: 4, activation: 'relu' },
      { type: 'pool', mode: 'max' },
      { type: 'conv', outChannels: 33, activation: 'relu' },
      { type: 'pool', mode: 'max' },
      { type: 'dense', outFeatures: 50, activation: 'relu' },
      { type: 'dense', outFeatures: 10 },
    ],
  },
  'odd-32-softmax': {
    inputSize: 32,
    layers: [
      { type: 'conv', outChannels: 6, padding: 1, activation: 'scaled-tanh' },
      { type: 'pool', mode: 'average', activation: 'none' },
      { type: 'conv', outChannels: 16, activation: 'none' },
      { type: 'pool', mode: 'max', activation: 'none' },
      { type: 'dense', outFeatures: 120, activation: 'relu' },
      { type: 'dense', outFeatures: 10 },
      { type: 'softmax' },
    ],
  },
};

const kModels = ['seed', 'classic-sigmoid', 'classic-scaled-tanh', 'pytorch-tutorial', ...Object.keys(kFamily)];

let page: Page;
test.beforeAll(async ({ browser }) => {
  page = await openHarness(browser);
});
test.afterAll(async () => {
  await page?.close();
});

interface ModelRef {
  readonly name: string;
  /** A family member's description; absent for the harness's models and the presets. */
  readonly json?: ArchitectureJson;
}

interface FusedReport {
  readonly reports: Comparison[];
  /** What each run was: engine plan kind, then each direct plan's kind and whether it used subgroups. */
  readonly runs: Array<{ what: string; kind: string; steps?: number; subgroupKernel?: boolean }>;
  readonly subgroupsAvailable: boolean;
}

/**
 * In the page, on one device: the engine with plan 'fused', then the lane kernel with and
 * without subgroups and the workgroup kernel, each against referenceForward on every batch.
 * The engine and the direct plans share the device, so its pipelines are compiled once.
 */
async function fusedCase(c: { model: ModelRef; seed: number; batches: number[] }): Promise<FusedReport> {
  return page.evaluate(async (c) => {
    const { lenet5, harness } = window;
    // Vite serves the sources by path: the test reaches the plan and the comparison helpers.
    const load = (path: string) => import(/* @vite-ignore */ path);
    const compare = (await load('/e2e/compare.ts')) as typeof import('./compare.js');
    const fused = (await load('/src/gpu/fused-plan.ts')) as typeof import('../src/gpu/fused-plan.js');
    const runnerModule = (await load('/src/gpu/plan-runner.ts')) as typeof import('../src/gpu/plan-runner.js');
    const { name, json } = c.model;
    const spec = json
      ? lenet5.buildArchitecture(json, name)
      : name.startsWith('classic') || name === 'seed'
        ? harness.modelSpec(name as Parameters<typeof harness.modelSpec>[0])
        : lenet5.presetModel(name)!;
    const last = spec.layers[spec.layers.length - 1]!;
    const classes = lenet5.layerOutputSize(last);
    const rng = new harness.Prng(c.seed + 1);
    const random = lenet5.randomWeights(spec, c.seed);
    // randomWeights starts a scale-shift as the identity (1, 0): draw scales of either sign and shifts, so a misplaced one shows.
    const tensors = new Map(random.tensors);
    for (const l of spec.layers) {
      if (l.kind !== 'scale-shift') continue;
      tensors.set(l.scale, Float32Array.from({ length: l.channels }, () => rng.uniform(-2, 2)));
      tensors.set(l.shift, Float32Array.from({ length: l.channels }, () => rng.uniform(-1, 1)));
    }
    const weights = { ...random, tensors };
    // The raw images: C planar 28×28 maps each (harness.randomPixels makes 28×28 ones).
    const input = { channels: spec.inputChannels, size: spec.inputSize - 2 * weights.preprocessing.pad };
    if (input.size !== 28) throw new Error(`fusedCase takes models with 28×28 raw images, '${name}' takes ${input.size}×${input.size}`);
    const pixelsOf = (count: number, floats = false) => harness.randomPixels(rng, count * input.channels, floats);
    const maxBatch = Math.max(...c.batches);
    const reports: Comparison[] = [];
    const runs: FusedReport['runs'] = [];
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice({ requiredFeatures: lenet5.recommendedFeatures(adapter!), requiredLimits: lenet5.recommendedLimits(adapter!) });
    try {
      const engine = await lenet5.createEngine(weights, { backend: 'webgpu', plan: 'fused', maxBatch, device });
      try {
        for (const count of c.batches) {
          const pixels = pixelsOf(count, count % 2 === 0);
          const reference = lenet5.referenceForward(weights, lenet5.preprocess(pixels, count, weights.preprocessing, undefined, input), count).get(last.name)!;
          const result = await engine.infer(pixels, count);
          reports.push(compare.compareFloats(`${name} engine scores batch ${count}`, result.scores, reference, [classes]));
          reports.push(
            compare.compareClasses(`${name} engine classes batch ${count}`, result.classes, lenet5.classify(reference, count, spec.output), reference, classes),
          );
        }
        runs.push({ what: 'engine', kind: engine.plan ?? 'cpu' });
      } finally {
        engine.destroy();
      }
      const kernels = [
        { what: 'lanes, subgroups where available', variant: 'invocation', subgroups: true, smallBatchKernel: true, conv2: 'winograd' },
        { what: 'lanes without subgroups', variant: 'invocation', subgroups: false, smallBatchKernel: true, conv2: 'winograd' },
        // The 'auto' plan's first step: the packed kernel runs the small batches too.
        { what: 'packed lanes at every batch', variant: 'invocation', subgroups: true, smallBatchKernel: false, conv2: 'winograd' },
        // The packed kernel's other second conv (direct fma chains), kept for comparison.
        { what: 'packed lanes, direct second conv', variant: 'invocation', subgroups: true, smallBatchKernel: false, conv2: 'direct' },
        { what: 'workgroup', variant: 'workgroup', subgroups: false, smallBatchKernel: true, conv2: 'winograd' },
      ] as const;
      for (const { what, variant, subgroups, smallBatchKernel, conv2 } of kernels) {
        const plan = await fused.buildFusedPlan(device, weights, { maxBatch, variant, subgroups, smallBatchKernel, conv2 });
        const runner = new runnerModule.PlanRunner(device, plan);
        try {
          for (const count of c.batches) {
            const preprocessed = lenet5.preprocess(pixelsOf(count), count, weights.preprocessing, undefined, input);
            const reference = lenet5.referenceForward(weights, preprocessed, count).get(last.name)!;
            const scores = await runner.run(preprocessed, count);
            reports.push(compare.compareFloats(`${name} ${what} (${plan.kind}) batch ${count}`, scores, reference, [classes]));
          }
          runs.push({ what, kind: plan.kind, steps: plan.steps.length, subgroupKernel: plan.steps.some((s) => s.label.endsWith('.invocation.subgroups')) });
        } finally {
          runner.destroy();
          plan.destroy();
        }
      }
      return { reports, runs, subgroupsAvailable: fused.lanesShareSubgroup(device) };
    } finally {
      device.destroy();
    }
  }, c);
}

kModels.forEach((name, i) => {
  test(`${name}: the fused plan (engine, lanes with and without subgroups, packed lanes alone with either second conv, workgroup) matches the reference, batches ${kBatches.join(', ')}`, async () => {
    test.setTimeout(360_000); // up to four pipelines per model; SwiftShader compiles each for seconds
    const json = kFamily[name];
    const result = await fusedCase({ model: { name, ...(json ? { json } : {}) }, seed: 40 + i, batches: kBatches });
    expect(result.runs.map((r) => r.kind)).toEqual(['fused', 'fused-invocation', 'fused-invocation', 'fused-invocation', 'fused-invocation', 'fused-workgroup']);
    // The subgroup kernel is built exactly when asked for and the device can run it.
    const subgroups = result.subgroupsAvailable;
    expect(result.runs.map((r) => r.subgroupKernel)).toEqual([undefined, subgroups, false, subgroups, subgroups, false]);
    expect(result.runs.slice(3, 5).map((r) => r.steps), 'without the small-batch kernel: one step').toEqual([1, 1]);
    expect(result.reports).toHaveLength(kBatches.length * (2 + 5));
    expectAllWithin(result.reports);
  });
});

test('a model the fused plan declines (a second conv of 1,200 kernels) runs on the layered plan, which says why', async () => {
  const outcome = await page.evaluate(async () => {
    const { lenet5, harness } = window;
    const path = '/e2e/compare.ts';
    const compare = (await import(/* @vite-ignore */ path)) as typeof import('./compare.js');
    const spec = lenet5.buildArchitecture({
      inputSize: 28,
      layers: [
        { type: 'conv', outChannels: 40, activation: 'relu' },
        { type: 'pool', mode: 'max' },
        { type: 'conv', outChannels: 30 },
        { type: 'pool', mode: 'max' },
        { type: 'dense', outFeatures: 10 },
      ],
    });
    const weights = lenet5.randomWeights(spec, 11);
    const engine = await lenet5.createEngine(weights, { backend: 'webgpu', plan: 'fused', maxBatch: 8 });
    try {
      const pixels = harness.randomPixels(new harness.Prng(12), 3);
      const reference = lenet5.referenceForward(weights, lenet5.preprocess(pixels, 3, weights.preprocessing), 3).get('fc1')!;
      const result = await engine.infer(pixels, 3);
      return { kind: engine.plan ?? 'cpu', reason: engine.planFallbackReason, report: compare.compareFloats('1,200-kernel conv scores batch 3', result.scores, reference, [10]) };
    } finally {
      engine.destroy();
    }
  });
  expect(outcome.kind).toBe('layered');
  expect(outcome.reason).toMatch(/^fused plan: conv2 has 1200 5×5 kernels \(40→30 maps\); .* at most 1024 per conv/);
  expectAllWithin([outcome.report]);
});

test('fusedDeclineReason: every preset and family model runs; too many kernels or another shape are declined with the reason', async () => {
  const reasons = await page.evaluate(async (family) => {
    const { lenet5 } = window;
    const path = '/src/gpu/fused-plan.ts';
    const fused = (await import(/* @vite-ignore */ path)) as typeof import('../src/gpu/fused-plan.js');
    const reasonOf = (json: ArchitectureJson) => fused.fusedDeclineReason(lenet5.buildArchitecture(json)) ?? 'runs';
    const conv = (padding: number, outChannels = 6) => ({ type: 'conv', outChannels, padding, activation: 'relu' }) as const;
    const pool = { type: 'pool', mode: 'max' } as const;
    const dense = { type: 'dense', outFeatures: 10 } as const;
    return {
      presets: Object.fromEntries(lenet5.kPresetNames.map((n) => [n, fused.fusedDeclineReason(lenet5.presetModel(n)!) ?? 'runs'])),
      family: Object.fromEntries(Object.entries(family).map(([n, json]) => [n, reasonOf(json)])),
      // 41 maps → 25: 1,025 kernels, one past the bound; 40 → 25 (1,000) runs.
      wide: reasonOf({ inputSize: 28, layers: [conv(0, 41), pool, conv(0, 25), pool, dense] }),
      wideEnough: reasonOf({ inputSize: 28, layers: [conv(0, 40), pool, conv(0, 25), pool, dense] }),
      // A 16-map colour input (16 × 6 = 96 kernels in the first stage) runs.
      sixteenMaps: reasonOf({ inputSize: 28, inputChannels: 16, layers: [conv(2), pool, conv(0, 16), pool, dense] }),
      oneStage: reasonOf({ inputSize: 28, layers: [conv(2), pool, dense] }),
      convConv: reasonOf({ inputSize: 28, layers: [conv(0), conv(0, 16), pool, conv(0, 16), pool, dense] }),
    };
  }, kFamily);
  expect(reasons.presets).toEqual(Object.fromEntries(Object.keys(reasons.presets).map((n) => [n, 'runs'])));
  expect(Object.keys(reasons.presets)).toEqual(expect.arrayContaining(['caffe-lenet', 'd2l-lenet-bn', 'pytorch-cifar10-tutorial']));
  expect(Object.values(reasons.family)).toEqual(Object.keys(kFamily).map(() => 'runs'));
  expect(reasons.wide).toMatch(/conv2 has 1025 5×5 kernels \(41→25 maps\); .* at most 1024 per conv/);
  expect(reasons.wideEnough).toBe('runs');
  expect(reasons.sixteenMaps).toBe('runs');
  expect(reasons.oneStage).toMatch(/conv → pool → conv → pool → dense… .* has dense layer fc1 \(layer 2\) where it needs a conv/);
  expect(reasons.convConv).toMatch(/has conv5x5 layer conv2 \(layer 1\) where it needs a pool/);
});

test('a device with less workgroup memory than an image needs: the lane kernels leave out the split one, the workgroup kernel declines with the reason', async () => {
  const outcome = await page.evaluate(async () => {
    const { lenet5 } = window;
    const path = '/src/gpu/fused-plan.ts';
    const fused = (await import(/* @vite-ignore */ path)) as typeof import('../src/gpu/fused-plan.js');
    const weights = lenet5.randomWeights(lenet5.presetModel('caffe-lenet')!, 3);
    // WebGPU's guaranteed limits: 16,384 bytes of workgroup memory; Caffe's LeNet needs 19,856 per image.
    const small = await (await navigator.gpu.requestAdapter())!.requestDevice();
    const adapter = (await navigator.gpu.requestAdapter())!;
    const large = await adapter.requestDevice({ requiredLimits: lenet5.recommendedLimits(adapter) });
    try {
      // fusedKernels only writes the WGSL: nothing is compiled here.
      const names = (device: GPUDevice) => fused.fusedKernels(device, weights, { maxBatch: 8, variant: 'invocation' }).kernels.map((k) => k.name);
      let workgroup = 'built';
      try {
        fused.fusedKernels(small, weights, { maxBatch: 8, variant: 'workgroup' });
      } catch (e) {
        workgroup = `${(e as Error).name}: ${(e as Error).message}`;
      }
      return {
        smallLimit: small.limits.maxComputeWorkgroupStorageSize,
        largeLimit: large.limits.maxComputeWorkgroupStorageSize,
        small: names(small),
        large: names(large),
        workgroup,
        largeWorkgroup: fused.fusedKernels(large, weights, { maxBatch: 8, variant: 'workgroup' }).kernels.map((k) => k.name),
      };
    } finally {
      small.destroy();
      large.destroy();
    }
  });
  expect(outcome.smallLimit).toBe(16384);
  // Devices without the subgroups feature: the packed kernel is 'invocation'.
  expect(outcome.small).toEqual(['invocation']);
  expect(outcome.workgroup).toMatch(/^ModelMismatchError: fused plan: 'caffe-lenet' needs 19856 bytes of workgroup memory per image .* this device offers 16384$/);
  if (outcome.largeLimit >= 19856) {
    // SwiftShader offers 32,768: both lane kernels, and the workgroup kernel.
    expect(outcome.large).toEqual(['invocation.split', 'invocation']);
    expect(outcome.largeWorkgroup).toEqual(['workgroup']);
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
