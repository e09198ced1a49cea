/**
 * The training benchmark's unit (`npm run bench -- --train`): one trainer ALONE in a fresh
 * process (or page), training one network at one batch size, as the inference benchmark's solo
 * runs do (solo.ts). Every trainer gets the same initial weights (one file, written once by
 * the caller), the same batches (the first training images, in the file's order), the same
 * loss (softmax cross-entropy on the logits, mean over the batch: F.cross_entropy) and the same
 * optimizer (SGD, constant learning rate). It takes `warmup` steps (compiles, first-call
 * costs), then `steps` timed steps, and reports images/s over the timed steps and their mean
 * loss: equal losses say the trainers computed the same thing, a wrong trainer shows.
 *
 * Trainers: ours on the GPU (createTrainer), our CPU trainer (Node only: worker threads), and
 * TensorFlow.js as its MNIST example trains (train-tfjs.ts: a tf.layers model and model.fit)
 * on its CPU, WASM and WebGPU backends. A trainer that cannot train the network there reports
 * why (e.g. the kernel tfjs lacks) instead of a figure.
 */
import type { createTrainer, LabelledImages, ModelWeights, trainingKernelTargetOf } from '../../src/index.js';
import { tfjsTrain, type TfjsModules, type TfTrainBackend } from './train-tfjs.js';

export const kTrainEngines = ['ours-gpu', 'ours-cpu', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu'] as const;
export type TrainEngine = (typeof kTrainEngines)[number];
export const kTrainModels = ['seed', 'pytorch-tutorial'] as const;
export type TrainModel = (typeof kTrainModels)[number];
export type { TfTrainBackend } from './train-tfjs.js';

/** Seed of the initial weights every trainer starts from (randomWeights, in every host). */
export const kTrainInitSeed = 1;

export interface TrainRequest {
  readonly engine: TrainEngine;
  readonly model: TrainModel;
  readonly batch: number;
  /** Untimed steps first. */
  readonly warmup: number;
  /** Timed steps. */
  readonly steps: number;
  /** SGD's constant learning rate. */
  readonly lr: number;
}

export interface TrainOutcome {
  readonly engine: TrainEngine;
  readonly model: TrainModel;
  readonly batch: number;
  readonly host: 'browser' | 'node';
  /** Versions, backend, threads. */
  readonly detail?: string;
  /** Training images per second over the timed steps. */
  readonly imagesPerSecond?: number;
  /** Mean loss over the timed steps' batches. */
  readonly loss?: number;
  readonly steps?: number;
  /** Why there is no figure. */
  readonly error?: string;
}

/** A CPU-trainer run (Node): `train` of src/train/trainer.ts over the same batches. */
export type CpuTrain = (weights: ModelWeights, set: LabelledImages, options: { batch: number; lr: number; steps: number; onStep: (imagesDone: number, meanLoss: number) => void }) => Promise<void>;

/** What the process or page provides. */
export interface TrainHost {
  readonly kind: 'browser' | 'node';
  now(): number;
  /** The network's initial weights: the same file for every trainer. */
  initial(model: TrainModel): Promise<ModelWeights>;
  /** The first `count` MNIST training images and labels. */
  mnist(count: number): Promise<LabelledImages>;
  /** Ours on the GPU: the library and a device. */
  gpu(): Promise<{ createTrainer: typeof createTrainer; trainingKernelTargetOf: typeof trainingKernelTargetOf; device: GPUDevice; adapterName: string }>;
  /** Our CPU trainer, where there is one (Node). */
  cpu?(): Promise<{ train: CpuTrain; workers: number }>;
  /** tfjs-core with `backend` and the gradients registered, and tfjs-layers over it. */
  tfjs(backend: TfTrainBackend): Promise<TfjsModules>;
}

/**
 * Runs one trainer alone and reports; never throws (a failure is the outcome's `error`).
 *
 * @example
 * const outcome = await trainSoloRun({ engine: 'ours-gpu', model: 'seed', batch: 64, warmup: 1, steps: 3, lr: 0.01 }, host);
 */
export async function trainSoloRun(request: TrainRequest, host: TrainHost): Promise<TrainOutcome> {
  const base = { engine: request.engine, model: request.model, batch: request.batch, host: host.kind };
  try {
    const [weights, data] = await Promise.all([host.initial(request.model), host.mnist((request.warmup + request.steps) * request.batch)]);
    const run = await runTrainer(request, host, weights, data);
    return { ...base, ...run, steps: request.steps };
  } catch (e) {
    return { ...base, error: (e as Error).message.replace(/\s*\n\s*/g, ' ') };
  }
}

interface Timed {
  readonly detail: string;
  readonly imagesPerSecond: number;
  readonly loss: number;
}

async function runTrainer(request: TrainRequest, host: TrainHost, weights: ModelWeights, data: LabelledImages): Promise<Timed> {
  const { batch, warmup, steps, lr } = request;
  const timedImages = steps * batch;
  switch (request.engine) {
    case 'ours-gpu': {
      const { createTrainer, trainingKernelTargetOf, device, adapterName } = await host.gpu();
      // The kernels a run of many steps takes on this device (`npm run train -- --gpu` does).
      const kernelTarget = trainingKernelTargetOf(device);
      const trainer = await createTrainer(weights, { device, train: data, batch, optimizer: 'sgd', lr, schedule: 'constant', shuffle: false, stepsPerSubmit: Math.max(warmup, steps), kernelTarget });
      try {
        if (warmup > 0) await trainer.fit({ steps: warmup });
        const started = host.now();
        // One submission of the timed steps, one readback of their loss totals at the end.
        const progress = await trainer.fit({ steps, reportEvery: steps });
        const seconds = (host.now() - started) / 1000;
        return { detail: `createTrainer on ${adapterName}, kernels for '${kernelTarget}'`, imagesPerSecond: timedImages / seconds, loss: progress!.loss };
      } finally {
        trainer.destroy();
      }
    }
    case 'ours-cpu': {
      if (!host.cpu) throw new Error('our CPU trainer runs in Node only (worker threads)');
      if (warmup === 0) throw new Error('the CPU trainer is timed from the end of a warm-up step: warmup ≥ 1');
      const { train, workers } = await host.cpu();
      let started = 0;
      let lossAtStart = 0;
      let last = { done: 0, meanLoss: 0 };
      await train(weights, data, {
        batch, lr, steps: warmup + steps,
        onStep: (done, meanLoss) => {
          if (done === warmup * batch) {
            started = host.now();
            lossAtStart = meanLoss * done;
          }
          last = { done, meanLoss };
        },
      });
      const seconds = (host.now() - started) / 1000;
      return { detail: `CPU trainer, ${workers} worker threads`, imagesPerSecond: timedImages / seconds, loss: (last.meanLoss * last.done - lossAtStart) / timedImages };
    }
    case 'tfjs-cpu':
    case 'tfjs-wasm':
    case 'tfjs-webgpu': {
      const backend = request.engine.slice('tfjs-'.length) as TfTrainBackend;
      return tfjsTrain(await host.tfjs(backend), backend, weights, data, request, () => host.now());
    }
  }
}
