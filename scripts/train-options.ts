/**
 * The one flag table of `npm run train` (the CPU trainer, scripts/train.ts) and
 * `npm run train -- --gpu` (scripts/train-gpu.ts): both read their command line here, so a
 * flag means the same on both and a run can be repeated on the other trainer by adding or
 * removing `--gpu`. A flag only one trainer has is refused by the other with a line saying so.
 */
import { readFileSync } from 'node:fs';
import { InputError, ModelMismatchError } from '../src/errors.js';
import { architectureOption, loadWeights } from '../src/formats/load.js';
import { architectureJsonOf } from '../src/model/architecture.js';
import type { ModelWeights } from '../src/model/model-weights.js';
import { classicModel, kPresetNames } from '../src/model/presets.js';
import type { ModelSpec } from '../src/model/spec.js';
import { kDefaultAugment, type AugmentOptions } from '../src/train/augment.js';
import { checkSameModel } from '../src/train/gpu-trainer.js';
import { kDefaultLearningRate } from '../src/train/trainer-settings.js';
import { parseCommandLine, positiveInteger, UsageError } from './cli.js';

/** Which trainer a command line runs. */
export type TrainerKind = 'cpu' | 'gpu';

/** Everything both trainers take, checked. */
export interface TrainCommand {
  readonly trainer: TrainerKind;
  readonly help: boolean;
  readonly spec: ModelSpec;
  /** Start from these weights (--init), checked to be `spec`'s. */
  readonly initial?: ModelWeights;
  readonly optimizer: 'sgd' | 'adam';
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly batch: number;
  /** Epochs to train, and of the cosine schedule. */
  readonly epochs: number;
  /** Stop after this many optimizer steps. */
  readonly steps?: number;
  readonly constantLr: boolean;
  readonly finalLrRatio: number;
  readonly shuffle: boolean;
  readonly augment: AugmentOptions | null;
  readonly seed: number;
  readonly limit?: number;
  readonly out?: string;
  /** GPU: read the loss back every this many steps. */
  readonly report: number;
  /** CPU: worker threads. */
  readonly workers: number;
  /** CPU: stop after this epoch of the schedule. */
  readonly stopAfter?: number;
}

