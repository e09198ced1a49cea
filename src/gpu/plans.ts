/**
 * The planners an engine can use, by name. 'layered' (one kernel per layer) is the reference
 * GPU path; a further planner (the fused whole-network kernel) adds its entry to `builders`.
 */
import { InputError } from '../errors.js';
import { checkBatchNormsApplied } from '../model/fold.js';
import type { ModelWeights } from '../model/model-weights.js';
import type { ModelSpec } from '../model/spec.js';
import type { KernelTarget } from '../../shaders/conv5x5.js';
import { kernelTargetOf } from './device.js';
import { buildFusedPlan, fusedConvKernels, fusedDeclineReason, kSplitMaxBatch } from './fused-plan.js';
import { buildLayeredPlan } from './layered-plan.js';
import type { Plan } from './plan.js';

/** Names of the planners. */
export type PlanKind = 'layered' | 'fused';

/** What a caller asks for: a planner, or 'auto' (answer with the layered plan, move to the fastest one as it compiles: `upgradeSteps`). */
export type PlanChoice = PlanKind | 'auto';

/** Every PlanChoice, for checking a caller's `plan` option at run time. */
export const kPlanChoices = Object.keys({ auto: true, layered: true, fused: true } satisfies Record<PlanChoice, true>) as PlanChoice[];

export interface PlanOptions {
  readonly maxBatch: number;
  /** Layered plan only: activations fused into each layer's kernel (true) or standalone. */
  readonly fuseActivations: boolean;
  /**
   * Fused plan only: false builds it without its small-batch kernel (where it has one), the
   * packed kernel then running every batch: one pipeline compiled instead of two. Default true.
   */
  readonly smallBatchKernel?: boolean;
  /**
   * Layered plan only: what its conv and dense kernels size their blocks for; default the
   * device's (`kernelTargetOf`: one output per invocation on CPU adapters, where the blocked
   * kernels take ~1 s to build; the 'auto' plan builds them in the background).
   */
  readonly kernelTarget?: KernelTarget;
}

/** Builds a plan of one kind for a model on a device. */
export type PlanBuilder = (device: GPUDevice, weights: ModelWeights, options: PlanOptions) => Promise<Plan>;

const builders: Partial<Record<PlanKind, PlanBuilder>> = {
  layered: (device, weights, options) => {
    checkBatchNormsApplied(weights.spec);
    return buildLayeredPlan(device, weights.spec.layers, weights.tensors, options);
  },
  fused: (device, weights, options) => {
    checkBatchNormsApplied(weights.spec);
    return buildFusedPlan(device, weights, { maxBatch: options.maxBatch, smallBatchKernel: options.smallBatchKernel ?? true });
  },
};

/**
 * Conv kernels (both stages) from which the fused plan's compile on a CPU adapter is long
 * enough to run the blocked layered plan meanwhile: Caffe's LeNet (1,020 kernels) compiles its
 * packed kernel for 40–50 s on the 2-core machine, an 8→24-map member (200) for ~12 s, the
 * seed (102) for ~5 s, against ~1 s for the blocked layered plan (docs/performance.md, "The
 * layered plan's kernels").
 */
export const kInterimLayeredMinKernels = 256;

/**
 * The builds that bring a running engine from the plan it answers with (the layered plan, on
 * CPU adapters with one output per invocation: the quickest to build) to the fastest plan for
 * the model, `fast`, in order, each a whole plan the engine can switch to. On a CPU adapter:
 *
 * - the layered plan with blocked kernels (`kernelTarget: 'gpu'`, 4–7× the images/s of one
 *   output per invocation, ~1 s to build) where the fused plan declines the model, and before
 *   the fused plan where its conv stages have at least kInterimLayeredMinKernels kernels;
 * - the fused plan's two kernels, whose pipelines take seconds each to compile
 *   (docs/performance.md, "Cold start"): first with the packed kernel alone, which runs every
 *   batch and is the one large batches need, then with the small-batch kernel too (the packed
 *   pipeline is cached, so only the new one compiles), which only calls of at most
 *   kSplitMaxBatch images gain from.
 *
 * On a GPU the layered plan already has its blocks: the fused plan in one step, or nothing.
 *
 * @example
 * for (const step of upgradeSteps('fused', spec, device, { maxBatch: 1024, fuseActivations: true })) …
 */
export function upgradeSteps(fast: PlanKind, spec: ModelSpec, device: GPUDevice, options: PlanOptions): UpgradeStep[] {
  const cpu = kernelTargetOf(device) === 'cpu';
  const blocked: UpgradeStep = { kind: 'layered', label: 'layered plan with blocked kernels', options: { ...options, kernelTarget: 'gpu' } };
  if (fast === 'layered') return cpu ? [blocked] : [];
  if (!cpu) return [{ kind: 'fused', label: 'fused plan', options }];
  const interim = fusedConvKernels(spec) >= kInterimLayeredMinKernels ? [blocked] : [];
  return [
    ...interim,
    { kind: 'fused', label: 'fused plan', options: { ...options, smallBatchKernel: false } },
    { kind: 'fused', label: "fused plan's small-batch kernel", options, speedsUp: (count) => count <= kSplitMaxBatch },
  ];
}

/** One build of an upgrade (`upgradeSteps`). */
export interface UpgradeStep {
  /** The planner that builds it. */
  readonly kind: PlanKind;
  /** What it is, for messages: 'fused plan', 'layered plan with blocked kernels', …. */
  readonly label: string;
  readonly options: PlanOptions;
  /**
   * A later step: the calls it makes faster than the step before it (absent: every call).
   * plan-upgrade.ts starts it when such a call arrives, or when the engine is idle.
   */
  readonly speedsUp?: (count: number) => boolean;
}

/**
 * Why the planner `kind` will not run this model (on `device`, where given: the fused
 * kernels' workgroup memory), or undefined when it will. The engine then uses the layered
 * plan, which runs every member.
 *
 * @example
 * planDeclines('fused', spec, device); // 'fused plan: conv2 has 2000 5×5 kernels …'
 */
export function planDeclines(kind: PlanKind, spec: ModelSpec, device?: GPUDevice): string | undefined {
  return kind === 'fused' ? fusedDeclineReason(spec, device) : undefined;
}

/** The planner for `kind`, or an InputError listing the available ones. */
export function planBuilder(kind: PlanKind): PlanBuilder {
  const builder = builders[kind];
  if (!builder) {
    throw new InputError(`plan '${kind}' is not available; available: ${Object.keys(builders).join(', ')}`);
  }
  return builder;
}
