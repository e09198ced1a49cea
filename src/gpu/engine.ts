/**
 * The WebGPU inference engine: a Plan built once per model, run through a PlanRunner. Calls
 * are serialised through a promise queue, so overlapping `infer` calls never share the
 * preallocated input array or the GPU buffers mid-flight. Batches larger than maxBatch are
 * split into maxBatch-sized runs. Under the default plan 'auto' the engine answers with the
 * layered plan and moves to the fastest one for the model (`upgradeSteps`) built in the
 * background (plan-upgrade.ts), between calls. When the device is lost, calls reject with
 * DeviceLostError until `recover()` rebuilds the plan on a new device.
 */
import type { Backend, InferenceEngine, InferenceResult, LayerActivation } from '../engine-api.js';
import { DeviceLostError, EngineDestroyedError, GpuError, InputError, Lenet5Error } from '../errors.js';
import { modelInfo, type ModelInfo, type ModelWeights } from '../model/model-weights.js';
import { planarImages, preprocess, type ImageDataLike, type InferOptions, type Pixels } from '../model/preprocess.js';
import { layerOutputShape, type ModelSpec } from '../model/spec.js';
import { classify } from '../reference/forward.js';
import { acquireDevice, type GpuContext } from './device.js';
import { buildLayeredPlan } from './layered-plan.js';
import type { Plan } from './plan.js';
import { destroyAfterCompiles } from './pipeline-cache.js';
import { PlanRunner } from './plan-runner.js';
import { PlanUpgrade } from './plan-upgrade.js';
import { planBuilder, planDeclines, upgradeSteps, type PlanChoice, type PlanKind, type PlanOptions, type UpgradeStep } from './plans.js';

/**
 * How long a failed run waits for the device's `lost` promise: a destroyed device fails the
 * pending mapping first and settles `lost` a moment later, and the run should report the loss.
 */
const kLossSettleMs = 250;

/**
 * 'auto': a call of at least this many images that arrives before the upgrade's first step
 * has taken over waits for that step instead of running on the plan the engine answered with.
 * On SwiftShader that plan does ~75–220 images/s and the first step (the fused plan's packed
 * kernel; the blocked layered plan for a wide model or one the fused plan declines) compiles
 * in ~1–5 s, so from about this size waiting is as quick on average and never much slower; on
 * a GPU both are short.
 */
export const kAwaitFastPlanImages = 512;

/**
 * 'auto': the engine counts as idle once it has run no call for this long (ms); the fused
 * plan's later build steps wait for that (plan-upgrade.ts). Back-to-back calls leave gaps of
 * well under a millisecond; a page answering a user leaves seconds.
 */
export const kEngineIdleMs = 100;

/** Largest batch one GPU run takes unless the caller says otherwise. */
export const kDefaultMaxBatch = 1024;

export interface WebGpuEngineOptions {
  /** Use this device instead of requesting one (it is then not destroyed with the engine). */
  readonly device?: GPUDevice;
  /** Largest batch per GPU run; larger batches are split. Default 1024. */
  readonly maxBatch?: number;
  /**
   * Which planner lays the model out. 'auto' (default): answer at once with the layered plan
   * and move to the fused plan, compiled in the background once the first run is done,
   * between calls once it is ready (where the fused plan covers the model; on CPU adapters
   * first with its large-batch kernel, then with its small-batch kernel too, and for a wide
   * model the layered plan with blocked kernels before them); where the fused plan declines
   * the model, on CPU adapters, to the layered plan with blocked kernels. 'layered' or 'fused':
   * that plan only, as the device's defaults build it (a model the fused plan declines runs
   * layered, `planFallbackReason` says why).
   */
  readonly plan?: PlanChoice;
  /** Layered plan: activations fused into each kernel (default) or as standalone kernels. */
  readonly fuseActivations?: boolean;
}

/**
 * Runs a model on WebGPU.
 *
 * @example
 * const engine = await WebGpuEngine.create(weights, { maxBatch: 256 });
 * const { classes } = await engine.infer(bytes, 10);
 * engine.destroy();
 */
export class WebGpuEngine implements InferenceEngine {
  readonly backend: Backend = 'webgpu';
  readonly spec: ModelSpec;
  readonly model: ModelInfo;
  /** Why the fused plan is not used (it declined this model, or failed to build), if so. */
  planFallbackReason: string | undefined;
  /** 'auto': the move to the fastest plan (`upgradeSteps`), built in the background. */
  private readonly upgrade: PlanUpgrade | undefined;
  /** What the running plan was built with: `recover()` builds the same on a new device. */
  private planOptions: PlanOptions;
  private readonly settled: Promise<PlanKind>;
  private readonly input: Float32Array;
  private context: GpuContext;
  private activePlan: Plan;
  private runner: PlanRunner;
  private activationsRunner: Promise<PlanRunner> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Calls queued or running; who waits for the engine to be idle, and the timer that tells them. */
  private callsInFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private destroyed = false;
  private lost: string | undefined;
  private readonly onUncapturedError = (event: Event) => {
    // Errors outside every error scope (a bug, or another user of a shared device).
    console.error(`lenet5-webgpu: uncaptured WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`);
  };

