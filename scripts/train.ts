/**
 * `npm run train`: trains a LeNet-family network on MNIST on the CPU (the reference trainer),
 * or with --gpu on the GPU (scripts/train-gpu.ts), and writes a safetensors file with its
 * training record. Both read their flags in scripts/train-options.ts.
 *
 *   npm run train -- --model seed --epochs 18 --augment --out /tmp/seed.safetensors
 *   npm run train -- --arch pytorch-tutorial --optimizer sgd --lr 0.05 --batch 64 --steps 100
 *   npm run train -- --help             (every option, with its default)
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { kRbfBitmapsSource } from '../src/model/rbf-bitmaps.js';
import { loadMnist } from '../src/train/mnist.js';
import { formatSeconds, train, type TrainOptions } from '../src/train/trainer.js';
import { optimizerName, trainingMetadata } from '../src/train/record.js';
import { saveWeights } from '../src/formats/load.js';
import { runMain } from './cli.js';
import { trainOnGpu } from './train-gpu.js';
import { kTrainHelp, parseTrainCommand, type TrainCommand } from './train-options.js';

/**
 * On a terminal, one line rewritten in place within each epoch (at most 5 times a second):
 * images done, mean loss so far, speed and the epoch's remaining time. Nothing when the output
 * is a file or a pipe, whose log keeps one line per epoch.
 */
function progressLine(epochs: number) {
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
        `epoch ${epoch}/${epochs}  ${done.toLocaleString('en')}/${total.toLocaleString('en')} images` +
        `  loss ${meanLoss.toFixed(4)}  ${rate.toFixed(0)} images/s  epoch eta ${formatSeconds((total - done) / rate)}`;
      process.stdout.write(`\r${line.slice(0, Math.max(20, (process.stdout.columns || 100) - 1))}\x1b[K`);
      shown = true;
    },
    clear(): void {
      if (shown) process.stdout.write('\r\x1b[K');
      shown = false;
    },
  };
}

async function trainOnCpu(command: TrainCommand, argv: readonly string[]): Promise<void> {
  const spec = command.initial?.spec ?? command.spec;
  const progress = progressLine(command.epochs);
  const options: TrainOptions = {
    spec,
    epochs: command.epochs,
    seed: command.seed,
    batch: command.batch,
    lr: command.lr,
    finalLrRatio: command.finalLrRatio,
    constantLr: command.constantLr,
    optimizer: command.optimizer,
    momentum: command.momentum,
    weightDecay: command.weightDecay,
    shuffle: command.shuffle,
    augment: command.augment,
    workers: command.workers,
    ...(command.initial ? { initial: command.initial } : {}),
    ...(command.stopAfter === undefined ? {} : { stopAfter: command.stopAfter }),
    ...(command.steps === undefined ? {} : { steps: command.steps }),
    log: (line: string) => {
      progress.clear();
      console.log(line);
    },
  };
  const out = command.out ?? `weights/${spec.id}.safetensors`;
  const trainSet = loadMnist('train', command.limit);
  const testSet = loadMnist('t10k');
  console.log(
    `training ${spec.title} on the CPU: ${trainSet.count} images, ${command.steps === undefined ? `${options.epochs} epochs` : `${command.steps} steps`}, ` +
      `batch ${options.batch}, ${optimizerName(options)} lr ${options.lr}${command.constantLr ? '' : ` (cosine to ×${options.finalLrRatio})`}, ` +
      `seed ${options.seed}, ${command.shuffle ? 'shuffled' : 'no shuffle'}, ${options.augment ? 'affine distortions' : 'no augmentation'}, ${options.workers} worker threads`,
  );
  const run = {
    command: `npm run train -- ${argv.join(' ')}`.trim(),
    trainImages: trainSet.count,
    machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`,
    centres: kRbfBitmapsSource,
  };
  const started = performance.now();
  let steps = 0;
  // A checkpoint after every epoch: a long run stopped early still leaves usable weights.
  const result = await train(
    {
      ...options,
      onStep: (epoch, done, meanLoss) => {
        steps++;
        progress.step(epoch, done, trainSet.count, meanLoss);
      },
      onEpoch: (record, weights) => {
        if (command.steps !== undefined) {
          // The same line as the GPU trainer's: the mean loss over the epoch's steps so far.
          console.log(`epoch ${record.epoch}  step ${steps}  loss ${record.loss.toFixed(6)}  train ${(100 * record.trainAccuracy).toFixed(2)}%`);
        }
        if (record.epoch === (options.stopAfter ?? options.epochs) || record.testAccuracy === null) return;
        const partial = { weights, testAccuracy: record.testAccuracy, steps, seconds: (performance.now() - started) / 1000, history: [] };
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
  const accuracy = result.testAccuracy === null ? '' : `test accuracy ${(100 * result.testAccuracy).toFixed(2)}% `;
  console.log(`${accuracy}in ${formatSeconds(result.seconds)}; wrote ${out}`);
}

const argv = process.argv.slice(2);
runMain('train', 'npm run train -- --help for usage', async () => {
  const command = parseTrainCommand(argv);
  if (command.help) console.log(kTrainHelp);
  else if (command.trainer === 'gpu') await trainOnGpu(command, argv);
  else await trainOnCpu(command, argv);
});
