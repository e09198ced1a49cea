/**
 * lenet5-webgpu for Node: the same API as the package root, with a `createEngine` that runs on
 * the best GPU adapter the machine has through the npm package `webgpu` (Dawn; install it
 * beside this one), falls back to SwiftShader (Vulkan on the CPU) where there is no GPU, and
 * loads weights from file paths and `file:` URLs. The WebGPU globals and the Dawn instance's
 * lifetime are handled here; the process exits by itself once every engine is destroyed.
 *
 * @example
 * import { createEngine } from 'lenet5-webgpu/node';
 *
 * const engine = await createEngine('weights/seed.safetensors');
 * const { classes } = await engine.infer(mnistBytes, 100); // 100 × 784 bytes, 0..255
 * engine.destroy();
 *
 * @module lenet5-webgpu/node
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { InferenceEngine } from './engine-api.js';
import { checkEngineOptions } from './engine-options.js';
import { InputError, WebGPUUnavailableError } from './errors.js';
import { createEngine as createBrowserEngine, type EngineOptions, type WeightsSource } from './index.js';
import { destroyAfterCompiles } from './gpu/pipeline-cache.js';
import { installWebGpuGlobals, nodeGpuDevice, type NodeGpu } from './node/dawn.js';

export * from './index.js';
export { installWebGpuGlobals, kSwiftShaderIcd, nodeGpuDevice, type NodeGpu } from './node/dawn.js';

/**
 * Creates an inference engine in Node. `source` is anything the root `createEngine` takes,
 * and also a file path (absolute, or relative to the working directory) or a `file:` URL;
 * `http(s):` URLs are fetched. Without `options.device`, the engine runs on a device of its own
 * on the best adapter Dawn finds, which `engine.destroy()` destroys and `engine.recover()`
 * replaces. `backend: 'auto'` (the default) falls back to the CPU reference where there is no
 * adapter, with `engine.fallbackReason` saying why; `'cpu'` never loads Dawn.
 *
 * @example
 * const engine = await createEngine(new URL('./seed.safetensors', import.meta.url), { plan: 'fused' });
 * console.log(engine.backend, engine.adapterName);
 * engine.destroy();
 */
export async function createEngine(source: WeightsSource, options: EngineOptions = {}): Promise<InferenceEngine> {
  checkEngineOptions(options);
  const weights = await readNodeSource(source);
  const backend = options.backend ?? 'auto';
  if (backend === 'cpu') return createBrowserEngine(weights, options);
  if (options.device) {
    await installWebGpuGlobals();
    return createBrowserEngine(weights, options);
  }
  let gpu: NodeGpu;
  try {
    gpu = await nodeGpuDevice();
  } catch (e) {
    if (backend !== 'auto' || !(e instanceof WebGPUUnavailableError)) throw e;
    return withFallbackReason(await createBrowserEngine(weights, { ...options, backend: 'cpu' }), e.message);
  }
  try {
    const engine = await createBrowserEngine(weights, { ...options, backend: 'webgpu', device: gpu.device });
    return ownDevice(engine, gpu.device);
  } catch (e) {
    gpu.device.destroy();
    throw e;
  }
}

/**
 * Reads files itself (`fetch` in Node has no `file:` scheme and no base URL for a path); hands
 * bytes, `http(s):`/`data:` URLs and in-memory weights to the root `createEngine` as they are.
 */
async function readNodeSource(source: WeightsSource): Promise<WeightsSource> {
  let path: string | undefined;
  if (source instanceof URL) {
    if (source.protocol === 'file:') path = fileURLToPath(source);
  } else if (typeof source === 'string') {
    if (/^file:/i.test(source)) path = fileURLToPath(source);
    else if (!/^(https?|data|blob):/i.test(source)) path = source;
  }
  if (path === undefined) return source;
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new InputError(`could not read the weights file '${path}' (from the working directory ${process.cwd()}): ${reason}`);
  }
}

/**
 * The engine, owning `device`: destroy() destroys it after the engine's own objects, and
 * recover() without a device continues on a new Node device once the current one is lost. A
 * Proxy, so every other member of the engine (present or added later) reads through unchanged.
 */
function ownDevice(engine: InferenceEngine, device: GPUDevice): InferenceEngine {
  let current: GPUDevice | undefined;
  let owned = false;
  let lost = false;
  /** Switches to `next` (a device of ours when `own`), destroying the previous one if ours. */
  const use = (next: GPUDevice | undefined, own: boolean): void => {
    // At once, unless a compile runs on it (the 'auto' plan's background build), whose end
    // Dawn's destroy() would otherwise wait for.
    if (owned && current) destroyAfterCompiles(current);
    current = next;
    owned = own;
    lost = false;
    void next?.lost.then(() => {
      if (current === next) lost = true;
    });
  };
  use(device, true);
  const overrides: Partial<InferenceEngine> = {
    destroy(): void {
      engine.destroy();
      use(undefined, false);
    },
    async recover(replacement?: GPUDevice): Promise<void> {
      // Nothing lost: the engine keeps its device (and resolves at once, or reports destroyed).
      if (!lost) return engine.recover(replacement);
      if (replacement) {
        await engine.recover(replacement);
        use(replacement, false);
        return;
      }
      const fresh = await nodeGpuDevice();
      try {
        await engine.recover(fresh.device);
      } catch (e) {
        fresh.device.destroy();
        throw e;
      }
      use(fresh.device, true);
    },
  };
  return delegate(engine, overrides);
}

/** The CPU engine, labelled with why WebGPU was not used. */
function withFallbackReason(engine: InferenceEngine, reason: string): InferenceEngine {
  return delegate(engine, { fallbackReason: reason });
}

function delegate(engine: InferenceEngine, overrides: Partial<InferenceEngine>): InferenceEngine {
  return new Proxy(engine, {
    get(target, key) {
      if (Object.prototype.hasOwnProperty.call(overrides, key)) return overrides[key as keyof InferenceEngine];
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has(target, key) {
      return Object.prototype.hasOwnProperty.call(overrides, key) || Reflect.has(target, key);
    },
  });
}
