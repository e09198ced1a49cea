/**
 * A GPUDevice in Node, through the npm package `webgpu` (Dawn, an optional peer dependency).
 *
 * Four things a Node user would otherwise have to know, handled here:
 * - the WebGPU globals (GPUBufferUsage, GPUMapMode, …) that the engine reads are installed on
 *   globalThis the first time a device is requested;
 * - every Dawn instance is kept for the life of the process: Dawn's devices do not keep their
 *   instance alive, and once the GC collects it the next event poll (mapAsync,
 *   createComputePipelineAsync) aborts the process inside InstanceBase::ProcessEvents or hangs.
 *   A kept instance does not keep the process running: it exits once the device is destroyed;
 * - where Debian Chromium's SwiftShader Vulkan driver (a CPU implementation) is installed and
 *   no Vulkan loader variable is set, the first instance sees it beside the machine's own
 *   drivers (VK_ADD_DRIVER_FILES), so it also runs on machines without a GPU; Dawn ranks a real
 *   GPU above it, so it never hides one. Mesa's lavapipe, the other CPU driver, is left out of
 *   that search (VK_LOADER_DRIVERS_DISABLE): Dawn skips it on Debian 12's Mesa anyway and says
 *   so on stderr ("Warning: Vulkan shaderUniform*ArrayDynamicIndexing required"), and two CPU
 *   adapters would make the choice arbitrary. Where that search finds nothing, the machine's
 *   drivers are tried alone, as they are where SwiftShader is missing; where those find nothing
 *   and VK_ICD_FILENAMES is unset, SwiftShader is tried alone. The loader reads the variables
 *   when an instance is made, so all of this happens in-process;
 * - Mesa's Vulkan drivers probe Wayland and print "XDG_RUNTIME_DIR is invalid or not set" on a
 *   headless machine: where the variable is unset, it is pointed at a private directory.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebGPUUnavailableError } from '../errors.js';
import { describeAdapter, recommendedFeatures, recommendedLimits } from '../gpu/device.js';
import { paceDawnEventPump } from './event-pump.js';

/** Debian Chromium's SwiftShader Vulkan driver: WebGPU on the CPU where there is no GPU. */
export const kSwiftShaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The Vulkan loader's variables that choose drivers: where the user set one, the search leaves them alone. */
const kLoaderDriverVariables = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES', 'VK_LOADER_DRIVERS_SELECT', 'VK_LOADER_DRIVERS_DISABLE'];

/** The first search's drivers: the machine's, SwiftShader added, Mesa's lavapipe (`lvp_icd.<arch>.json`) left out. */
const kFirstSearch: Readonly<Record<string, string>> = {
  VK_ADD_DRIVER_FILES: kSwiftShaderIcd,
  VK_LOADER_DRIVERS_DISABLE: '*lvp_icd*',
};

/** A Dawn device and a readable description of its adapter. */
export interface NodeGpu {
  readonly device: GPUDevice;
  /** 'vendor architecture device (description)', e.g. 'google swiftshader (SwiftShader driver 5.0.0)'. */
  readonly adapterName: string;
}

/** What this module uses of the `webgpu` package. */
interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

let dawn: Promise<DawnModule> | undefined;
/** Every instance made; see the header for why none may be collected. */
const instances: GPU[] = [];
/** The instance that last gave an adapter: later requests start there. */
let working: GPU | undefined;
/** True once this module has pointed VK_ICD_FILENAMES at SwiftShader. */
let setSwiftShaderIcd = false;

/**
 * Requests a device on the best adapter Dawn finds (`powerPreference: 'high-performance'`),
 * with the optional features the engine's fastest kernels use. Installs the WebGPU globals.
 * Throws WebGPUUnavailableError with a one-line reason that says what to install.
 *
 * @example
 * const { device, adapterName } = await nodeGpuDevice();
 * console.log(adapterName);
 * device.destroy();
 */
