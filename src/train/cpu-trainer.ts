/**
 * The CPU trainer behind the GPU trainer's interface: the same `step`, `fit`, `evaluate`,
 * `weights` and `exportWeights`, on one thread (a browser page or worker without WebGPU; no
 * worker threads, unlike trainer.ts). It draws the same batches as both other trainers (the
 * seeded shuffle and distortion stream of trainer.ts) and updates with Adam or SGD exactly as
 * they do, so a run here is the reference run of a GPU run with the same options.
 */
import { InputError } from '../errors.js';
import { saveWeights } from '../formats/load.js';
import type { ArchitectureJson } from '../model/architecture.js';
import type { ModelWeights } from '../model/model-weights.js';
import { Prng } from '../model/prng.js';
import { classIsSmallest, kClasses, type ModelSpec } from '../model/spec.js';
import { Adam, kAdamDefaults } from './adam.js';
import { kAffineValues, randomAffine } from './augment.js';
import type { FitOptions, GpuTrainer, TrainProgress } from './gpu-trainer.js';
import { CpuEngine } from '../reference/cpu-engine.js';
import { parameterLayout } from './network.js';
import { lossName } from './record.js';
import { predict, Replica } from './replica.js';
import { sgdStep } from './sgd.js';
import { checkPositive, trainerSettings, type SharedTrainerOptions } from './trainer-settings.js';

/** What both trainers offer (the GPU trainer's interface). */
export type Trainer = GpuTrainer;

/** The GPU trainer's options, less the device. */
export type CpuTrainerOptions = SharedTrainerOptions;

/**
 * Softmax cross-entropy of one image's scores (logits, or RBF distances taken negated), the
 * loss both trainers minimise.
 *
 * @example
 * crossEntropy(new Float32Array(10), 3, false); // ln 10 ≈ 2.3026
 */
export function crossEntropy(scores: ArrayLike<number>, label: number, distances: boolean): number {
  const sign = distances ? -1 : 1;
  let largest = -Infinity;
  for (let k = 0; k < scores.length; k++) largest = Math.max(largest, sign * scores[k]!);
  let sum = 0;
  for (let k = 0; k < scores.length; k++) sum += Math.exp(sign * scores[k]! - largest);
  return Math.log(sum) + largest - sign * scores[label]!;
}

/**
 * A CPU trainer for `source` (weights to fine-tune, or a model to start from seeded random
 * weights), with the GPU trainer's defaults and interface.
 *
 * @example
 * const trainer = createCpuTrainer(presetModel('seed')!, { train, test, batch: 32 });
 * await trainer.fit({ steps: 10, onProgress: (p) => console.log(p.loss) });
 * console.log((await trainer.evaluate()).accuracy);
 */
