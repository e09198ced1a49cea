import type { InferenceEngine } from '../../src/index.js';

/**
 * The plan an engine is running: `engine.plan` where the engine says (the default engine may
 * change plan in the background), else the WebGPU engine's `planKind`; undefined on the CPU.
 *
 * @example
 * planOf(await createEngine(url, { plan: 'fused' })); // 'fused'
 */
export function planOf(engine: InferenceEngine): string | undefined {
  const e = engine as InferenceEngine & { plan?: unknown; planKind?: unknown };
  // Today `plan` is the WebGPU engine's private Plan object: only a string says which plan runs.
  if (typeof e.plan === 'string') return e.plan;
  return typeof e.planKind === 'string' ? e.planKind : undefined;
}
