/**
 * Trains a LeNet-5 on MNIST on the CPU and writes a safetensors file with its training record.
 *
 *   npm run train -- --model classic|seed [--epochs N] [--seed S] [--out FILE] [--augment]
 *                    [--batch B] [--lr X] [--limit N] [--workers W] [--activation sigmoid|scaled-tanh]
 *                    [--init FILE]     (fine-tune: start from a weights file, not random weights)
 *                    [--stop-after E]  (the weights after E epochs of the N-epoch schedule: each
 *                                       epoch's checkpoint of a full run)
 *   npm run train -- --help             (every option, with its default)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { classicModel, seedModel } from '../src/model/presets.js';
import { kRbfBitmapsSource } from '../src/model/rbf-bitmaps.js';
import { kDefaultAugment } from '../src/train/augment.js';
import { loadMnist } from '../src/train/mnist.js';
import { formatSeconds, train } from '../src/train/trainer.js';
import { trainingMetadata } from '../src/train/record.js';
import { loadWeights, saveWeights } from '../src/formats/load.js';
import { trainOnGpu } from './train-gpu.js';

// --gpu: the GPU trainer (scripts/train-gpu.ts) with its own flags; this file is the CPU trainer.
if (process.argv.slice(2).includes('--gpu')) {
  trainOnGpu(process.argv.slice(2));
  await new Promise<never>(() => {}); // runMain exits the process when training ends
}

const kHelp = `Trains a LeNet-5 on MNIST on the CPU (worker threads) and writes a safetensors file with
its training record. Deterministic for a given seed and worker count.

usage: npm run train -- [options]

  --model seed|classic        the model (default seed)
  --activation sigmoid|scaled-tanh
                              the classic model's activation (default sigmoid)
  --epochs N                  epochs of the learning-rate schedule (default 15)
  --stop-after E              stop after epoch E of the N-epoch schedule: the checkpoint a
                              full run writes after epoch E
  --seed S                    initialisation, shuffles and distortions (default 1)
  --batch B                   mini-batch size (default 32)
  --lr X                      Adam's learning rate at the start (default 0.001)
  --final-lr-ratio R          cosine decay to lr × R by the last step (default 0.01)
  --augment                   random affine distortions of the training images
  --limit N                   train on the first N training images only
  --workers W                 worker threads, 0 = the main thread (default 2)
  --init FILE                 fine-tune: start from this weights file, not random weights
  --out FILE                  where to write (default weights/<model>.safetensors; rewritten
                              after every epoch as a checkpoint)
  --gpu                       train on the GPU instead (npm run train -- --gpu --help)
  -h, --help                  this text

Prints one line per epoch; on a terminal, a progress line within each epoch as well.
example: npm run train -- --model seed --epochs 18 --augment --out /tmp/seed.safetensors`;

function fail(message: string): never {
  console.error(`train: ${message} (npm run train -- --help for usage)`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      model: { type: 'string', default: 'seed' },
      activation: { type: 'string', default: 'sigmoid' },
      epochs: { type: 'string', default: '15' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      augment: { type: 'boolean', default: false },
      batch: { type: 'string', default: '32' },
      lr: { type: 'string', default: '0.001' },
      'final-lr-ratio': { type: 'string', default: '0.01' },
      limit: { type: 'string' },
      'stop-after': { type: 'string' },
      init: { type: 'string' },
      workers: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message);
}
if (values.help) {
  console.log(kHelp);
  process.exit(0);
}

function integer(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) fail(`--${name} must be an integer ≥ ${min}, found '${text}'`);
  return value;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!(value > 0 && Number.isFinite(value))) fail(`--${name} must be a positive number, found '${text}'`);
  return value;
}

const model = values.model;
if (model !== 'seed' && model !== 'classic') fail(`--model must be 'seed' or 'classic', found '${model}'`);
const activation = values.activation;
if (activation !== 'sigmoid' && activation !== 'scaled-tanh') fail(`--activation must be 'sigmoid' or 'scaled-tanh', found '${activation}'`);
const spec = model === 'seed' ? seedModel : classicModel(activation);
const options = {
  spec,
  epochs: integer('epochs', values.epochs!, 1),
  seed: integer('seed', values.seed!, 0),
  batch: integer('batch', values.batch!, 1),
  lr: positive('lr', values.lr!),
  finalLrRatio: positive('final-lr-ratio', values['final-lr-ratio']!),
  augment: values.augment ? kDefaultAugment : null,
  workers: integer('workers', values.workers!, 0),
  ...(values.init === undefined ? {} : { initial: loadWeights(readFileSync(values.init)) }),
  ...(values['stop-after'] === undefined ? {} : { stopAfter: integer('stop-after', values['stop-after'], 1) }),
  log: (line: string) => {
    progress.clear();
    console.log(line);
  },
};
const limit = values.limit === undefined ? undefined : integer('limit', values.limit, 1);
const out = values.out ?? `weights/${model}.safetensors`;

/**
 * On a terminal, one line rewritten in place within each epoch (at most 5 times a second):
 * images done, mean loss so far, speed and the epoch's remaining time. Nothing when the output
 * is a file or a pipe, whose log keeps one line per epoch.
 */
