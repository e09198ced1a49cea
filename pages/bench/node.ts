/**
 * The benchmark in Node (`npm run bench -- --node`): WebGPU through Dawn (the npm package
 * `webgpu`) on the best adapter present, or the one `--adapter NAME` names; the peers that run
 * in Node (ONNX Runtime Web's and tfjs's WASM backends, one thread each); and one cold start
 * per fresh process (`--node-cold ENGINE`, spawned by scripts/bench.ts), timed from the import
 * of the library to the first logits.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ModelWeights } from '../../src/index.js';
import type { PeerModel } from './peers.js';
import type { BenchHost } from './run.js';
import type { ColdStartRun, OursId, PeerId } from './types.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const seedFile = `${repo}weights/seed.safetensors`;
const onnxFile = `${repo}public/models/seed.onnx`;

/** The peers that run in Node: the WASM backends (no WebGPU in their Node builds). */
export const kNodePeers: readonly PeerId[] = ['tfjs-wasm', 'ort-wasm'];

/** The engines a Node cold start can time. */
export const kNodeColdEngines: readonly (OursId | PeerId)[] = ['webgpu-default', 'webgpu-fused', 'webgpu-layered', ...kNodePeers];

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
  const { recommendedFeatures } = await import('../../src/index.js');
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
  const device = await found.requestDevice({ label: 'bench.node.device', requiredFeatures: recommendedFeatures(found) });
  const info = found.info;
  return { device, info, adapterName: [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') };
}

/** The device's adapter info where Dawn gives it, else the description nodeGpuDevice gave. */
function infoOf(device: GPUDevice, adapterName: string): GPUAdapterInfo {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (info && (info.vendor || info.architecture || info.description)) return info;
  return { vendor: adapterName, architecture: '', device: '', description: '' } as GPUAdapterInfo;
}

/**
 * One cold start in this process (`--node-cold ENGINE`): from the import of the library (ours:
 * `lenet5-webgpu/node`, whose createEngine loads Dawn and requests the device; peers: their
 * framework) to the first logits, then for ours batch-1024 runs to full speed. `processMs`
 * adds the time Node and tsx took to get here.
 *
 * @example
 * const run = await nodeColdStart('webgpu-default', undefined, true);
 */
export async function nodeColdStart(engine: OursId | PeerId, adapter: string | undefined, quick: boolean): Promise<{ detail: string; run: ColdStartRun }> {
  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const phases: { label: string; atMs: number }[] = [];
  const mark = (label: string) => phases.push({ label, atMs: at() });
  const { benchPixels } = await import('./measure.js');
  const image = benchPixels(1);
  if (engine === 'webgpu-default' || engine === 'webgpu-fused' || engine === 'webgpu-layered') {
    // As a Node user writes it: createEngine(path) from lenet5-webgpu/node, which picks the
    // adapter and makes the device itself; with --adapter, on the device made for that adapter.
    const [lib, speedModule] = await Promise.all([import('../../src/node.js'), import('./speed.js')]);
    const own = adapter === undefined ? undefined : await nodeDevice(adapter);
    mark('imported');
    const plan = engine === 'webgpu-fused' ? 'fused' : engine === 'webgpu-layered' ? 'layered' : undefined;
    const ours = await lib.createEngine(seedFile, { ...(own ? { device: own.device } : {}), ...(plan ? { plan } : {}) });
    mark('ready');
    const { scores } = await ours.infer(image, 1);
    mark('first logits');
    const firstLogitsMs = at();
    const processMs = performance.now();
    const firstPlan = ours.plan;
    const budget = quick ? speedModule.kQuickBudget : speedModule.kFullBudget;
    const speed = await speedModule.timeToFullSpeed(ours, benchPixels(speedModule.kFullSpeedBatch), budget, at);
    const lastPlan = ours.plan;
    const adapterName = ours.adapterName;
    const backend = ours.backend;
    ours.destroy();
    own?.device.destroy();
    return {
      detail: `${backend} on ${adapterName}${plan ? `, plan ${plan}` : ', createEngine default'}`,
      run: {
        firstLogitsMs,
        phases,
        logits: [...scores],
        fullSpeedMs: speed.fullSpeedMs,
        steadyImagesPerSecond: speed.steadyImagesPerSecond,
        speed: speed.speed,
        ...(firstPlan ? { plans: [firstPlan, lastPlan ?? '?'] } : {}),
        processMs,
      },
    };
  }
  let model: PeerModel;
  if (engine === 'tfjs-wasm') {
    const [{ readF32Safetensors }, bytes] = await Promise.all([import('./safetensors-lite.js'), readFile(seedFile)]);
    const tensors = readF32Safetensors(new Uint8Array(bytes));
    const [tf] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-backend-wasm')]);
    const { tfjsSeedModel } = await import('./tfjs-model.js');
    mark('imported');
    model = await tfjsSeedModel(tf, (name) => tensors.get(name) ?? missing(name), 'wasm');
  } else if (engine === 'ort-wasm') {
    const [ort, bytes, { ortModel }] = await Promise.all([import('onnxruntime-web'), readFile(onnxFile), import('./ort.js')]);
    mark('imported');
    model = await ortModel(ort, new Uint8Array(bytes), 'wasm');
  } else {
    throw new Error(`${engine} does not run in Node here`);
  }
  mark('ready');
  const logits = await model.logits(image, 1);
  mark('first logits');
  const run: ColdStartRun = { firstLogitsMs: at(), phases, logits: [...logits], processMs: performance.now() };
  model.dispose();
  return { detail: model.detail, run };
}

function missing(name: string): never {
  throw new Error(`the seed weights have no tensor '${name}'`);
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