const kOptions = {
  gpu: { type: 'boolean', default: false },
  arch: { type: 'string' },
  model: { type: 'string' },
  activation: { type: 'string' },
  init: { type: 'string' },
  optimizer: { type: 'string', default: 'adam' },
  lr: { type: 'string' },
  momentum: { type: 'string', default: '0' },
  'weight-decay': { type: 'string', default: '0' },
  batch: { type: 'string', default: '32' },
  epochs: { type: 'string', default: '15' },
  steps: { type: 'string' },
  'constant-lr': { type: 'boolean', default: false },
  'final-lr-ratio': { type: 'string', default: '0.01' },
  'no-shuffle': { type: 'boolean', default: false },
  augment: { type: 'boolean', default: false },
  seed: { type: 'string', default: '1' },
  limit: { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  workers: { type: 'string' },
  'stop-after': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The flags only one trainer has: the other refuses them. */
const kOnlyOn: Readonly<Record<string, { trainer: TrainerKind; instead: string }>> = {
  report: { trainer: 'gpu', instead: 'the CPU trainer prints a progress line on a terminal and one line per epoch' },
  workers: { trainer: 'cpu', instead: 'the GPU trainer runs on one device' },
  'stop-after': { trainer: 'cpu', instead: 'on the GPU use --steps' },
};

export const kTrainHelp = `Trains a LeNet-family network on MNIST and writes a safetensors file with its training
record: on the CPU (worker threads; the reference), or with --gpu on the GPU (Node, through Dawn).
Both take the same flags and, from the same seed, draw the same batches. Loss: F.cross_entropy
(mean over the batch) on the logits, or on the negated distances for an RBF output.

usage: npm run train -- [--gpu] [options]

  --gpu                       train on the GPU instead of the CPU
  --arch A                    the network: a preset (${kPresetNames.join(', ')}), a JSON
                              description, or a .json file holding one (default seed)
  --model seed|classic        the older way to name the network (--arch wins when both are given)
  --activation sigmoid|scaled-tanh
                              the classic model's activation (default sigmoid)
  --init FILE                 start from this weights file (any file the engine loads: .pth,
                              .safetensors, .onnx), not from seeded random weights
  --optimizer sgd|adam        default adam (β1 0.9, β2 0.999, ε 1e-8)
  --lr X                      learning rate at the start (default 0.003 with adam, 0.1 with sgd)
  --momentum M                SGD momentum (default 0, as torch.optim.SGD)
  --weight-decay W            L2 weight decay added to the gradient (default 0)
  --batch B                   minibatch size (default 32)
  --epochs N                  epochs to train, and of the cosine schedule (default 15)
  --steps N                   stop after N optimizer steps (no test-set evaluation)
  --constant-lr               no cosine decay
  --final-lr-ratio R          cosine decay to lr × R by the schedule's end (default 0.01)
  --no-shuffle                batches in the training file's order
  --augment                   random affine distortions of the training images
  --seed S                    initialisation, shuffles and distortions (default 1)
  --limit N                   train on the first N training images only
  --out FILE                  where to write (CPU default weights/<model>.safetensors, rewritten
                              after every epoch as a checkpoint; GPU default <model>.gpu.safetensors)
  --report N                  GPU: read the loss back and print it every N steps (default 64)
  --workers W                 CPU: worker threads, 0 = the main thread (default 2)
  --stop-after E              CPU: stop after epoch E of the N-epoch schedule (that epoch's
                              checkpoint of a full run)
  -h, --help                  this text

Evaluates on the 10,000 test images after each epoch (not with --steps).
examples:
  npm run train -- --model seed --epochs 18 --augment --out /tmp/seed.safetensors
  npm run train -- --gpu --arch pytorch-tutorial --epochs 1
  npm run train -- --gpu --init lenet.pth --arch pytorch-tutorial --optimizer sgd --lr 0.1 \\
    --batch 64 --steps 1 --no-shuffle --out step.safetensors`;

function number(option: string, text: string, min: number, exclusive = false): number {
  const value = Number(text);
  if (!Number.isFinite(value) || (exclusive ? value <= min : value < min)) {
    throw new UsageError(`--${option} must be a number ${exclusive ? '>' : '≥'} ${min}, found '${text}'`);
  }
  return value;
}

function nonNegativeInteger(option: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${option} must be a non-negative integer, found '${text}'`);
  return value;
}

/** --arch: a preset name or JSON text as given, or the text of a .json file. */
function archText(arch: string | undefined): string | undefined {
  return arch !== undefined && arch.trim().toLowerCase().endsWith('.json') ? readFileSync(arch, 'utf8') : arch;
}

function specFrom(arch: string | undefined, model: string | undefined, activation: string | undefined): ModelSpec {
  if (arch !== undefined) return architectureOption(arch);
  const name = model ?? 'seed';
  if (name === 'classic') {
    const kind = activation ?? 'sigmoid';
    if (kind !== 'sigmoid' && kind !== 'scaled-tanh') throw new UsageError(`--activation must be 'sigmoid' or 'scaled-tanh', found '${kind}'`);
    return classicModel(kind);
  }
  if (name !== 'seed') throw new UsageError(`--model must be 'seed' or 'classic', found '${name}' (or use --arch)`);
  return architectureOption('seed');
}

/**
 * Reads `argv` (the arguments after `npm run train --`): every flag is checked, and the --init
 * file read, before any data or device is touched. Throws UsageError for a wrong command line.
 *
 * @example
 * const command = parseTrainCommand(['--gpu', '--arch', 'pytorch-tutorial', '--steps', '10']);
 * command.trainer; // 'gpu'
 */
export function parseTrainCommand(argv: readonly string[]): TrainCommand {
  const { values } = parseCommandLine({ args: [...argv], options: kOptions, strict: true });
  const trainer: TrainerKind = values.gpu ? 'gpu' : 'cpu';
  for (const [flag, only] of Object.entries(kOnlyOn)) {
    if ((values as Record<string, unknown>)[flag] !== undefined && only.trainer !== trainer) {
      throw new UsageError(`--${flag} is a ${only.trainer.toUpperCase()}-trainer option; ${only.instead}`);
    }
  }
  const optimizer = values.optimizer;
  if (optimizer !== 'sgd' && optimizer !== 'adam') throw new UsageError(`--optimizer must be 'sgd' or 'adam', found '${optimizer}'`);
  const momentum = number('momentum', values.momentum, 0);
  if (momentum >= 1) throw new UsageError(`--momentum must be below 1, found '${values.momentum}'`);
  if (optimizer === 'adam' && momentum !== 0) throw new UsageError('--momentum is an SGD option (--optimizer sgd); Adam has β1 instead');
  const help = values.help;
  const common: Omit<TrainCommand, 'spec' | 'initial'> = {
    trainer,
    help,
    optimizer,
    lr: number('lr', values.lr ?? String(kDefaultLearningRate[optimizer]), 0, true),
    momentum,
    weightDecay: number('weight-decay', values['weight-decay'], 0),
    batch: positiveInteger('batch', values.batch),
    epochs: positiveInteger('epochs', values.epochs),
    constantLr: values['constant-lr'],
    finalLrRatio: number('final-lr-ratio', values['final-lr-ratio'], 0, true),
    shuffle: !values['no-shuffle'],
    augment: values.augment ? kDefaultAugment : null,
    seed: nonNegativeInteger('seed', values.seed),
    report: positiveInteger('report', values.report ?? '64'),
    workers: nonNegativeInteger('workers', values.workers ?? '2'),
    ...(values.steps === undefined ? {} : { steps: positiveInteger('steps', values.steps) }),
    ...(values.limit === undefined ? {} : { limit: positiveInteger('limit', values.limit) }),
    ...(values['stop-after'] === undefined ? {} : { stopAfter: positiveInteger('stop-after', values['stop-after']) }),
    ...(values.out === undefined ? {} : { out: values.out }),
  };
  if (help) return { ...common, spec: architectureOption('seed') };
  const arch = archText(values.arch);
  let spec: ModelSpec;
  try {
    spec = specFrom(arch, values.model, values.activation);
  } catch (e) {
    // A description that does not build is a wrong command line, said as the builder says it.
    if (e instanceof InputError || e instanceof ModelMismatchError) throw new UsageError(`--arch: ${e.message}`);
    throw e;
  }
  if (values.init === undefined) return { ...common, spec };
  const initial = loadWeights(new Uint8Array(readFileSync(values.init)), { architecture: arch ?? architectureJsonOf(spec) });
  checkSameModel(initial, spec);
  return { ...common, spec, initial };
}
