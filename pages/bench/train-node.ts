/**
 * The training benchmark's host in Node (train-solo.ts): one trainer per fresh process,
 * spawned by `npm run bench -- --train`. MNIST from data/ (src/train/mnist.ts), the initial
 * weights from the seeded initialisation every process repeats bit for bit, ours on a Dawn
 * device (nodeDevice: the best adapter, or --adapter's), our CPU trainer with its worker
 * threads, tfjs's CPU and WASM backends (its WebGPU backend has no Node build).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { nodeDevice } from './node.js';
import { kTrainInitSeed, type TrainHost, type TrainModel } from './train-solo.js';

/**
 * @example
 * const outcome = await trainSoloRun(request, nodeTrainHost('SwiftShader'));
 */
export function nodeTrainHost(adapter?: string): TrainHost {
  return {
    kind: 'node',
    now: () => performance.now(),
    async initial(model: TrainModel) {
      const [{ presetModel }, { randomWeights }] = await Promise.all([import('../../src/node.js'), import('../../src/model/random.js')]);
      return randomWeights(presetModel(model)!, kTrainInitSeed);
    },
    async mnist(count) {
      const { loadMnist } = await import('../../src/train/mnist.js');
      const set = loadMnist('train', count);
      if (set.count < count) throw new Error(`${count} training images asked for, MNIST has ${set.count}`);
      return set;
    },
    async gpu() {
      const [{ createTrainer, trainingKernelTargetOf }, { device, adapterName }] = await Promise.all([import('../../src/node.js'), nodeDevice(adapter)]);
      return { createTrainer, trainingKernelTargetOf, device, adapterName };
    },
    async cpu() {
      const { train } = await import('../../src/train/trainer.js');
      const workers = Math.min(2, availableParallelism());
      return {
        workers,
        train: async (weights, set, options) => {
          await train(
            {
              spec: weights.spec, initial: weights, seed: kTrainInitSeed, epochs: 1, batch: options.batch, lr: options.lr, finalLrRatio: 1,
              constantLr: true, optimizer: 'sgd', shuffle: false, augment: null, workers, steps: options.steps, evaluateEachEpoch: false,
              onStep: (_epoch, done, meanLoss) => options.onStep(done, meanLoss),
            },
            set,
            set,
          );
        },
      };
    },
    async tfjs(backend) {
      if (backend === 'webgpu') throw new Error("tfjs's WebGPU backend has no Node build (browser only)");
      // tfjs-core first, then what registers into it (the layers read its flags as they load).
      const tf = await import('@tensorflow/tfjs-core');
      const [tfl, , wasm] = await Promise.all([
        import('@tensorflow/tfjs-layers'),
        registerTfjsGradients(),
        backend === 'cpu' ? import('@tensorflow/tfjs-backend-cpu').then(() => undefined) : import('@tensorflow/tfjs-backend-wasm'),
      ]);
      if (!wasm) return { tf, tfl };
      // tfjs's own default: WASM_HAS_MULTITHREAD_SUPPORT is false in Node (tfjs issue 3830).
      return { tf, tfl, wasmThreads: () => wasm.getThreadsCount(), threadsWhy: "tfjs's WASM backend runs no threads in Node" };
    },
  };
}

/**
 * tfjs-core's Node build registers no gradients (the @tensorflow/tfjs bundle imports
 * `@tensorflow/tfjs-core/dist/register_all_gradients`, and that file's ESM build uses
 * extensionless imports Node cannot resolve). It is bundled here with esbuild (Vite's) and
 * imported once: its registrations land in tfjs's global registry, which every copy shares.
 */
let gradients: Promise<unknown> | undefined;
function registerTfjsGradients(): Promise<unknown> {
  gradients ??= (async () => {
    const { build } = await import('esbuild');
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    const bundled = await build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'node', logLevel: 'silent' });
    return import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0]!.text).toString('base64')}`);
  })();
  return gradients;
}
