/**
 * The training loop: seeded initialisation, per-epoch shuffles (and distortions), data-parallel
 * mini-batch gradients, Adam or SGD (torch.optim's semantics) with a cosine or constant
 * learning rate, and a test-set evaluation after every epoch. The reference of the GPU trainer
 * (gpu-trainer.ts), which takes the same options and draws the same batches. Everything random comes from the seed, so a run can be reproduced exactly (with the
 * same worker count: it fixes how the float32 gradient sums are grouped).
 */
import { InputError, ModelMismatchError } from '../errors.js';
import type { ModelWeights } from '../model/model-weights.js';
import { Prng } from '../model/prng.js';
import { randomWeights } from '../model/random.js';
import type { ModelSpec, Preprocessing } from '../model/spec.js';
import { Adam, cosineSchedule } from './adam.js';
import { kAffineValues, randomAffine, type AugmentOptions } from './augment.js';
import { parameterLayout } from './network.js';
import { ReplicaPool } from './parallel.js';
import { refuseBatchNorm } from './batch-norm.js';
import { sgdStep } from './sgd.js';
import type { ImageSet } from './replica.js';

export interface TrainOptions {
  readonly spec: ModelSpec;
  readonly preprocessing?: Preprocessing;
  /** Start from these weights (fine-tuning) instead of `randomWeights(spec, seed)`. */
  readonly initial?: ModelWeights;
  readonly epochs: number;
  /**
   * Stop after this many epochs of an `epochs`-long schedule (default: all). The weights then
   * equal the per-epoch checkpoint a full run writes at that epoch.
   */
  readonly stopAfter?: number;
  readonly seed: number;
  readonly batch: number;
  /** Learning rate at the start; decays (cosine) to lr · finalLrRatio. */
  readonly lr: number;
  readonly finalLrRatio: number;
  /** No decay: lr at every step (default false). */
  readonly constantLr?: boolean;
  /** 'adam' (default; β1 0.9, β2 0.999, ε 1e-8) or 'sgd' (sgd.ts). */
  readonly optimizer?: 'adam' | 'sgd';
  /** SGD's momentum (default 0, as torch.optim.SGD). */
  readonly momentum?: number;
  /** L2 weight decay added to the gradient, as torch.optim (default 0). */
  readonly weightDecay?: number;
  /** False: batches in the training set's order every epoch (default true: a seeded shuffle). */
  readonly shuffle?: boolean;
  /**
   * Stop after this many optimizer steps (no test-set evaluation then), past `epochs` if need
   * be, as the GPU trainer's `fit({ steps })`: `epochs` then only sets the schedule's length.
   */
  readonly steps?: number;
  /** Random distortions of the training images, or null for none. */
  readonly augment: AugmentOptions | null;
  /** Worker threads (0 = train on the calling thread). */
  readonly workers: number;
  /** Evaluate on the test set after each epoch (default true). */
  readonly evaluateEachEpoch?: boolean;
  /** Called with each progress line. */
  readonly log?: (line: string) => void;
  /** Called after every mini-batch step: the epoch, images done in it, their mean loss so far. */
  readonly onStep?: (epoch: number, imagesDone: number, meanLoss: number) => void;
  /** Called after each epoch with the weights so far (checkpoints). */
  readonly onEpoch?: (record: EpochRecord, weights: ModelWeights) => void;
}

export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly trainAccuracy: number;
  readonly testAccuracy: number | null;
  readonly seconds: number;
}

export interface TrainResult {
  readonly weights: ModelWeights;
  /** Final test accuracy in [0, 1], measured on the CPU by the trainer; null after a `steps` run. */
  readonly testAccuracy: number | null;
  /** Optimizer steps taken. */
  readonly steps: number;
  readonly seconds: number;
  readonly history: readonly EpochRecord[];
}

/**
 * Trains a model from scratch.
 *
 * @example
 * const { weights, testAccuracy } = await train(
 *   { spec: seedModel, epochs: 1, seed: 1, batch: 32, lr: 1e-3, finalLrRatio: 0.01, augment: null, workers: 2 },
 *   trainSet, testSet);
 */
