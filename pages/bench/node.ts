/**
 * The benchmark in Node (`npm run bench -- --node`): WebGPU through Dawn (the npm package
 * `webgpu`) on the best adapter present, or the one `--adapter NAME` names; the peers that run
 * in Node (ONNX Runtime Web's and tfjs's WASM backends, one thread each); and the host of one
 * solo run per fresh process (`--solo ENGINE:MODEL`, spawned by scripts/bench.ts), timed from
 * the process's start.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ModelWeights } from '../../src/index.js';
import type { PeerModel } from './peers.js';
import type { BenchHost } from './run.js';
import type { PeerId } from './types.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const onnxFile = `${repo}public/models/seed.onnx`;

/** The peers that run in Node: the WASM backends (no WebGPU in their Node builds). */
export const kNodePeers: readonly PeerId[] = ['tfjs-wasm', 'ort-wasm'];

export const nodeHost: BenchHost = {
  kind: 'node',
  platform: `Node ${process.versions.node}, Dawn (webgpu ${packageVersion('webgpu')})`,
  userAgent: `Node.js ${process.version} ${process.platform} ${process.arch}`,
  hardwareConcurrency: availableParallelism(),
  crossOriginIsolated: typeof SharedArrayBuffer !== 'undefined',
  async shippedWeights(model) {
    const { resolveWeights } = await import('../../src/index.js');
    return resolveWeights(new Uint8Array(await readFile(`${repo}weights/${model}.safetensors`)));
  },
  async loadPeer(id, weights) {
    const { tensorOf } = await import('../../src/reference.js');
    return nodePeer(id, (name) => tensorOf(weights, name));
  },
  peers: kNodePeers,
};

/** A peer in Node from the seed model's tensors (tfjs) or the ONNX file (ORT). */
async function nodePeer(id: PeerId, tensor: (name: string) => Float32Array): Promise<PeerModel> {
  if (id === 'tfjs-wasm') {
    const [tf] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-backend-wasm')]);
    const { tfjsSeedModel } = await import('./tfjs-model.js');
    return tfjsSeedModel(tf, tensor, 'wasm');
  }
  if (id === 'ort-wasm') {
    const [ort, bytes, { ortModel }] = await Promise.all([import('onnxruntime-web'), readFile(onnxFile), import('./ort.js')]);
    return ortModel(ort, new Uint8Array(bytes), 'wasm');
  }
  throw new Error(`${id} does not run in Node here (its Node build has no WebGPU)`);
}

/** A Dawn device and what to call its adapter. */
export interface NodeDevice {
  readonly device: GPUDevice;
  readonly info: GPUAdapterInfo;
  readonly adapterName: string;
}

/** Every Dawn instance this module made: none may be collected while its devices live. */
const instances: GPU[] = [];

/**
 * A device on the best adapter (scripts/node-webgpu.ts: a real GPU first, SwiftShader where
 * there is none), or on the adapter whose name contains `adapter` (Dawn's `adapter=` option;
 * an unknown name throws Dawn's list of the adapters it has).
 *
 * @example
 * const { device, adapterName } = await nodeDevice('SwiftShader');
 */
export async function nodeDevice(adapter?: string): Promise<NodeDevice> {
  const { recommendedFeatures, recommendedLimits } = await import('../../src/index.js');
  if (adapter === undefined) {
    const { nodeGpuDevice } = await import('../../src/node.js');
    const { device, adapterName } = await nodeGpuDevice();
    return { device, adapterName, info: infoOf(device, adapterName) };
  }
  const webgpu = await import('webgpu');
  for (const [name, value] of Object.entries(webgpu.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
  const request = async () => {
    const gpu = webgpu.create([`adapter=${adapter}`]);
    instances.push(gpu);
    return gpu.requestAdapter({ powerPreference: 'high-performance' });
  };
  let found: GPUAdapter | null = null;
  let failure: unknown;
  try {
    found = await request();
  } catch (e) {
    failure = e;
  }
  // Without a GPU driver Dawn sees SwiftShader only through its Vulkan ICD file: add it beside
  // whatever drivers there are (VK_ADD_DRIVER_FILES hides none, unlike VK_ICD_FILENAMES) and
  // ask again; an unknown name then gets Dawn's list of every adapter.
  const { kSwiftShaderIcd } = await import('../../src/node.js');
  const canAdd = !process.env['VK_ICD_FILENAMES'] && !process.env['VK_ADD_DRIVER_FILES'] && (await readFile(kSwiftShaderIcd).then(() => true, () => false));
  if (!found && canAdd) {
    process.env['VK_ADD_DRIVER_FILES'] = kSwiftShaderIcd;
    try {
      found = await request();
    } catch (e) {
      failure = e;
    }
  }
  if (!found) throw new Error(`--adapter ${adapter}: ${failure ? (failure as Error).message : 'Dawn found no adapter'}`);
  const device = await found.requestDevice({ label: 'bench.node.device', requiredFeatures: recommendedFeatures(found), requiredLimits: recommendedLimits(found) });
  const info = found.info;
  return { device, info, adapterName: [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') };
}

/** The device's adapter info where Dawn gives it, else the description nodeGpuDevice gave. */
function infoOf(device: GPUDevice, adapterName: string): GPUAdapterInfo {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (info && (info.vendor || info.architecture || info.description)) return info;
  return { vendor: adapterName, architecture: '', device: '', description: '' } as GPUAdapterInfo;
}

function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return '?';
  }
}

/**
 * The solo runs' host in Node (`--solo ENGINE:MODEL`, one fresh process each): ours as
 * `lenet5-webgpu/node` (it picks the adapter, a real GPU before SwiftShader), the files read
 * from the repository, ONNX Runtime Web's and tfjs's Node builds (WASM backends only). The
 * clock starts with the process.
 *
 * @example
 * const outcome = await soloRun({ engine: 'ort-wasm', model: 'seed', batches: [1], quick: true, fullSpeed: false }, nodeSoloHost);
 */
export const nodeSoloHost: import('./solo.js').SoloHost = {
  kind: 'node',
  now: () => performance.now(),
  ours: () => import('../../src/node.js'),
  oursSource: (file) => `${repo}${file}`,
  bytes: async (file) => new Uint8Array(await readFile(`${repo}${file}`)),
  async ort(backend) {
    if (backend !== 'wasm') throw new Error("ONNX Runtime's Node build has no WebGPU");
    return import('onnxruntime-web');
  },
  async tfjs(backend) {
    if (backend !== 'wasm') throw new Error("tfjs's WebGPU backend does not run in Node");
    const [tf] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-backend-wasm')]);
    return tf;
  },
};
