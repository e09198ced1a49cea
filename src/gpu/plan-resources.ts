/**
 * What every planner does with the device besides choosing its kernels: the buffers a plan
 * owns, made with the fewest usage flags and destroyed together (and on any error while the
 * plan is built); GPU object creation inside validation and out-of-memory error scopes, so a
 * mistake becomes a GpuError naming the plan rather than a silent zero; and the limit check a
 * maxBatch must pass. The layered and fused planners both build through these.
 */
import { kBatchUniformBytes } from '../../shaders/common.js';
import { GpuError, InputError } from '../errors.js';

/**
 * The buffers one plan owns.
 *
 * @example
 * const buffers = new PlanBuffers(device);
 * const weights = buffers.upload('C1.weight', tensor); // STORAGE only
 * plan.destroy = () => buffers.destroy();
 */
export class PlanBuffers {
  private readonly owned: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {}

  /** A buffer of `bytes` (at least 4: WebGPU binds nothing smaller) with exactly `usage` (GPUBufferUsage flags). */
  create(label: string, bytes: number, usage: number): GPUBuffer {
    const buffer = this.device.createBuffer({ label, size: Math.max(4, bytes), usage });
    this.owned.push(buffer);
    return buffer;
  }

  /** A STORAGE-only buffer holding `data`, filled once at creation (mappedAtCreation: no COPY_DST). */
  upload(label: string, data: Float32Array): GPUBuffer {
    const buffer = this.device.createBuffer({ label, size: Math.max(4, data.byteLength), usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
    this.owned.push(buffer);
    new Float32Array(buffer.getMappedRange(), 0, data.length).set(data);
    buffer.unmap();
    return buffer;
  }

  /** The batch-size uniform every kernel reads at binding 0 (the runner writes it each run). */
  batchUniform(label: string): GPUBuffer {
    return this.create(label, kBatchUniformBytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  }

  /** Destroys every buffer made here. Idempotent. */
  destroy(): void {
    for (const buffer of this.owned.splice(0)) buffer.destroy();
  }
}

/**
 * Runs `create` (synchronous GPU object creation) inside validation and out-of-memory error
 * scopes, and throws GpuError(`what: …`) when either caught an error. Both scopes are popped
 * before anything is awaited: scopes are one stack per device, and builds run concurrently.
 *
 * @example
 * const bindGroup = await scoped(device, 'C1.conv5x5.bindgroup', () => device.createBindGroup(descriptor));
 */
export async function scoped<T>(device: GPUDevice, what: string, create: () => T): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const popBoth = () => Promise.all([device.popErrorScope(), device.popErrorScope()]);
  let value: T;
  try {
    value = create();
  } catch (e) {
    void popBoth();
    throw e;
  }
  const [validation, memory] = await popBoth();
  const error = validation ?? memory;
  if (error) throw new GpuError(`${what}: ${error.message}`);
  return value;
}

/**
 * Runs the asynchronous part of a plan's build; if it fails, destroys the plan's buffers
 * before passing the error on.
 *
 * @example
 * return destroyOnError(buffers, async () => ({ steps: await Promise.all(pending), destroy: () => buffers.destroy() }));
 */
export async function destroyOnError<T>(buffers: PlanBuffers, build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (e) {
    buffers.destroy();
    throw e;
  }
}

/**
 * Throws InputError unless `maxBatch` is a positive integer and `maxBatch × perImageBytes`
 * (the plan's largest buffer) fits in one buffer and one storage binding on this device.
 *
 * @example
 * checkMaxBatch(device, 1024, 32 * 32 * 4);
 */
export function checkMaxBatch(device: GPUDevice, maxBatch: number, perImageBytes: number): void {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new InputError(`maxBatch must be a positive integer, found ${maxBatch}`);
  }
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (perImageBytes * maxBatch > limit) {
    throw new InputError(
      `maxBatch ${maxBatch} needs ${perImageBytes * maxBatch}-byte buffers; this device binds at most ${limit} bytes, so maxBatch ≤ ${Math.floor(limit / perImageBytes)}`,
    );
  }
}