  private constructor(
    context: GpuContext,
    readonly weights: ModelWeights,
    plan: Plan,
    private kind: PlanKind,
    planOptions: PlanOptions,
    planFallbackReason: string | undefined,
    /** 'auto': the builds that bring the engine to its fastest plan, in order (none: it stays). */
    steps: readonly UpgradeStep[],
    /** Why `recover()` cannot rebuild the plan from `weights`, where it cannot (overPlan). */
    private readonly unrecoverable?: string,
  ) {
    this.spec = weights.spec;
    this.model = modelInfo(weights);
    this.planFallbackReason = planFallbackReason;
    this.input = new Float32Array(plan.maxBatch * plan.inputValues);
    this.context = context;
    this.activePlan = plan;
    this.runner = this.attach(context, plan);
    this.planOptions = planOptions;
    const [first, ...later] = steps;
    if (first) {
      this.upgrade = new PlanUpgrade([first, ...later], {
        build: (step) => this.buildStep(step, context),
        swapIn: (step, next) => this.serialise(async () => this.adopt(step, next, context)),
        afterQueuedCalls: (task) => void this.serialise(async () => task()),
        idle: () => this.idle(),
      });
    }
    this.settled = this.upgrade ? this.upgrade.settled.then(() => this.kind) : Promise.resolve(kind);
  }

  /** Acquires a device (unless given), builds the plan and compiles every pipeline. */
  static async create(weights: ModelWeights, options: WebGpuEngineOptions = {}): Promise<WebGpuEngine> {
    const asked = options.plan ?? 'auto';
    if (asked !== 'auto') planBuilder(asked); // an unknown plan fails before a device is requested
    const context = await acquireDevice(options.device);
    const fuseActivations = options.fuseActivations ?? true;
    try {
      // A planner that cannot run this model well on this device says why; the layered plan runs every member.
      const declined = planDeclines('fused', weights.spec, context.device);
      const fast: PlanKind = declined ? 'layered' : 'fused';
      const first: PlanKind = asked === 'auto' ? 'layered' : asked === 'fused' ? fast : asked;
      const planOptions: PlanOptions = { maxBatch: options.maxBatch ?? kDefaultMaxBatch, fuseActivations };
      const steps = asked === 'auto' ? upgradeSteps(fast, weights.spec, context.device, planOptions) : [];
      const plan = await planBuilder(first)(context.device, weights, planOptions);
      const reason = asked === 'layered' ? undefined : declined;
      return new WebGpuEngine(context, weights, plan, first, planOptions, reason, steps);
    } catch (e) {
      if (context.ownsDevice) context.device.destroy();
      throw e;
    }
  }

  /**
   * An engine over a layered plan already built on `device` from weights that live on the GPU
   * (a trainer's snapshot: `GpuTrainer.engine`, src/gpu/snapshot-plan.ts). It stays on that
   * plan (the fused one is built from weights on the CPU), and `recover()` after a lost device
   * is refused: the weights were on that device. The device stays the caller's.
   *
   * @example
   * const plan = await buildSnapshotPlan(device, training, fixed, { maxBatch: 256 });
   * const engine = await WebGpuEngine.overPlan(device, weights, plan, "a trainer's snapshot, on the GPU only");
   */
  static async overPlan(device: GPUDevice, weights: ModelWeights, plan: Plan, why: string): Promise<WebGpuEngine> {
    const context = await acquireDevice(device);
    const planOptions: PlanOptions = { maxBatch: plan.maxBatch, fuseActivations: true };
    return new WebGpuEngine(context, weights, plan, 'layered', planOptions, `the fused plan is built from weights on the CPU; ${why}`, [], why);
  }

  get adapterName(): string {
    return this.context.adapterName;
  }

  /** The plan running now: 'layered' or 'fused'. */
  get plan(): PlanKind {
    return this.kind;
  }