export async function train(options: TrainOptions, trainSet: ImageSet, testSet: ImageSet): Promise<TrainResult> {
  const { spec, epochs, batch, workers } = options;
  refuseBatchNorm(spec, 'the CPU trainer');
  const preprocessing = options.preprocessing ?? spec.defaultPreprocessing;
  const initial = options.initial ?? randomWeights(spec, options.seed, { preprocessing });
  if (initial.spec.id !== spec.id || initial.spec.title !== spec.title) {
    throw new ModelMismatchError(`trainer: initial weights are '${initial.spec.title}', the run trains '${spec.title}'`);
  }
  const layout = parameterLayout(spec);
  const fixed = new Map(spec.tensors.filter((t) => !t.trainable).map((t) => [t.name, initial.tensors.get(t.name)!] as const));
  const pool = ReplicaPool.create({ spec, preprocessing, fixed, train: trainSet, test: testSet, workers });
  try {
    for (const [name, at] of layout.offsets) pool.params.set(initial.tensors.get(name)!, at.offset);
    // A fine-tuned model keeps its starting file's metadata, less the stale initialisation note.
    const { ['lenet5.init']: _staleInit, ...inherited } = initial.metadata;
    const startMetadata = options.initial ? inherited : initial.metadata;
    const snapshot = (): ModelWeights => {
      const tensors = new Map(initial.tensors);
      for (const [name, at] of layout.offsets) tensors.set(name, pool.params.slice(at.offset, at.offset + at.length));
      return { spec, preprocessing, tensors, metadata: startMetadata };
    };
    const update = optimizerStep(options, layout.size);
    const stepsPerEpoch = Math.ceil(trainSet.count / batch);
    const schedule = options.constantLr ? () => options.lr : cosineSchedule(options.lr, options.lr * options.finalLrRatio, epochs * stepsPerEpoch);
    const maxSteps = options.steps ?? Infinity;
    let steps = 0;
    // One stream for the data order and distortions, apart from the initialisation's.
    const random = new Prng(options.seed * 2654435761 + 1);
    const history: EpochRecord[] = [];
    const started = performance.now();
    let testAccuracy: number | null = null;
    // With `steps`, as the GPU trainer's fit({ steps }): past `epochs` if need be (the schedule then stays at its end).
    const lastEpoch = Math.min(options.steps === undefined ? epochs : Math.ceil(options.steps / stepsPerEpoch), options.stopAfter ?? Infinity);
    for (let epoch = 1; epoch <= lastEpoch; epoch++) {
      const order = pool.order;
      for (let i = 0; i < trainSet.count; i++) order[i] = i;
      if (options.shuffle !== false) random.shuffle(order);
      if (options.augment) {
        for (let i = 0; i < trainSet.count; i++) randomAffine(random, options.augment, pool.affine, i * kAffineValues);
      }
      let lossSum = 0;
      let correct = 0;
      let done = 0;
      for (let from = 0; from < trainSet.count && steps < maxSteps; from += batch) {
        const to = Math.min(trainSet.count, from + batch);
        const result = await pool.gradients(from, to, options.augment !== null);
        lossSum += result.lossSum;
        correct += result.correct;
        update(pool.params, pool.grads, schedule(steps), 1 / (to - from));
        steps++;
        done = to;
        options.onStep?.(epoch, to, lossSum / to);
      }
      const last = epoch === lastEpoch;
      const evaluate = options.steps === undefined && (last || options.evaluateEachEpoch !== false);
      const accuracy = evaluate ? (await pool.evaluate('test')) / testSet.count : null;
      if (accuracy !== null) testAccuracy = accuracy;
      const seconds = (performance.now() - started) / 1000;
      const record: EpochRecord = { epoch, loss: lossSum / done, trainAccuracy: correct / done, testAccuracy: accuracy, seconds };
      history.push(record);
      options.log?.(progressLine(record, epochs));
      options.onEpoch?.(record, snapshot());
    }
    const seconds = (performance.now() - started) / 1000;
    return { weights: snapshot(), testAccuracy, steps, seconds, history };
  } finally {
    await pool.close();
  }
}

/**
 * The update of the options' optimizer, over the summed gradient of a batch and its `scale`
 * (1 / batch size: the loss is the batch mean).
 */
function optimizerStep(options: TrainOptions, size: number): (params: Float32Array, sums: Float32Array, lr: number, scale: number) => void {
  const weightDecay = options.weightDecay ?? 0;
  const momentum = options.momentum ?? 0;
  if ((options.optimizer ?? 'adam') === 'adam') {
    if (momentum !== 0) throw new InputError('momentum is an SGD option; Adam has β1 instead');
    const adam = new Adam(size);
    return (params, sums, lr, scale) => adam.step(params, sums, lr, scale, weightDecay);
  }
  const velocity = new Float32Array(size);
  return (params, sums, lr, scale) => {
    for (let i = 0; i < sums.length; i++) sums[i] = sums[i]! * scale;
    sgdStep(params, sums, velocity, lr, { momentum, weightDecay });
  };
}

function progressLine(r: EpochRecord, epochs: number): string {
  const eta = (r.seconds / r.epoch) * (epochs - r.epoch);
  const test = r.testAccuracy === null ? '   —   ' : `${(100 * r.testAccuracy).toFixed(2)}%`;
  return (
    `epoch ${String(r.epoch).padStart(2)}/${epochs}  loss ${r.loss.toFixed(4)}  train ${(100 * r.trainAccuracy).toFixed(2)}%` +
    `  test ${test}  elapsed ${formatSeconds(r.seconds)}  eta ${formatSeconds(eta)}`
  );
}

/** 75 → '1m15s'. */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
