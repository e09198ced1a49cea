/**
 * A GPUDevice in Node, through the npm package `webgpu` (Dawn). Where no adapter is found and
 * VK_ICD_FILENAMES is unset, it retries with Debian Chromium's SwiftShader Vulkan driver (a
 * CPU implementation), so the command-line tools run on machines without a GPU. The retry
 * happens in-process: Dawn reads the variable when `create()` makes a new instance. A real
 * GPU is tried first, so setting the variable never hides one.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebGPUUnavailableError } from '../src/errors.js';
import { describeAdapter, recommendedFeatures } from '../src/gpu/device.js';

export const kSwiftShaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeGpu {
  readonly device: GPUDevice;
  readonly adapterName: string;
}

/**
 * Requests a device from Dawn; also installs WebGPU's globals (GPUBufferUsage, …) on
 * globalThis, which the engine reads. Throws WebGPUUnavailableError with a one-line reason.
 *
 * @example
 * const { device, adapterName } = await nodeGpuDevice();
 * // … use it …
 * device.destroy();
 */
export async function nodeGpuDevice(): Promise<NodeGpu> {
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (e) {
    throw new WebGPUUnavailableError(`the npm package 'webgpu' (Dawn for Node) failed to load: ${(e as Error).message}`);
  }
  Object.assign(globalThis, webgpu.globals);
  quietWaylandProbe();
  let adapter = await instance(webgpu).requestAdapter();
  if (!adapter && !process.env['VK_ICD_FILENAMES'] && existsSync(kSwiftShaderIcd)) {
    process.env['VK_ICD_FILENAMES'] = kSwiftShaderIcd;
    adapter = await instance(webgpu).requestAdapter();
  }
  if (!adapter) {
    throw new WebGPUUnavailableError(
      `no WebGPU adapter in Node (Dawn): no Vulkan driver found; install Debian's chromium (for ${kSwiftShaderIcd}) or set VK_ICD_FILENAMES`,
    );
  }
  const device = await adapter.requestDevice({ label: 'lenet5.eval.device', requiredFeatures: recommendedFeatures(adapter) });
  return { device, adapterName: describeAdapter(adapter.info) };
}

/**
 * Every Dawn instance made, kept for the life of the process: Dawn's devices do not keep
 * their instance alive, and once the GC collects it, the next event poll (mapAsync,
 * createComputePipelineAsync) aborts the process inside InstanceBase::ProcessEvents
 * ("The futex facility returned an unexpected error code") or hangs.
 */
const instances: GPU[] = [];

function instance(webgpu: typeof import('webgpu')): GPU {
  const gpu = webgpu.create([]);
  instances.push(gpu);
  return gpu;
}

/**
 * Vulkan drivers probe Wayland and print "error: XDG_RUNTIME_DIR is invalid or not set" on a
 * headless machine; a private runtime directory quiets them.
 */
function quietWaylandProbe(): void {
  if (process.env['XDG_RUNTIME_DIR']) return;
  const dir = join(tmpdir(), `lenet5-xdg-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  } catch {
    // Only cosmetic: the messages stay.
  }
}
