/**
 * The planners an engine can use, by name. 'layered' (one kernel per layer) is the reference
 * GPU path; a further planner (the fused whole-network kernel) adds its entry to `builders`.
 */
import { InputError } from '../errors.js';
import { checkBatchNormsApplied } from '../model/fold.js';
import type { ModelWeights } from '../model/model-weights.js';
import type { ModelSpec } from '../model/spec.js';
import { adapterInfoOf } from './device.js';
import { buildFusedPlan, fusedDeclineReason, fusedVariantFor, kSplitMaxBatch } from './fused-plan.js';
import { buildLayeredPlan } from './layered-plan.js';
import type { Plan } from './plan.js';

/** Names of the planners. */
export type PlanKind = 'layered' | 'fused';

/** What a caller asks for: a planner, or 'auto' (answer with the layered plan, move to the fused one when compiled). */
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
 * The builds that bring a running engine to the plan `kind`, in order, each a whole plan the
 * engine can switch to. The fused plan on a CPU adapter has two kernels whose pipelines take
 * seconds each to compile (docs/performance.md, "Cold start"): it comes first with the packed
 * kernel alone, which runs every batch and is the one large batches need, then with the
 * small-batch kernel too (the packed pipeline is cached, so only the new one compiles), which
 * only calls of at most kSplitMaxBatch images gain from.
 *
 * @example
 * for (const { options } of upgradeSteps('fused', device, { maxBatch: 1024, fuseActivations: true })) …
 */
export function upgradeSteps(kind: PlanKind, device: GPUDevice, options: PlanOptions): UpgradeStep[] {
  if (kind === 'fused' && fusedVariantFor(adapterInfoOf(device)) === 'invocation') {
    return [{ options: { ...options, smallBatchKernel: false } }, { options, speedsUp: (count) => count <= kSplitMaxBatch }];
  }
  return [{ options }];
}

/** One build of an upgrade (`upgradeSteps`). */
export interface UpgradeStep {
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