const progress = (() => {
  const tty = process.stdout.isTTY === true;
  let shown = false;
  let lastDraw = 0;
  let currentEpoch = 0;
  let firstStep = { at: 0, done: 0 };
  return {
    step(epoch: number, done: number, total: number, meanLoss: number): void {
      const now = performance.now();
      if (epoch !== currentEpoch) {
        // Speed is measured from the epoch's first step: a pool's warm-up is not in it.
        currentEpoch = epoch;
        firstStep = { at: now, done };
        return;
      }
      if (!tty || now - lastDraw < 200) return;
      lastDraw = now;
      const rate = (done - firstStep.done) / ((now - firstStep.at) / 1000);
      const line =
        `epoch ${epoch}/${options.epochs}  ${done.toLocaleString('en')}/${total.toLocaleString('en')} images` +
        `  loss ${meanLoss.toFixed(4)}  ${rate.toFixed(0)} images/s  epoch eta ${formatSeconds((total - done) / rate)}`;
      process.stdout.write(`\r${line.slice(0, Math.max(20, (process.stdout.columns || 100) - 1))}\x1b[K`);
      shown = true;
    },
    clear(): void {
      if (shown) process.stdout.write('\r\x1b[K');
      shown = false;
    },
  };
})();

const trainSet = loadMnist('train', limit);
const testSet = loadMnist('t10k');
console.log(
  `training ${spec.title}: ${trainSet.count} images, ${options.epochs} epochs, batch ${options.batch}, ` +
    `Adam lr ${options.lr} (cosine to ×${options.finalLrRatio}), seed ${options.seed}, ` +
    `${options.augment ? 'affine distortions' : 'no augmentation'}, ${options.workers} worker threads`,
);
const run = {
  command: `npm run train -- ${process.argv.slice(2).join(' ')}`.trim(),
  trainImages: trainSet.count,
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`,
  centres: kRbfBitmapsSource,
};
const started = performance.now();
// A checkpoint after every epoch: a long run stopped early still leaves usable weights.
const result = await train(
  {
    ...options,
    onStep: (epoch, done, meanLoss) => progress.step(epoch, done, trainSet.count, meanLoss),
    onEpoch: (record, weights) => {
      if (record.epoch === (options.stopAfter ?? options.epochs) || record.testAccuracy === null) return;
      const partial = { weights, testAccuracy: record.testAccuracy, seconds: (performance.now() - started) / 1000, history: [] };
      const metadata = trainingMetadata(partial, options, run);
      metadata['lenet5.train.epochs'] = `${record.epoch} of ${options.epochs}`;
      metadata['lenet5.train.command'] = `${run.command} --stop-after ${record.epoch}`;
      writeFileSync(out, saveWeights(weights, metadata));
    },
  },
  trainSet,
  testSet,
);
writeFileSync(out, saveWeights(result.weights, trainingMetadata(result, options, run)));
console.log(`test accuracy ${(100 * result.testAccuracy).toFixed(2)}% in ${formatSeconds(result.seconds)}; wrote ${out}`);
