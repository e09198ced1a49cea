import { ModelMismatchError } from '../errors.js';
import type { ModelSpec, Preprocessing } from './spec.js';

/**
 * A model with its validated parameters: what the weights loader produces and what the CPU
 * reference, the GPU planner and the trainer consume. Every tensor in `spec.tensors` is
 * present with exactly its shape, as float32, finite.
 */
export interface ModelWeights {
  readonly spec: ModelSpec;
  readonly preprocessing: Preprocessing;
  readonly tensors: ReadonlyMap<string, Float32Array>;
  /** The file's `__metadata__` (training record, centre source, …), as read. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** The named tensor, or a ModelMismatchError naming it. */
export function tensorOf(weights: ModelWeights, name: string): Float32Array {
  const data = weights.tensors.get(name);
  if (!data) throw new ModelMismatchError(`model '${weights.spec.id}' needs a tensor that is missing`, name);
  return data;
}