export function createCpuTrainer(source: ModelWeights | ModelSpec | ArchitectureJson, options: CpuTrainerOptions): Trainer {
  const settings = trainerSettings(source, options, 'the CPU trainer');
  const { seed, initial, spec, preprocessing, batch, momentum, weightDecay, stepsPerEpoch, learningRate } = settings;
  const kind = settings.optimizer;
  const train = options.train;

  const layout = parameterLayout(spec);
  const params = new Float32Array(layout.size);
  const grads = new Float32Array(layout.size);
  for (const [name, at] of layout.offsets) params.set(initial.tensors.get(name)!, at.offset);
  const fixed = new Map(spec.tensors.filter((t) => !t.trainable).map((t) => [t.name, initial.tensors.get(t.name)!] as const));
  // Network refuses what it cannot train (softmax outputs, standalone scale-shift) by name.
  const replica = new Replica(spec, preprocessing, params, grads, fixed);
  const adam = kind === 'adam' ? new Adam(layout.size, kAdamDefaults) : null;
  const velocity = kind === 'sgd' ? new Float32Array(layout.size) : null;
  const augment = options.augment ?? null;
  const shuffle = options.shuffle ?? true;
  const random = new Prng(seed * 2654435761 + 1); // trainer.ts's stream for data order
  const order = new Int32Array(train.count);
  const affine = augment ? new Float32Array(train.count * kAffineValues) : null;
  let steps = 0;
  let orderEpoch = 0;
  let destroyed = false;
  let totals = { lossSum: 0, correct: 0, images: 0 };

  const live = () => {
    if (destroyed) throw new InputError('this trainer was destroyed');
  };
  const ensureOrder = (epoch: number) => {
    while (orderEpoch < epoch) {
      orderEpoch++;
      for (let i = 0; i < order.length; i++) order[i] = i;
      if (shuffle) random.shuffle(order);
      if (augment && affine) for (let i = 0; i < train.count; i++) randomAffine(random, augment, affine, i * kAffineValues);
    }
  };
  const oneStep = () => {
    ensureOrder(Math.floor(steps / stepsPerEpoch) + 1);
    const from = (steps % stepsPerEpoch) * batch;
    const to = Math.min(train.count, from + batch);
    const result = replica.gradients(train, order, from, to, affine);
    const rate = learningRate(steps);
    if (adam) {
      if (weightDecay !== 0) for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! + weightDecay * (to - from) * params[i]!;
      adam.step(params, grads, rate, 1 / (to - from));
    } else {
      for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! / (to - from);
      sgdStep(params, grads, velocity!, rate, { momentum, weightDecay });
    }
    totals.lossSum += result.lossSum;
    totals.correct += result.correct;
    totals.images += to - from;
    steps++;
  };
  const takeTotals = () => {
    const taken = totals;
    totals = { lossSum: 0, correct: 0, images: 0 };
    return { loss: taken.images ? taken.lossSum / taken.images : NaN, accuracy: taken.images ? taken.correct / taken.images : NaN, images: taken.images };
  };
  const weights = async (): Promise<ModelWeights> => {
    live();
    const tensors = new Map(initial.tensors);
    for (const [name, at] of layout.offsets) tensors.set(name, params.slice(at.offset, at.offset + at.length));
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
      for (let k = 0; k < count; k++) oneStep();
    },
    async fit(fit: FitOptions) {
      live();
      const total = fit.steps ?? (fit.epochs ?? 0) * stepsPerEpoch;
      checkPositive(fit.steps !== undefined ? 'steps' : 'epochs', fit.steps ?? fit.epochs ?? 0, true);
      const reportEvery = fit.reportEvery ?? 64;
      checkPositive('reportEvery', reportEvery, true);
      takeTotals();
      let last: TrainProgress | null = null;
      let since = performance.now();
      for (let done = 1; done <= total; done++) {
        oneStep();
        if (done % reportEvery === 0 || done === total) {
          const now = performance.now();
          const { loss, accuracy, images } = takeTotals();
          last = { epoch: Math.floor((steps - 1) / stepsPerEpoch) + 1, steps, loss, accuracy, imagesPerSecond: images / ((now - since) / 1000) };
          fit.onProgress?.(last);
          since = now;
        }
      }
      return last;
    },
    async evaluate() {
      live();
      const test = options.test;
      if (!test) throw new InputError('evaluate needs a test set: pass `test` to createCpuTrainer');
      const distances = classIsSmallest(spec.output);
      let lossSum = 0;
      let correct = 0;
      for (let i = 0; i < test.count; i++) {
        const scores = replica.scores(test, i).subarray(0, kClasses);
        lossSum += crossEntropy(scores, test.labels[i]!, distances);
        if (predict(scores, spec.output) === test.labels[i]) correct++;
      }
      return { loss: lossSum / test.count, accuracy: correct / test.count };
    },
    weights,
    async exportWeights(extraMetadata = {}) {
      const trained = await weights();
      const { ['lenet5.init']: _init, ...inherited } = initial.metadata;
      return saveWeights(
        { ...trained, metadata: settings.fineTuning ? inherited : initial.metadata },
        {
          'lenet5.train.device': 'cpu',
          'lenet5.train.optimizer': settings.optimizerRecord,
          'lenet5.train.steps': String(steps),
          'lenet5.train.seed': String(seed),
          'lenet5.train.shuffle': shuffle ? 'seeded shuffle per epoch' : 'none (training file order)',
          'lenet5.train.augmentation': augment
            ? `random affine: rotation ±${augment.rotation}°, scale ±${augment.scale * 100}% per axis, shear ±${augment.shear}, shift ±${augment.shift} px (bilinear)`
            : 'none',
          'lenet5.train.images': String(train.count),
          'lenet5.train.loss': `${lossName(spec.output)} (mean over the batch)`,
          'lenet5.train.init': settings.fineTuning ? `fine-tuned from ${initial.metadata['lenet5.train.command'] ?? 'a weights file'}` : (initial.metadata['lenet5.init'] ?? 'randomWeights'),
          ...extraMetadata,
        },
      );
    },
    /** A CPU engine (the reference) over a snapshot of the weights now: the trainer's own device is the CPU. */
    async engine() {
      return new CpuEngine(await weights());
    },
    destroy() {
      destroyed = true;
    },
  };
}
