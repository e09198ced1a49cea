/**
 * What the training solo page (train-page.ts) loads besides ours: MNIST's training files served
 * with the site (mnist/, pages/demo/serve-mnist.ts: dev server and build), the seeded initial weights, and tfjs (core with one backend and its gradients, and layers).
 */
import type { TfjsModules } from './train-tfjs.js';
import { kTrainInitSeed, type TfTrainBackend, type TrainHost, type TrainModel } from './train-solo.js';

const kMnist = './mnist/';

async function bytes(name: string): Promise<Uint8Array> {
  const response = await fetch(`${kMnist}${name}`);
  if (!response.ok) throw new Error(`${kMnist}${name}: HTTP ${response.status} (MNIST is served with the site: pages/demo/serve-mnist.ts)`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The adapter in words, as the library describes it. */
export function describeAdapterInfo(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'unknown adapter';
}

export const trainPageHostParts: Pick<TrainHost, 'initial' | 'mnist' | 'tfjs'> = {
  async initial(model: TrainModel) {
    const [{ presetModel }, { randomWeights }] = await Promise.all([import('../../src/index.js'), import('../../src/model/random.js')]);
    return randomWeights(presetModel(model)!, kTrainInitSeed);
  },
  async mnist(count) {
    const [{ parseIdxImages, parseIdxLabels }, images, labels] = await Promise.all([
      import('../../src/index.js'),
      bytes('train-images-idx3-ubyte'),
      bytes('train-labels-idx1-ubyte'),
    ]);
    const parsed = parseIdxImages(images);
    const all = parseIdxLabels(labels);
    if (parsed.count < count) throw new Error(`${count} training images asked for, MNIST has ${parsed.count}`);
    return { images: parsed.pixels.subarray(0, count * 784), labels: all.subarray(0, count), count };
  },
  async tfjs(backend: TfTrainBackend): Promise<TfjsModules> {
    // In this order: tfjs-core's entry registers its flags, which the other modules read as
    // they load (imported side by side, the gradients could load first and fail on 'DEBUG').
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
    const tfl = await import('@tensorflow/tfjs-layers');
    if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
    else if (backend === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      (await import('./tfjs-wasm.js')).useSiteWasmFiles();
      // tfjs picks its threaded build where SharedArrayBuffer can be posted: a cross-origin isolated page.
      const threadsWhy = globalThis.crossOriginIsolated ? 'cross-origin isolated page' : 'the page is not cross-origin isolated: no threaded build';
      return { tf, tfl, wasmThreads: () => wasm.getThreadsCount(), threadsWhy };
    } else {
      const webgpu = await import('@tensorflow/tfjs-backend-webgpu');
      if (!webgpu.WebGPUBackend) throw new Error('@tensorflow/tfjs-backend-webgpu has no WebGPUBackend');
    }
    return { tf, tfl };
  },
};
