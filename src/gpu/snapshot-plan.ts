/**
 * An inference plan over a training plan's weights as they stand: each trainable tensor copied
 * GPU to GPU (`copyBufferToBuffer`, queued after the training steps already submitted) into a
 * buffer of its own, and the layered plan built over those buffers. Nothing is read back and
 * nothing waits for the GPU. The copy is a snapshot: training on leaves these buffers as they
 * were; a new snapshot sees the newer weights.
 */
import type { ModelSpec } from '../model/spec.js';
import { buildLayeredPlan } from './layered-plan.js';
import type { Plan } from './plan.js';
import { destroyOnError, PlanBuffers, scoped } from './plan-resources.js';
import type { TrainingPlan } from './training-plan.js';

export interface SnapshotPlanOptions {
  /** Largest batch one run takes. */
  readonly maxBatch: number;
}

/**
 * The layered plan of `training.spec` over a copy of `training`'s parameters; `fixed` holds the
 * tensors that do not train (RBF centres), uploaded as any plan uploads them. Destroying the
 * plan destroys the copies; the training plan is untouched.
 *
 * @example
 * const plan = await buildSnapshotPlan(device, trainingPlan, fixedTensors, { maxBatch: 256 });
 * const runner = new PlanRunner(device, plan);
 */
export async function buildSnapshotPlan(
  device: GPUDevice,
  training: TrainingPlan,
  fixed: ReadonlyMap<string, Float32Array>,
  options: SnapshotPlanOptions,
): Promise<Plan> {
  const spec: ModelSpec = training.spec;
  const copies = new PlanBuffers(device);
  return destroyOnError(copies, async () => {
    const targets = await scoped(device, 'snapshot buffers', () => {
      const made = new Map<string, GPUBuffer>();
      for (const [name, slot] of training.slots) {
        made.set(name, copies.create(`snapshot.${name}`, slot.length * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST));
      }
      return made;
    });
    training.copyParameters(targets);
    const plan = await buildLayeredPlan(device, spec.layers, fixed, {
      maxBatch: options.maxBatch,
      fuseActivations: true,
      tensorBuffer: (name) => targets.get(name),
    });
    return {
      ...plan,
      destroy: () => {
        plan.destroy();
        copies.destroy();
      },
    };
  });
}
