/**
 * Compute pipelines, cached per device under a key of everything that shapes the shader
 * source (kernel name + its typed options), and compiled asynchronously at build time so the
 * first inference does not stall. Compilation and validation errors become a GpuError that
 * names the pipeline's label and the compiler's first messages.
 */
import { GpuError } from '../errors.js';

const caches = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();
/** The compiles running on each device (for `destroyAfterCompiles`). */
const running = new WeakMap<GPUDevice, Set<Promise<unknown>>>();

/** What identifies one compiled kernel. */
export interface KernelSource {
  /** Kernel module name, e.g. 'conv5x5'. */
  readonly kernel: string;
  /** The typed options the WGSL was generated from (JSON-serialisable). */
  readonly options: object;
  /** The generated WGSL. */
  readonly code: string;
}

/** The cache key: kernel name and options, which fully determine the WGSL. */
export function pipelineKey(source: Pick<KernelSource, 'kernel' | 'options'>): string {
  return `${source.kernel}:${JSON.stringify(source.options)}`;
}

/**
 * The pipeline for `source`, compiled once per device. `label` (e.g. 'C3.conv5x5') names the
 * shader module and pipeline of the first layer that needed this kernel.
 *
 * @example
 * const pipeline = await cachedPipeline(device, 'C1.conv5x5', { kernel: 'conv5x5', options, code });
 */
export function cachedPipeline(device: GPUDevice, label: string, source: KernelSource): Promise<GPUComputePipeline> {
  let cache = caches.get(device);
  if (!cache) {
    cache = new Map();
    caches.set(device, cache);
  }
  const key = pipelineKey(source);
  let pipeline = cache.get(key);
  if (!pipeline) {
    pipeline = tracked(device, compile(device, label, source.code));
    // A failed compile must not poison the cache for a later, corrected attempt.
    pipeline.catch(() => cache.delete(key));
    cache.set(key, pipeline);
  }
  return pipeline;
}

/**
 * Destroys `device` now, or, while pipelines are compiling on it, once they have settled (and
 * the plan builds awaiting them have gone on). Dawn's `GPUDevice.destroy()` waits for every
 * `createComputePipelineAsync` in flight: destroying an engine while the 'auto' plan's fused
 * kernel compiled in the background blocked the thread for the rest of that compile (2.4–10 s
 * in Node on SwiftShader, as the cores were shared). The abandoned compiles finish unseen;
 * their plans are destroyed by whoever awaited them.
 *
 * @example
 * destroyAfterCompiles(device); // returns at once
 */
export function destroyAfterCompiles(device: GPUDevice): void {
  if (!running.get(device)?.size) {
    device.destroy();
    return;
  }
  void compilesSettled(device).then(() => device.destroy());
}

/** Resolves once no pipeline is compiling on `device`, nor starts within a task of the last. */
async function compilesSettled(device: GPUDevice): Promise<void> {
  for (let inFlight = running.get(device); inFlight?.size; inFlight = running.get(device)) {
    await Promise.allSettled([...inFlight]);
    // The builds awaiting these pipelines go on in microtasks: let them finish (or start the
    // next compile, which the loop then waits for).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function tracked<T>(device: GPUDevice, compiling: Promise<T>): Promise<T> {
  let inFlight = running.get(device);
  if (!inFlight) {
    inFlight = new Set();
    running.set(device, inFlight);
  }
  inFlight.add(compiling);
  const done = () => inFlight.delete(compiling);
  compiling.then(done, done);
  return compiling;
}

async function compile(device: GPUDevice, label: string, code: string): Promise<GPUComputePipeline> {
  // Push and pop with no await between: scopes are a per-device stack, and builds run
  // concurrently. Pipeline creation itself reports failure by rejecting.
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: `${label}.shader`, code });
  const moduleError = device.popErrorScope();
  let pipeline: GPUComputePipeline | undefined;
  let failure: unknown;
  try {
    pipeline = await device.createComputePipelineAsync({
      label: `${label}.pipeline`,
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
  } catch (e) {
    failure = e;
  }
  const scopeError = await moduleError;
  if (pipeline && !scopeError && !failure) return pipeline;
  const compiler = await compilerMessages(module);
  const reason = scopeError?.message ?? (failure as Error | undefined)?.message ?? 'unknown error';
  throw new GpuError(`${label}.pipeline: creation failed: ${reason}${compiler ? `\n${compiler}` : ''}`);
}

async function compilerMessages(module: GPUShaderModule): Promise<string> {
  try {
    const info = await module.getCompilationInfo();
    return info.messages
      .filter((m) => m.type === 'error')
      .slice(0, 5)
      .map((m) => `  line ${m.lineNum}:${m.linePos}: ${m.message}`)
      .join('\n');
  } catch {
    return '';
  }
}