export async function nodeGpuDevice(label = 'lenet5.node.device'): Promise<NodeGpu> {
  const adapter = await nodeGpuAdapter();
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label, requiredFeatures: recommendedFeatures(adapter), requiredLimits: recommendedLimits(adapter) });
  } catch (e) {
    throw new WebGPUUnavailableError(`requestDevice() failed in Node on ${describeAdapter(adapter.info)}: ${(e as Error).message}`);
  }
  return { device, adapterName: describeAdapter(adapter.info) };
}

/**
 * Installs the WebGPU globals (GPUBufferUsage, GPUShaderStage, GPUMapMode, …) from the `webgpu`
 * package, for a caller who made a device some other way. Idempotent.
 *
 * @example
 * await installWebGpuGlobals();
 * GPUBufferUsage.STORAGE; // defined
 */
export async function installWebGpuGlobals(): Promise<void> {
  await loadDawn();
}

async function nodeGpuAdapter(): Promise<GPUAdapter> {
  const webgpu = await loadDawn();
  quietWaylandProbe();
  if (working) {
    const adapter = await requestAdapter(working);
    if (adapter) return adapter;
  }
  const userDrivers = !setSwiftShaderIcd && kLoaderDriverVariables.some((name) => process.env[name]);
  let adapter: GPUAdapter | null = null;
  if (!userDrivers && existsSync(kSwiftShaderIcd)) adapter = await withEnvironment(kFirstSearch, () => requestAdapter(newInstance(webgpu)));
  adapter ??= await requestAdapter(newInstance(webgpu));
  const userIcd = setSwiftShaderIcd ? undefined : process.env['VK_ICD_FILENAMES'];
  if (!adapter && !setSwiftShaderIcd && !userIcd && existsSync(kSwiftShaderIcd)) {
    process.env['VK_ICD_FILENAMES'] = kSwiftShaderIcd;
    setSwiftShaderIcd = true;
    adapter = await requestAdapter(newInstance(webgpu));
  }
  if (!adapter) {
    const tried = setSwiftShaderIcd
      ? `; SwiftShader (${kSwiftShaderIcd}) was tried too`
      : userIcd
        ? `; VK_ICD_FILENAMES is set to '${userIcd}', so the SwiftShader fallback was not tried`
        : `, or Debian's chromium package for its CPU driver (${kSwiftShaderIcd})`;
    throw new WebGPUUnavailableError(
      `no WebGPU adapter in Node: the 'webgpu' package (Dawn) found none; install a Vulkan driver ` +
        `(Debian: apt-get install libvulkan1 mesa-vulkan-drivers)${tried}`,
    );
  }
  return adapter;
}

async function requestAdapter(gpu: GPU): Promise<GPUAdapter | null> {
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new WebGPUUnavailableError(`requestAdapter() failed in Node (Dawn): ${(e as Error).message}`);
  }
  if (adapter) working = gpu;
  return adapter;
}

/** Runs `task` with `variables` set in the environment, then restores them. */
async function withEnvironment<T>(variables: Readonly<Record<string, string>>, task: () => Promise<T>): Promise<T> {
  const saved = Object.keys(variables).map((name) => [name, process.env[name]] as const);
  Object.assign(process.env, variables);
  try {
    return await task();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

function newInstance(webgpu: DawnModule): GPU {
  const gpu = webgpu.create([]);
  instances.push(gpu);
  return gpu;
}

function loadDawn(): Promise<DawnModule> {
  dawn ??= import('webgpu').then(
    (module: DawnModule) => {
      paceDawnEventPump();
      // The engine reads GPUBufferUsage & co. as globals, as in a browser.
      for (const [name, value] of Object.entries(module.globals)) {
        if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
      }
      return module;
    },
    (e: unknown) => {
      dawn = undefined;
      const missing = (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
      throw new WebGPUUnavailableError(
        missing
          ? `WebGPU in Node needs the package 'webgpu' (Dawn), an optional peer dependency: npm install webgpu; or pass { backend: 'cpu' }`
          : `the package 'webgpu' (Dawn for Node) failed to load: ${(e as Error).message}`,
      );
    },
  );
  return dawn;
}

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
