/**
 * Training on the GPU: the loop around a training plan (src/gpu/training-plan.ts). It owns
 * what the CPU trainer (trainer.ts) owns — the seeded initialisation, each epoch's seeded
 * shuffle (the same stream as the CPU trainer's, so both draw the same batches), the learning
 * rate schedule and Adam's bias corrections — and hands the plan up to `maxStepsPerSubmit`
 * steps at a time. The loss and accuracy are read back only when progress is reported.
 */
import { InputError, ModelMismatchError } from '../errors.js';
import { buildTrainingPlan, type LabelledImages, type LossTotals, type OptimizerOptions, type TrainingPlan } from '../gpu/training-plan.js';
import type { ArchitectureJson } from '../model/architecture.js';
import type { ModelWeights } from '../model/model-weights.js';
import { Prng } from '../model/prng.js';
import type { ModelSpec, Preprocessing } from '../model/spec.js';
import { kAffineValues, randomAffine, type AugmentOptions } from './augment.js';
import { lossName } from './record.js';
import { checkPositive, trainerSettings } from './trainer-settings.js';
import { saveWeights } from '../formats/load.js';
import type { InferenceEngine } from '../engine-api.js';
import { kDefaultMaxBatch, WebGpuEngine } from '../gpu/engine.js';
import { buildSnapshotPlan } from '../gpu/snapshot-plan.js';
import type { StepValues } from '../../shaders/elementwise.js';
import type { KernelTarget } from '../../shaders/conv5x5.js';

export interface GpuTrainerOptions {
  readonly device: GPUDevice;
  readonly train: LabelledImages;
  /** For `evaluate` (optional). */
  readonly test?: LabelledImages;
  /** Initialisation (when the source is not weights) and shuffles. Default 1. */
  readonly seed?: number;
  /** Minibatch size. Default 32 (the CPU trainer's). */
  readonly batch?: number;
  /** Default 'adam' (the CPU trainer's). */
  readonly optimizer?: 'sgd' | 'adam';
  /** Learning rate at the start. Default 0.001. */
  readonly lr?: number;
  /** SGD's momentum (torch.optim.SGD: 0 unless given). */
  readonly momentum?: number;
  /** L2 weight decay added to the gradient, as torch.optim (0 unless given). */
  readonly weightDecay?: number;
  /**
   * Epochs of the cosine schedule (lr → lr · finalLrRatio over epochs × steps per epoch), as
   * the CPU trainer's; 'constant' keeps lr. Default: a cosine schedule over 1 epoch.
   */
  readonly schedule?: { readonly epochs: number; readonly finalLrRatio?: number } | 'constant';
  /** False: batches in the training set's order every epoch. Default true. */
  readonly shuffle?: boolean;
  /**
   * Random affine distortions of the training images (the CPU trainer's: drawn from the same
   * seeded stream after each epoch's shuffle, applied on the GPU as the batch is drawn).
   */
  readonly augment?: AugmentOptions | null;
  readonly preprocessing?: Preprocessing;
  /** Steps encoded per submission (default 64). */
  readonly stepsPerSubmit?: number;
  /**
   * What the conv and dense kernels are built for (`KernelTarget`): default 'gpu' on every
   * device, a build of one to two seconds on SwiftShader. `trainingKernelTargetOf(device)`
   * gives 'cpu-unrolled' on CPU implementations: 1.1–2.3× the images/s there, for a
   * build of 10–50 s (docs/training.md), so for runs of many steps; `npm run train -- --gpu`
   * takes it for runs of 500 steps or more.
   */
  readonly kernelTarget?: KernelTarget;
}

/** What `fit`'s progress callback receives. */
export interface TrainProgress {
  readonly epoch: number;
  /** Optimizer steps taken so far. */
  readonly steps: number;
  /** Mean loss and accuracy over the images since the last report. */
  readonly loss: number;
  readonly accuracy: number;
  readonly imagesPerSecond: number;
}

export interface FitOptions {
  /** Train this many epochs (from the current step). */
  readonly epochs?: number;
  /** Or this many optimizer steps. */
  readonly steps?: number;
  /** Called every `reportEvery` steps (default: each submission) and at the end. */
  readonly onProgress?: (progress: TrainProgress) => void;
  readonly reportEvery?: number;
}

