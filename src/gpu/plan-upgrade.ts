/**
 * The 'auto' plan's way from the plan an engine answers with at once (layered: compiles in
 * well under a second) to the fast one (fused: seconds of compiling on a CPU adapter; or,
 * where the fused plan declines a model, the layered plan with blocked kernels), built in the
 * background and swapped in between calls.
 *
 * When: the build starts after the engine's first GPU run (`begin`, called by the engine; the
 * build itself in the next task, once that run's caller has its answer), or
 * kUpgradeIdleStartMs after creation once the calls queued by then are done. A compile running
 * beside the first run made that run ~10× slower on a 2-core CPU adapter (435 against 40 ms),
 * and the first answer is what a user waits for.
 *
 * How: in the steps `upgradeSteps` gives (on CPU adapters the fused plan with its packed
 * kernel alone, then with its small-batch kernel too: one compile each; before them, for a
 * wide model, the blocked layered plan), each swapped in by the engine between calls. A large
 * call may wait for the first step and swap it in itself (`firstPlan`); the background swap
 * then finds it done. A later step starts when a call it
 * speeds up arrives (`called`: on CPU adapters, a call of at most 2 images, which the
 * small-batch kernel answers in half the time) or once the engine is idle
 * (`UpgradeHost.idle`), whichever comes first: the first step already runs every batch, and a
 * compile beside back-to-back large calls takes a core from them for seconds (in the
 * benchmark's cold starts, full speed came at 10 s instead of 5 s after page load).
 */
import type { Plan } from './plan.js';
import type { UpgradeStep } from './plans.js';

/**
 * How long after creation the background build starts if no run has started it (ms).
 */
export const kUpgradeIdleStartMs = 50;

/** Resolves in a later task: what the current one has queued (a caller's continuation) runs first. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** An upgrade's builds, in order: at least one. */
export type UpgradeSteps = readonly [UpgradeStep, ...UpgradeStep[]];

/** What an upgrade needs from its engine. */
export interface UpgradeHost {
  /**
   * Builds one step on the engine's device; undefined where it failed (the host keeps the
   * reason) or the engine was destroyed, lost or moved to another device.
   */
  build(step: UpgradeStep): Promise<Plan | undefined>;
  /**
   * Swaps `plan`, built for `step`, in between calls (through the engine's queue). False, and
   * the plan destroyed, where the engine has moved on.
   */
  swapIn(step: UpgradeStep, plan: Plan): Promise<boolean>;
  /** Runs `task` once the calls queued so far have finished. */
  afterQueuedCalls(task: () => void): void;
  /** Resolves once the engine has run no call for a moment (kEngineIdleMs), or is destroyed. */
  idle(): Promise<void>;
}

/**
 * One background upgrade, started once.
 *
 * @example
 * const upgrade = new PlanUpgrade(upgradeSteps('fused', spec, device, options), host);
 * upgrade.begin(); // after the first run
 * upgrade.called(1); // a 1-image call: starts a waiting step that speeds it up
 * await upgrade.settled; // every step swapped in, or the upgrade stopped
 */
export class PlanUpgrade {
  /** Settles when every step has been swapped in, or one failed, or the engine moved on. */
  readonly settled: Promise<void>;
  /** The first step: the one a large call waits for. */
  readonly firstStep: UpgradeStep;
  /** The first step's plan once built; undefined where it failed or the upgrade stopped. */
  readonly firstPlan: Promise<Plan | undefined>;
  private open: () => void = () => undefined;
  private readonly timer: ReturnType<typeof setTimeout>;
  private done = false;
  private firstDone = false;
  /** The later step waiting to start, and what starts it when a call it speeds up arrives. */
  private waiting: { readonly step: UpgradeStep; readonly start: () => void } | undefined;

  constructor(steps: UpgradeSteps, host: UpgradeHost) {
    const gate = new Promise<void>((resolve) => (this.open = resolve));
    this.timer = setTimeout(() => host.afterQueuedCalls(() => this.begin()), kUpgradeIdleStartMs);
    const first = steps[0];
    this.firstStep = first;
    // The build starts in a task of its own: generating and creating the fused kernel's module
    // is synchronous (Caffe's LeNet: 1.75 MB of WGSL, ~0.9 s in Node, where Dawn parses it on
    // the calling thread), and begun from a microtask it ran before the first call's caller got
    // its answer (Node cold start 1,729 against 845 ms).
    this.firstPlan = gate.then(nextTask).then(() => host.build(first));
    this.settled = this.run(host, steps).finally(() => (this.done = true));
  }

  /** True until the upgrade has settled. */
  get pending(): boolean {
    return !this.done;
  }

  /** True once the first step's plan has been swapped in (by the upgrade): a later step's may be in place since. */
  get firstSwappedIn(): boolean {
    return this.firstDone;
  }

  /** Starts the background build now, if it has not started. Idempotent. */
  begin(): void {
    clearTimeout(this.timer);
    this.open();
  }

  /** A call of `count` images arrived: a waiting later step that speeds it up starts now. */
  called(count: number): void {
    if (this.waiting && (this.waiting.step.speedsUp?.(count) ?? true)) this.waiting.start();
  }

  private async run(host: UpgradeHost, steps: UpgradeSteps): Promise<void> {
    let building = this.firstPlan;
    for (const [i, step] of steps.entries()) {
      const plan = await building;
      if (!plan || !(await host.swapIn(step, plan))) return;
      this.firstDone = true;
      const next = steps[i + 1];
      if (!next) return;
      await Promise.race([host.idle(), new Promise<void>((start) => (this.waiting = { step: next, start }))]);
      this.waiting = undefined;
      building = host.build(next);
    }
  }
}
