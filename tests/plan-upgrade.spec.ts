/**
 * The 'auto' plan's background upgrade (src/gpu/plan-upgrade.ts), on a host that records
 * what it is asked: when the build starts (after the first run, or kUpgradeIdleStartMs after
 * creation once the calls queued by then are done), that steps are built and swapped in one
 * after the other, later ones once the engine is idle or a call they speed up arrives, that a
 * failed build or a refused swap ends it, and that a large call and the background share one
 * first build; and which steps `upgradeSteps` gives for a CPU adapter and a GPU. The GPU side
 * is covered by e2e/auto-plan.spec.ts.
 */
import { expect, test } from '@playwright/test';
import type { Plan } from '../src/gpu/plan.js';
import { kUpgradeIdleStartMs, PlanUpgrade, type UpgradeHost, type UpgradeSteps } from '../src/gpu/plan-upgrade.js';
import { fusedConvKernels, kSplitMaxBatch } from '../src/gpu/fused-plan.js';
import { kInterimLayeredMinKernels, upgradeSteps, type UpgradeStep } from '../src/gpu/plans.js';
import { presetModel } from '../src/model/presets.js';

/** As `upgradeSteps` gives them on a CPU adapter: the packed kernel alone, then the small-batch kernel for calls of ≤ 2 images. */
const steps: UpgradeSteps = [
  { kind: 'fused', label: 'fused plan', options: { maxBatch: 1024, fuseActivations: true, smallBatchKernel: false } },
  { kind: 'fused', label: "fused plan's small-batch kernel", options: { maxBatch: 1024, fuseActivations: true }, speedsUp: (count) => count <= 2 },
];

/** A stand-in plan: only its identity matters to the upgrade. */
function fakePlan(kind: string): Plan {
  return { kind } as unknown as Plan;
}

/**
 * A host that logs each request; `fail` names the steps whose build fails, `refuse` makes
 * every swap fail, `queued` holds the idle start back, `idle` the engine's idleness.
 */