  /**
   * Resolves with the plan the engine settles on: at once for a fixed plan; with 'auto', when
   * the fused plan has compiled and taken over with all its kernels (or failed to,
   * `planFallbackReason` says why). Its small-batch kernel, on CPU adapters, waits for a call
   * of 1–2 images or an idle engine: awaiting this call is idle enough.
   *
   * @example
   * const engine = await createEngine(url); // answers at once (layered plan)
   * await engine.fastest(); // 'fused': full speed from here on
   */
  fastest(): Promise<PlanKind> {
    if (this.destroyed) return Promise.reject(new EngineDestroyedError('fastest'));
    return this.settled;
  }

  /**
   * The running plan's kernels: 'layered' (one output per invocation, CPU adapters' first
   * answer), 'layered-blocked', 'fused-invocation' (CPU adapters' lane kernels) or
   * 'fused-workgroup' (GPUs).
   *
   * @example
   * await engine.fastest();
   * engine.planDetail; // 'layered-blocked' for a model the fused plan declines, on SwiftShader
   */
  get planDetail(): string {
    return this.activePlan.kind;
  }

  /** The largest batch one GPU run takes. */
  get maxBatch(): number {
    return this.activePlan.maxBatch;
  }

  infer(images: Pixels | ImageDataLike, imageCount?: number, options?: InferOptions): Promise<InferenceResult> {
    const { upgrade } = this;
    const asked = imageCount ?? 1;
    upgrade?.called(asked);
    const waitFor = upgrade?.pending && !upgrade.firstSwappedIn && asked >= kAwaitFastPlanImages ? upgrade : undefined;
    waitFor?.begin();
    return this.enqueue('infer', async () => {
      const shape = this.model.input;
      const { pixels, count } = planarImages(images, imageCount, shape, options);
      const perImage = shape.channels * shape.size * shape.size;
      if (waitFor) {
        // A large call waits for the upgrade's first step (kAwaitFastPlanImages) and, unless
        // the background upgrade got there first, takes it over itself.
        const plan = await waitFor.firstPlan;
        if (plan && !waitFor.firstSwappedIn) this.adopt(waitFor.firstStep, plan, this.context);
        this.checkUsable('infer');
      }
      const { maxBatch, inputValues, outputValues } = this.activePlan;
      const scores = new Float32Array(count * outputValues);
      for (let start = 0; start < count; start += maxBatch) {
        const chunk = Math.min(maxBatch, count - start);
        const raw = pixels.subarray(start * perImage, (start + chunk) * perImage);
        preprocess(raw, chunk, this.weights.preprocessing, this.input, shape);
        const out = await this.runner.run(this.input.subarray(0, chunk * inputValues), chunk);
        this.upgrade?.begin();
        scores.set(out, start * outputValues);
      }
      const output = this.spec.output;
      return { count, scores, classes: classify(scores, count, output), output };
    });
  }

  activations(images: Pixels | ImageDataLike, options?: InferOptions): Promise<LayerActivation[]> {
    return this.enqueue('activations', async () => {
      const { pixels } = planarImages(images, 1, this.model.input, options);
      const runner = await this.layerRunner();
      const input = preprocess(pixels, 1, this.weights.preprocessing, this.input, this.model.input);
      const layers = await runner.runLayers(input.subarray(0, runner.plan.inputValues), 1);
      return this.spec.layers.map((layer) => ({
        name: layer.name,
        shape: layerOutputShape(layer),
        data: layers.get(layer.name)!,
      }));
    });
  }

  /**
   * After the GPU device was lost (calls reject with DeviceLostError), moves the engine onto a
   * new device: `device` if given, else one requested from navigator.gpu. The plan is rebuilt
   * from the same weights, so results equal those before the loss. Resolves at once while the
   * device is not lost; calls made during a recovery wait for it.
   *
   * @example
   * try { await engine.infer(pixels, 1); }
   * catch (e) { if (e instanceof DeviceLostError) await engine.recover(); }
   */
  recover(device?: GPUDevice): Promise<void> {
    return this.serialise(async () => {
      if (this.destroyed) throw new EngineDestroyedError('recover');
      if (!this.lost) return;
      if (this.unrecoverable) {
        throw new DeviceLostError(`recover: this engine cannot be rebuilt on a new device (${this.unrecoverable}); create one from saved weights`);
      }
      const context = await acquireDevice(device);
      let plan: Plan;
      try {
        plan = await planBuilder(this.kind)(context.device, this.weights, this.planOptions);
      } catch (e) {
        if (context.ownsDevice) context.device.destroy();
        throw e;
      }
      if (this.destroyed) {
        // destroy() ran while the new plan compiled.
        plan.destroy();
        if (context.ownsDevice) context.device.destroy();
        throw new EngineDestroyedError('recover');
      }
      this.release();
      this.context = context;
      this.activePlan = plan;
      this.runner = this.attach(context, plan);
      this.lost = undefined;
    });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.upgrade?.begin(); // a pending background build then sees the engine is gone, and settles
    this.wakeIdleWaiters();
    this.release();
  }