export interface GpuTrainer {
  readonly spec: ModelSpec;
  /** Optimizer steps taken. */
  readonly steps: number;
  readonly stepsPerEpoch: number;
  /** Takes `count` optimizer steps (default 1); resolves once they are submitted. */
  step(count?: number): Promise<void>;
  fit(options: FitOptions): Promise<TrainProgress | null>;
  /** Loss and accuracy on the test set, on the GPU. */
  evaluate(): Promise<{ readonly loss: number; readonly accuracy: number }>;
  /** The weights now (read back from the GPU). */
  weights(): Promise<ModelWeights>;
  /**
   * An inference engine on the trainer's device over the weights as the steps taken so far
   * leave them, without a round trip through the CPU: the parameters are copied GPU to GPU
   * (queued after the submitted steps, nothing waited for) into the engine's own buffers, and
   * its layered plan reuses the training plan's compiled forward pipelines. A snapshot: further
   * training does not change its answers (call `engine()` again for newer weights); it outlives
   * the trainer, and `destroy()` it when done. Its answers equal an engine made from
   * `exportWeights()` at the same step. Its `weights.tensors` holds only the tensors that do
   * not train (RBF centres): the trained ones are on the GPU (`weights()` reads them).
   *
   * @example
   * await trainer.fit({ epochs: 1 });
   * const engine = await trainer.engine({ maxBatch: 256 });
   * const { classes } = await engine.infer(testImages, 100);
   */
  engine(options?: { readonly maxBatch?: number }): Promise<InferenceEngine>;
  /** Safetensors bytes with the architecture, preprocessing and the training record. */
  exportWeights(extraMetadata?: Readonly<Record<string, string>>): Promise<Uint8Array>;
  destroy(): void;
}

/**
 * A trainer for `source` on the GPU: weights to fine-tune, or a model (spec or JSON
 * description) to start from seeded random weights.
 *
 * @example
 * const { device } = await nodeGpuDevice();
 * const trainer = await createTrainer(presetModel('pytorch-tutorial')!, {
 *   device, train: loadMnist('train'), test: loadMnist('t10k'), optimizer: 'sgd', lr: 0.05, batch: 64,
 * });
 * await trainer.fit({ epochs: 1, onProgress: (p) => console.log(p.loss) });
 * console.log((await trainer.evaluate()).accuracy);
 */