function recordingHost(o: { fail?: number[]; refuse?: boolean; queued?: Promise<void>; idle?: Promise<void> } = {}) {
  const log: string[] = [];
  let built = 0;
  const host: UpgradeHost = {
    build: async ({ options }) => {
      const step = built++;
      log.push(`build ${step} smallBatchKernel=${options.smallBatchKernel ?? true}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return o.fail?.includes(step) ? undefined : fakePlan(`step ${step}`);
    },
    swapIn: async (_step, plan) => {
      log.push(`swap ${plan.kind}`);
      return !o.refuse;
    },
    afterQueuedCalls: (task) => void (o.queued ?? Promise.resolve()).then(() => {
      log.push('idle start');
      task();
    }),
    idle: async () => {
      await o.idle;
      log.push('idle');
    },
  };
  return { host, log };
}

test('nothing is built before begin(); then every step is built and swapped in, in order', async () => {
  const { host, log } = recordingHost();
  const upgrade = new PlanUpgrade(steps, host);
  await new Promise((resolve) => setTimeout(resolve, kUpgradeIdleStartMs / 5));
  expect(log, 'before begin() and before the idle start').toEqual([]);
  upgrade.begin();
  expect(upgrade.pending).toBe(true);
  await upgrade.settled;
  expect(upgrade.pending).toBe(false);
  expect(log).toEqual(['build 0 smallBatchKernel=false', 'swap step 0', 'idle', 'build 1 smallBatchKernel=true', 'swap step 1']);
});

test('without a run, the build starts kUpgradeIdleStartMs after creation, once the calls queued by then are done', async () => {
  let release: () => void = () => undefined;
  const queued = new Promise<void>((resolve) => (release = resolve));
  const { host, log } = recordingHost({ queued });
  const upgrade = new PlanUpgrade(steps, host);
  await new Promise((resolve) => setTimeout(resolve, kUpgradeIdleStartMs + 30));
  expect(log, 'a queued call holds the start back').toEqual([]);
  release();
  await upgrade.settled;
  expect(log[0]).toBe('idle start');
  expect(log.slice(1)).toEqual(['build 0 smallBatchKernel=false', 'swap step 0', 'idle', 'build 1 smallBatchKernel=true', 'swap step 1']);
});

test('a later step waits until the engine is idle: the first step already runs every batch', async () => {
  let settleIdle: () => void = () => undefined;
  const idle = new Promise<void>((resolve) => (settleIdle = resolve));
  const { host, log } = recordingHost({ idle });
  const upgrade = new PlanUpgrade(steps, host);
  upgrade.begin();
  await upgrade.firstPlan;
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect(log, 'busy engine: the second build has not started').toEqual(['build 0 smallBatchKernel=false', 'swap step 0']);
  settleIdle();
  await upgrade.settled;
  expect(log).toEqual(['build 0 smallBatchKernel=false', 'swap step 0', 'idle', 'build 1 smallBatchKernel=true', 'swap step 1']);
});

test('a later step also starts, busy or not, when a call it speeds up arrives; other calls leave it waiting', async () => {
  const never = new Promise<void>(() => undefined); // an engine that is never idle
  const { host, log } = recordingHost({ idle: never });
  const upgrade = new PlanUpgrade(steps, host);
  upgrade.begin();
  await upgrade.firstPlan;
  await new Promise((resolve) => setTimeout(resolve, 10));
  upgrade.called(1024);
  upgrade.called(3);
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect(log, 'calls of 1024 and 3 images: the small-batch kernel would not run them').toEqual(['build 0 smallBatchKernel=false', 'swap step 0']);
  upgrade.called(1);
  await upgrade.settled;
  expect(log).toEqual(['build 0 smallBatchKernel=false', 'swap step 0', 'build 1 smallBatchKernel=true', 'swap step 1']);
});

test('a step that fails to build ends the upgrade on the plan already running', async () => {
  const first = recordingHost({ fail: [0] });
  const failedFirst = new PlanUpgrade(steps, first.host);
  failedFirst.begin();
  await failedFirst.settled;
  expect(await failedFirst.firstPlan).toBeUndefined();
  expect(first.log).toEqual(['build 0 smallBatchKernel=false']);

  const second = recordingHost({ fail: [1] });
  const failedSecond = new PlanUpgrade(steps, second.host);
  failedSecond.begin();
  await failedSecond.settled;
  expect(second.log).toEqual(['build 0 smallBatchKernel=false', 'swap step 0', 'idle', 'build 1 smallBatchKernel=true']);
});

test('a refused swap (engine destroyed or lost) ends the upgrade: no further step is built', async () => {
  const { host, log } = recordingHost({ refuse: true });
  const upgrade = new PlanUpgrade(steps, host);
  upgrade.begin();
  await upgrade.settled;
  expect(log).toEqual(['build 0 smallBatchKernel=false', 'swap step 0']);
});

test('begin() is idempotent and a large call shares the first build with the background', async () => {
  const { host, log } = recordingHost();
  const upgrade = new PlanUpgrade(steps, host);
  upgrade.begin();
  upgrade.begin();
  const forLargeCall = await upgrade.firstPlan;
  await upgrade.settled;
  expect(forLargeCall?.kind).toBe('step 0');
  expect(log.filter((l) => l.startsWith('build 0'))).toHaveLength(1);
});

test("the build starts after the first run's caller has its answer (it starts in a task of its own)", async () => {
  const { host, log } = recordingHost();
  const upgrade = new PlanUpgrade(steps, host);
  // As the engine's infer: the run, then begin(), then the answer returned to the caller.
  const infer = async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    upgrade.begin();
    return 'scores';
  };
  const answer = await infer();
  log.push(`caller has ${answer}`);
  await upgrade.settled;
  // Building the fused kernel's module is synchronous (~0.9 s for Caffe's LeNet in Node): begun
  // from a microtask, it ran before the caller's continuation.
  expect(log.slice(0, 2)).toEqual(['caller has scores', 'build 0 smallBatchKernel=false']);
});

test('firstSwappedIn: false until the upgrade has swapped its first step in; swapIn is told which step it swaps', async () => {
  const swaps: string[] = [];
  let seenBeforeSwap: boolean | undefined;
  const upgrade: PlanUpgrade = new PlanUpgrade(steps, {
    build: async ({ label }) => fakePlan(label),
    swapIn: async (step, plan) => {
      seenBeforeSwap ??= upgrade.firstSwappedIn;
      swaps.push(`${step.label} → ${plan.kind}`);
      return true;
    },
    afterQueuedCalls: (task) => task(),
    idle: async () => undefined,
  });
  expect(upgrade.firstSwappedIn).toBe(false);
  expect(upgrade.firstStep).toBe(steps[0]);
  upgrade.begin();
  await upgrade.settled;
  expect(seenBeforeSwap).toBe(false);
  expect(upgrade.firstSwappedIn).toBe(true);
  expect(swaps).toEqual(['fused plan → fused plan', "fused plan's small-batch kernel → fused plan's small-batch kernel"]);
});

/** A device as upgradeSteps sees it: only its adapter's description matters. */
function deviceOf(vendor: string, architecture: string): GPUDevice {
  return { adapterInfo: { vendor, architecture, description: '' } } as unknown as GPUDevice;
}

test('upgradeSteps: on a CPU adapter the blocked layered plan for a model the fused plan declines, and before the fused plan of a wide model', () => {
  const cpu = deviceOf('google', 'swiftshader');
  const gpu = deviceOf('nvidia', 'hopper');
  const options = { maxBatch: 1024, fuseActivations: true };
  const seed = presetModel('seed')!;
  const caffe = presetModel('caffe-lenet')!;
  const describe = (list: UpgradeStep[]) => list.map((s) => `${s.kind}:${s.options.kernelTarget ?? '-'}:${s.options.smallBatchKernel ?? '-'}`);

  expect(fusedConvKernels(seed)).toBeLessThan(kInterimLayeredMinKernels);
  expect(fusedConvKernels(caffe)).toBe(1020);
  expect(describe(upgradeSteps('fused', seed, cpu, options)), 'seed: compiles in seconds, no interim').toEqual(['fused:-:false', 'fused:-:-']);
  expect(describe(upgradeSteps('fused', caffe, cpu, options)), "Caffe: the blocked layered plan runs while the fused one compiles").toEqual([
    'layered:gpu:-',
    'fused:-:false',
    'fused:-:-',
  ]);
  expect(describe(upgradeSteps('layered', seed, cpu, options)), 'declined by the fused plan').toEqual(['layered:gpu:-']);
  expect(upgradeSteps('fused', caffe, cpu, options).map((s) => s.label)).toEqual(['layered plan with blocked kernels', 'fused plan', "fused plan's small-batch kernel"]);
  // On a GPU the layered plan already has its blocks.
  expect(describe(upgradeSteps('fused', caffe, gpu, options))).toEqual(['fused:-:-']);
  expect(upgradeSteps('layered', seed, gpu, options)).toEqual([]);
  const speedsUp = upgradeSteps('fused', seed, cpu, options)[1]!.speedsUp!;
  expect([speedsUp(1), speedsUp(kSplitMaxBatch), speedsUp(kSplitMaxBatch + 1)]).toEqual([true, true, false]);
});
