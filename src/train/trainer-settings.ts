/**
 * What both trainers (gpu-trainer.ts on the GPU, cpu-trainer.ts on one CPU thread) read from
 * their options, checked once here so that they refuse the same things with the same words:
 * the starting weights (the file to fine-tune, or seeded random weights for a model), the
 * optimizer and its settings, the batch and the learning-rate schedule.
 */
import { InputError } from '../errors.js';
import { buildArchitecture, type ArchitectureJson } from '../model/architecture.js';
import type { ModelWeights } from '../model/model-weights.js';
import { randomWeights } from '../model/random.js';
import type { ModelSpec, Preprocessing } from '../model/spec.js';
import { cosineSchedule } from './adam.js';
import { refuseBatchNorm } from './batch-norm.js';
import type { GpuTrainerOptions } from './gpu-trainer.js';

/**
 * The learning rate at the start of the cosine schedule when --lr is not given. The schedule
 * decays to lr × 0.01 by the run's end, so the start sits above the optimizers' constant-rate
 * habits: one epoch of the PyTorch tutorial net from PyTorch's default initialisation, batch 32,
 * reached 98.4–98.6% with Adam 0.003 and 98.0% with plain SGD 0.1 in PyTorch itself, against
 * 97.6–97.8% with Adam 0.001 (docs/training.md). The shipped recipes pass their own --lr; the
 * training page starts from Adam's.
 *
 * @example
 * kDefaultLearningRate.adam; // 0.003
 */
export const kDefaultLearningRate = { adam: 0.003, sgd: 0.1 } as const;

/** The options both trainers share (the GPU trainer adds its device and steps per submission). */
export type SharedTrainerOptions = Omit<GpuTrainerOptions, 'device' | 'stepsPerSubmit'>;

/** The options, checked and with their defaults. */
export interface TrainerSettings {
  readonly seed: number;
  readonly initial: ModelWeights;
  readonly spec: ModelSpec;
  readonly preprocessing: Preprocessing;
  readonly batch: number;
  readonly lr: number;
  readonly optimizer: 'sgd' | 'adam';
  readonly momentum: number;
  readonly weightDecay: number;
  readonly stepsPerEpoch: number;
  /** The learning rate of optimizer step `step` (0-based): constant, or cosine as the CPU trainer's. */
  readonly learningRate: (step: number) => number;
  /** True when the source was weights (fine-tuning), false for seeded random weights. */
  readonly fineTuning: boolean;
  /** The training record's optimizer line: optimizer, batch, learning rate and schedule in words. */
  readonly optimizerRecord: string;
}

/** `value` is a positive number (an integer where `integer`), else an InputError naming it. */
export function checkPositive(name: string, value: number, integer: boolean): void {
  if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) {
    throw new InputError(`${name} must be a positive ${integer ? 'integer' : 'number'}, found ${value}`);
  }
}

function isWeights(source: unknown): source is ModelWeights {
  return typeof source === 'object' && source !== null && 'spec' in source && 'tensors' in source;
}

function isSpec(source: unknown): source is ModelSpec {
  return typeof source === 'object' && source !== null && 'tensors' in source && 'layers' in source && 'defaultPreprocessing' in source;
}

/**
 * Checks a trainer's options and resolves its starting weights. `trainer` names it in errors
 * ('the GPU trainer').
 *
 * @example
 * const { initial, batch, learningRate } = trainerSettings(seedModel, { train, lr: 0.01 }, 'the CPU trainer');
 */
export function trainerSettings(source: ModelWeights | ModelSpec | ArchitectureJson, options: SharedTrainerOptions, trainer: string): TrainerSettings {
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0) throw new InputError(`seed must be a non-negative integer, found ${seed}`);
  const described = isWeights(source) ? source.spec : isSpec(source) ? source : buildArchitecture(source);
  // Checked before random weights fold a batch norm into its layer, where no planner sees it.
  refuseBatchNorm(described, trainer);
  const initial = isWeights(source) ? source : randomWeights(described, seed, options.preprocessing ? { preprocessing: options.preprocessing } : {});
  const batch = options.batch ?? 32;
  checkPositive('batch', batch, true);
  const lr = options.lr ?? 0.001;
  checkPositive('lr', lr, false);
  const momentum = options.momentum ?? 0;
  const weightDecay = options.weightDecay ?? 0;
  if (!(momentum >= 0 && momentum < 1)) throw new InputError(`momentum must be in [0, 1), found ${momentum}`);
  if (!(weightDecay >= 0 && Number.isFinite(weightDecay))) throw new InputError(`weightDecay must be a non-negative number, found ${weightDecay}`);
  const optimizer = options.optimizer ?? 'adam';
  if (optimizer !== 'sgd' && optimizer !== 'adam') throw new InputError(`optimizer must be 'sgd' or 'adam', found '${String(optimizer)}'`);
  if (optimizer === 'adam' && momentum !== 0) throw new InputError('momentum is an SGD option; Adam has β1 instead');
  const stepsPerEpoch = Math.ceil(options.train.count / batch);
  const schedule = options.schedule ?? { epochs: 1 };
  if (schedule !== 'constant') checkPositive('schedule.epochs', schedule.epochs, true);
  const learningRate =
    schedule === 'constant' ? () => lr : cosineSchedule(lr, lr * (schedule.finalLrRatio ?? 0.01), schedule.epochs * stepsPerEpoch);
  const optimizerWords =
    optimizer === 'adam' ? `Adam (β1 0.9, β2 0.999, ε 1e-8, weight decay ${weightDecay})` : `SGD (momentum ${momentum}, weight decay ${weightDecay})`;
  const scheduleWords = schedule === 'constant' ? 'constant' : `cosine over ${schedule.epochs} epochs to ×${schedule.finalLrRatio ?? 0.01}`;
  return {
    seed,
    initial,
    spec: initial.spec,
    preprocessing: options.preprocessing ?? initial.preprocessing,
    batch,
    lr,
    optimizer,
    momentum,
    weightDecay,
    stepsPerEpoch,
    learningRate,
    fineTuning: isWeights(source),
    optimizerRecord: `${optimizerWords}, batch ${batch}, lr ${lr} ${scheduleWords}`,
  };
}
