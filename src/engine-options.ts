/**
 * `createEngine`'s options checked at run time (src/options.ts): one entry per option key, so
 * an option added to EngineOptions without its check does not compile.
 */
import type { Backend } from './engine-api.js';
import { InputError } from './errors.js';
import { kLoadOptionChecks } from './formats/load.js';
import { kPlanChoices } from './gpu/plans.js';
import type { EngineOptions } from './index.js';
import { checkOptions, ofType, oneOf, positiveInteger, type OptionCheck, type OptionChecks } from './options.js';

const kBackends: ReadonlyArray<Backend | 'auto'> = ['webgpu', 'cpu', 'auto'];

/** A GPUDevice, as far as can be told without WebGPU's classes (Node has none until Dawn loads). */
const gpuDevice: OptionCheck = (value, key) => {
  const device = value as { createBuffer?: unknown; queue?: unknown } | null;
  if (typeof device === 'object' && device !== null && typeof device.createBuffer === 'function' && typeof device.queue === 'object') return;
  throw new InputError(`'${key}' must be a GPUDevice, found ${device === null ? 'null' : typeof value === 'object' ? ((value as object).constructor?.name ?? 'an object') : typeof value}`);
};

const kEngineOptionChecks: OptionChecks<EngineOptions> = {
  ...kLoadOptionChecks,
  device: gpuDevice,
  backend: oneOf(kBackends),
  maxBatch: positiveInteger,
  plan: oneOf(kPlanChoices),
  fuseActivations: ofType('boolean'),
};

/**
 * Throws InputError for an unknown option or a value of the wrong kind, naming it and the
 * nearest valid name.
 *
 * @example
 * checkEngineOptions({ backend: 'gpu' }); // InputError: createEngine options: 'backend' must be 'webgpu', 'cpu', 'auto', found 'gpu'; did you mean 'webgpu'?
 */
export function checkEngineOptions(options: unknown): void {
  checkOptions(options, kEngineOptionChecks, 'createEngine options');
}