export async function createTrainer(source: ModelWeights | ModelSpec | ArchitectureJson, options: GpuTrainerOptions): Promise<GpuTrainer> {
  const settings = trainerSettings(source, options, 'the GPU trainer');
  const { seed, initial, spec, preprocessing, batch, lr, momentum, weightDecay, stepsPerEpoch, learningRate } = settings;
  const kind = settings.optimizer;
  const adamBetas = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  const optimizer: OptimizerOptions = kind === 'adam' ? { kind, ...adamBetas, weightDecay } : { kind, momentum, weightDecay };

  const augment = options.augment ?? null;
  const plan: TrainingPlan = await buildTrainingPlan(options.device, spec, initial.tensors, options.train, options.test ?? null, {
    maxBatch: Math.min(batch, options.train.count),
    optimizer,
    preprocessing,
    augment: augment !== null,
    ...(options.stepsPerSubmit === undefined ? {} : { maxStepsPerSubmit: options.stepsPerSubmit }),
    ...(options.kernelTarget === undefined ? {} : { kernelTarget: options.kernelTarget }),
  });
  // The CPU trainer's stream for data order (trainer.ts), so both draw the same batches.
  const random = new Prng(seed * 2654435761 + 1);
  const shuffle = options.shuffle ?? true;
  let steps = 0;
  let orderEpoch = 0;
  let destroyed = false;

  const live = () => {
    if (destroyed) throw new InputError('this trainer was destroyed');
  };
  const ensureOrder = (epoch: number) => {
    while (orderEpoch < epoch) {
      orderEpoch++;
      const order = new Uint32Array(options.train.count);
      for (let i = 0; i < order.length; i++) order[i] = i;
      if (shuffle) random.shuffle(order);
      plan.setOrder(order);
      if (augment) {
        // As the CPU trainer: after the shuffle, one distortion per position, from the same stream.
        const affine = new Float32Array(options.train.count * kAffineValues);
        for (let i = 0; i < options.train.count; i++) randomAffine(random, augment, affine, i * kAffineValues);
        plan.setAffine(affine);
      }
    }
  };
  const record = (step: number): StepValues => {
    const first = (step % stepsPerEpoch) * batch;
    const t = step + 1;
    return {
      count: Math.min(batch, options.train.count - first),
      first,
      learningRate: learningRate(step),
      correction1: kind === 'adam' ? 1 - adamBetas.beta1 ** t : 1,
      correction2Sqrt: kind === 'adam' ? Math.sqrt(1 - adamBetas.beta2 ** t) : 1,
    };
  };
  /** Submits up to `count` steps, never across an epoch's end (the order changes there). */
  const submit = (count: number): number => {
    const epoch = Math.floor(steps / stepsPerEpoch) + 1;
    ensureOrder(epoch);
    const n = Math.min(count, plan.maxStepsPerSubmit, epoch * stepsPerEpoch - steps);
    plan.train(Array.from({ length: n }, (_, k) => record(steps + k)));
    steps += n;
    return n;
  };
  const meanOf = (totals: LossTotals) => ({
    loss: totals.images ? totals.lossSum / totals.images : NaN,
    accuracy: totals.images ? totals.correct / totals.images : NaN,
  });
  const weights = async (): Promise<ModelWeights> => {
    live();
    const trained = await plan.readParameters();
    const tensors = new Map(initial.tensors);
    for (const [name, data] of trained) tensors.set(name, data);
    return { spec, preprocessing, tensors, metadata: initial.metadata };
  };

  return {
    spec,
    get steps() {
      return steps;
    },
    stepsPerEpoch,
    async step(count = 1) {
      live();
      checkPositive('step count', count, true);
      for (let left = count; left > 0; ) left -= submit(left);
    },
    async fit(fit) {
      live();
      const total = fit.steps ?? (fit.epochs ?? 0) * stepsPerEpoch;
      checkPositive(fit.steps !== undefined ? 'steps' : 'epochs', fit.steps ?? fit.epochs ?? 0, true);
      const reportEvery = fit.reportEvery ?? plan.maxStepsPerSubmit;
      let last: TrainProgress | null = null;
      let since = performance.now();
      let sinceReport = 0;
      await plan.readTrainingTotals(); // start the totals at this fit
      for (let done = 0; done < total; ) {
        const n = submit(Math.min(total - done, reportEvery - sinceReport));
        done += n;
        sinceReport += n;
        if (sinceReport >= reportEvery || done === total) {
          const totals = await plan.readTrainingTotals();
          const now = performance.now();
          last = { epoch: Math.floor((steps - 1) / stepsPerEpoch) + 1, steps, ...meanOf(totals), imagesPerSecond: totals.images / ((now - since) / 1000) };
          fit.onProgress?.(last);
          since = now;
          sinceReport = 0;
        }
      }
      return last;
    },
    async evaluate() {
      live();
      if (!options.test) throw new InputError('evaluate needs a test set: pass `test` to createTrainer');
      return meanOf(await plan.evaluate());
    },
    weights,
    async engine(engineOptions = {}) {
      live();
      const fixed = new Map(spec.tensors.filter((t) => !t.trainable).map((t) => [t.name, initial.tensors.get(t.name)!] as const));
      const snapshot = await buildSnapshotPlan(options.device, plan, fixed, { maxBatch: engineOptions.maxBatch ?? kDefaultMaxBatch });
      const weights: ModelWeights = {
        spec,
        preprocessing,
        tensors: fixed,
        metadata: { ...initial.metadata, 'lenet5.train.steps': String(steps) },
        ...(initial.labels ? { labels: initial.labels } : {}),
      };
      try {
        return await WebGpuEngine.overPlan(options.device, weights, snapshot, `its weights are a snapshot of a trainer's, on the GPU only (step ${steps})`);
      } catch (e) {
        snapshot.destroy();
        throw e;
      }
    },
    async exportWeights(extraMetadata = {}) {
      const trained = await weights();
      const { ['lenet5.init']: _init, ...inherited } = initial.metadata;
      return saveWeights(
        { ...trained, metadata: settings.fineTuning ? inherited : initial.metadata },
        {
          'lenet5.train.device': 'gpu',
          'lenet5.train.optimizer': settings.optimizerRecord,
          'lenet5.train.steps': String(steps),
          'lenet5.train.seed': String(seed),
          'lenet5.train.shuffle': shuffle ? 'seeded shuffle per epoch' : 'none (training file order)',
          'lenet5.train.augmentation': augment
            ? `random affine on the GPU: rotation ±${augment.rotation}°, scale ±${augment.scale * 100}% per axis, shear ±${augment.shear}, shift ±${augment.shift} px (bilinear)`
            : 'none',
          'lenet5.train.images': String(options.train.count),
          'lenet5.train.loss': `${lossName(spec.output)} (mean over the batch)`,
          'lenet5.train.init': settings.fineTuning ? `fine-tuned from ${initial.metadata['lenet5.train.command'] ?? 'a weights file'}` : (initial.metadata['lenet5.init'] ?? 'randomWeights'),
          ...extraMetadata,
        },
      );
    },
    destroy() {
      destroyed = true;
      plan.destroy();
    },
  };
}

/** Throws unless `weights` fit `spec` (the --init file must be the model being trained). */
export function checkSameModel(weights: ModelWeights, spec: ModelSpec): void {
  const names = (s: ModelSpec) => s.tensors.map((t) => `${t.name}:${t.shape.join('×')}`).join(',');
  if (names(weights.spec) !== names(spec)) {
    throw new ModelMismatchError(`the initial weights are '${weights.spec.title}', the run trains '${spec.title}': their tensors differ`);
  }
}