  /** One step of an upgrade built on `context`; undefined where it failed (the reason is kept) or the engine moved on. */
  private async buildStep(step: UpgradeStep, context: GpuContext): Promise<Plan | undefined> {
    if (this.destroyed || this.lost || this.context !== context) return undefined;
    try {
      return await planBuilder(step.kind)(context.device, this.weights, step.options);
    } catch (e) {
      if (!this.destroyed && !this.lost) {
        this.planFallbackReason = `the ${step.label} failed to build: ${(e as Error).message}; the engine keeps the ${this.kind} plan it runs`;
      }
      return undefined;
    }
  }

  /**
   * Makes `plan` (built on `context`) the one calls run on; called between calls only. False,
   * and the plan destroyed, where the engine was destroyed, lost or moved to another device.
   */
  private adopt(step: Pick<UpgradeStep, 'kind' | 'options'>, plan: Plan, context: GpuContext): boolean {
    if (this.activePlan === plan) return true;
    if (this.destroyed || this.lost || this.context !== context) {
      plan.destroy();
      return false;
    }
    this.runner.destroy();
    this.activePlan.destroy();
    this.activePlan = plan;
    this.runner = new PlanRunner(context.device, plan);
    this.kind = step.kind;
    this.planOptions = step.options;
    return true;
  }

  /** Listens to a device's errors and loss, and makes the runner for its plan. */
  private attach(context: GpuContext, plan: Plan): PlanRunner {
    context.device.addEventListener('uncapturederror', this.onUncapturedError);
    void context.device.lost.then((info) => {
      // A device replaced by recover() may report its loss late: only the current one counts.
      if (!this.destroyed && this.context === context) this.lost = `${info.reason}: ${info.message}`;
    });
    return new PlanRunner(context.device, plan);
  }

  /** Releases the current device's objects (and the device, when this engine made it). */
  private release(): void {
    const { device, ownsDevice } = this.context;
    device.removeEventListener('uncapturederror', this.onUncapturedError);
    this.runner.destroy();
    this.activePlan.destroy();
    void this.activationsRunner?.then(
      (runner) => {
        runner.destroy();
        runner.plan.destroy();
      },
      () => undefined,
    );
    this.activationsRunner = undefined;
    if (ownsDevice) destroyAfterCompiles(device);
  }

  /** A runner whose plan keeps every layer's output: the main one, or a 1-image layered plan. */
  private layerRunner(): Promise<PlanRunner> {
    if (this.activePlan.layerBuffers) return Promise.resolve(this.runner);
    this.activationsRunner ??= buildLayeredPlan(this.context.device, this.spec.layers, this.weights.tensors, {
      maxBatch: 1,
      fuseActivations: this.planOptions.fuseActivations,
    }).then((plan) => new PlanRunner(this.context.device, plan));
    return this.activationsRunner;
  }

  /** Resolves once no call has been queued or running for kEngineIdleMs, or the engine is destroyed. */
  private idle(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      if (this.callsInFlight === 0 && this.idleTimer === undefined) this.armIdleTimer();
    });
  }

  /** After kEngineIdleMs without a call, resolves everyone waiting in `idle()`. */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.wakeIdleWaiters(), kEngineIdleMs);
  }

  private wakeIdleWaiters(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Runs `task` after every earlier call, failing fast once destroyed or lost. */
  private enqueue<T>(what: string, task: () => Promise<T>): Promise<T> {
    this.callsInFlight++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const done = () => {
      this.callsInFlight--;
      if (this.callsInFlight === 0 && this.idleWaiters.length > 0) this.armIdleTimer();
    };
    return this.serialise(async () => {
      try {
        this.checkUsable(what);
        return await task();
      } catch (e) {
        // A run cut short by destroy() or a lost device reports that, not a mapping error.
        if (!(e instanceof InputError) && !this.destroyed && !this.lost) {
          await Promise.race([this.context.device.lost, new Promise((resolve) => setTimeout(resolve, kLossSettleMs))]);
        }
        this.checkUsable(what);
        if (e instanceof Lenet5Error) throw e;
        throw new GpuError(`${what}: ${(e as Error).message}`);
      } finally {
        done();
      }
    });
  }

  /** Runs `task` after every earlier call (and recovery) has settled. */
  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private checkUsable(what: string): void {
    if (this.destroyed) throw new EngineDestroyedError(what);
    if (this.lost) {
      throw new DeviceLostError(`${what}: the GPU device was lost (${this.lost}); call recover() to continue on a new device`);
    }
  }
}
