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
 * TensorFlow.js (tfjs-core's autodiff and `tf.train.sgd`, unfused ops: tfjs's fused ops have
 * no gradient for sigmoid) on its CPU, WASM and WebGPU backends. A trainer that cannot train
 * the network there reports why (e.g. the kernel tfjs lacks) instead of a figure.
 */
import type * as Tf from '@tensorflow/tfjs-core';
import type { createTrainer, LabelledImages, LayerSpec, ModelWeights } from '../../src/index.js';

export const kTrainEngines = ['ours-gpu', 'ours-cpu', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu'] as const;
export type TrainEngine = (typeof kTrainEngines)[number];
export const kTrainModels = ['seed', 'pytorch-tutorial'] as const;
export type TrainModel = (typeof kTrainModels)[number];
export type TfTrainBackend = 'cpu' | 'wasm' | 'webgpu';

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
  gpu(): Promise<{ createTrainer: typeof createTrainer; device: GPUDevice; adapterName: string }>;
  /** Our CPU trainer, where there is one (Node). */
  cpu?(): Promise<{ train: CpuTrain; workers: number }>;
  /** tfjs-core with `backend` registered. */
  tfjs(backend: TfTrainBackend): Promise<typeof Tf>;
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
      const { createTrainer, device, adapterName } = await host.gpu();
      const trainer = await createTrainer(weights, { device, train: data, batch, optimizer: 'sgd', lr, schedule: 'constant', shuffle: false, stepsPerSubmit: Math.max(warmup, steps) });
      try {
        if (warmup > 0) await trainer.fit({ steps: warmup });
        const started = host.now();
        // One submission of the timed steps, one readback of their loss totals at the end.
        const progress = await trainer.fit({ steps, reportEvery: steps });
        const seconds = (host.now() - started) / 1000;
        return { detail: `createTrainer on ${adapterName}`, imagesPerSecond: timedImages / seconds, loss: progress!.loss };
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
      const tf = await host.tfjs(backend);
      return tfjsTrain(tf, backend, weights, data, request, host);
    }
  }
}

/** PyTorch's [out, in, 5, 5] conv weight as tfjs's filter [5, 5, in, out]; [out, in] dense as [in, out]. */
function tfLayout(tf: typeof Tf, shape: readonly number[], data: Float32Array): Tf.Tensor {
  const t = tf.tensor(data, [...shape]);
  return tf.tidy(() => (shape.length === 4 ? tf.transpose(t, [2, 3, 1, 0]) : shape.length === 2 ? tf.transpose(t) : t.clone()));
}

async function tfjsTrain(tf: typeof Tf, backend: TfTrainBackend, weights: ModelWeights, data: LabelledImages, request: TrainRequest, host: TrainHost): Promise<Timed> {
  if (backend === 'wasm') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();
  const { spec, preprocessing } = weights;
  const variables = new Map<string, Tf.Variable>();
  for (const t of spec.tensors) {
    const value = tfLayout(tf, t.shape, weights.tensors.get(t.name)!);
    variables.set(t.name, tf.variable(value, true, t.name.replace(/[^\w]/g, '_')));
    value.dispose();
  }
  const v = (name: string) => variables.get(name)!;
  const activate = (x: Tf.Tensor, activation: string): Tf.Tensor => {
    switch (activation) {
      case 'none':
        return x;
      case 'relu':
        return tf.relu(x);
      case 'sigmoid':
        return tf.sigmoid(x);
      case 'tanh':
        return tf.tanh(x);
      case 'scaled-tanh':
        return tf.mul(1.7159, tf.tanh(tf.mul(2 / 3, x)));
      default:
        throw new Error(`the tfjs trainer here has no activation '${activation}'`);
    }
  };
  const layer = (x: Tf.Tensor, l: LayerSpec): Tf.Tensor => {
    switch (l.kind) {
      case 'conv5x5': {
        if (l.connectionTable) throw new Error(`the tfjs trainer here has no connection tables (${l.name})`);
        const p = l.padding;
        const y = tf.conv2d(x as Tf.Tensor4D, v(l.weight) as Tf.Tensor4D, 1, p === 0 ? 'valid' : [[0, 0], [p, p], [p, p], [0, 0]]);
        return activate(tf.add(y, v(l.bias)), l.activation);
      }
      case 'subsample2x2': {
        if (l.trainable) throw new Error(`the tfjs trainer here has no trainable subsampling (${l.name})`);
        const y = l.mode === 'max' ? tf.maxPool(x as Tf.Tensor4D, 2, 2, 'valid') : tf.avgPool(x as Tf.Tensor4D, 2, 2, 'valid');
        return activate(y, l.activation);
      }
      case 'dense': {
        // Channel-major flatten, as PyTorch's (and ours): NHWC → NCHW first.
        const flat = x.rank === 4 ? tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0]!, -1]) : x;
        return activate(tf.add(tf.matMul(flat as Tf.Tensor2D, v(l.weight) as Tf.Tensor2D), v(l.bias)), l.activation);
      }
      default:
        throw new Error(`the tfjs trainer here has no layer kind '${l.kind}'`);
    }
  };
  const side = spec.inputSize;
  const { batch } = request;
  const input = new Float32Array(batch * side * side);
  /** Batch k's images as the model's input (NHWC, one channel), converted as an application would. */
  const batchTensors = (k: number) => {
    const { pad, background, ink } = preprocessing;
    input.fill(background);
    for (let n = 0; n < batch; n++) {
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          input[(n * side + y + pad) * side + x + pad] = background + ((ink - background) * data.images[((k * batch + n) * 28 + y) * 28 + x]!) / 255;
        }
      }
    }
    const labels = tf.tensor1d(Int32Array.from(data.labels.subarray(k * batch, (k + 1) * batch)), 'int32');
    const onehot = tf.oneHot(labels, 10);
    labels.dispose();
    return { x: tf.tensor4d(input, [batch, side, side, 1]), onehot };
  };
  const optimizer = tf.train.sgd(request.lr);
  const step = (k: number): Tf.Scalar => {
    const { x, onehot } = batchTensors(k);
    try {
      return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(onehot, spec.layers.reduce(layer, x as Tf.Tensor)) as Tf.Scalar, true)!;
    } finally {
      x.dispose();
      onehot.dispose();
    }
  };
  try {
    for (let k = 0; k < request.warmup; k++) await step(k).data();
    const started = host.now();
    const losses: Tf.Scalar[] = [];
    for (let k = request.warmup; k < request.warmup + request.steps; k++) losses.push(step(k));
    // The last step's loss read back: every step before it has run.
    const values = await Promise.all(losses.map((l) => l.data()));
    const seconds = (host.now() - started) / 1000;
    losses.forEach((l) => l.dispose());
    const loss = values.reduce((sum, d) => sum + d[0]!, 0) / values.length;
    const threads = backend === 'wasm' ? ', 1 thread' : '';
    return { detail: `tfjs ${tf.version_core} ${backend}${threads}, autodiff + tf.train.sgd`, imagesPerSecond: (request.steps * batch) / seconds, loss };
  } finally {
    optimizer.dispose();
    for (const variable of variables.values()) variable.dispose();
  }
}
