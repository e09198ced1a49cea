/**
 * `npm run train -- --gpu …`: trains on the GPU (Node, through Dawn) with createTrainer
 * (src/train/gpu-trainer.ts) and writes a safetensors file with the training record. The CPU
 * trainer (scripts/train.ts without --gpu) stays the reference.
 *
 *   npm run train -- --gpu --arch pytorch-tutorial --epochs 1
 *   npm run train -- --gpu --init lenet.pth --arch pytorch-tutorial --optimizer sgd --lr 0.1 \
 *     --batch 64 --steps 1 --no-shuffle --out step.safetensors
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { architectureOption, loadWeights } from '../src/formats/load.js';
import { architectureJsonOf } from '../src/model/architecture.js';
import { classicModel, kPresetNames } from '../src/model/presets.js';
import type { ModelSpec } from '../src/model/spec.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { checkSameModel, createTrainer, type TrainProgress } from '../src/train/gpu-trainer.js';
import { loadMnist } from '../src/train/mnist.js';
import { kDefaultAugment } from '../src/train/augment.js';
import { formatSeconds } from '../src/train/trainer.js';
import { parseCommandLine, positiveInteger, runMain, UsageError } from './cli.js';

const kUsage = 'npm run train -- --gpu --help for usage';

export const kGpuHelp = `Trains a LeNet-family network on MNIST on the GPU (Node, Dawn) and writes a safetensors
file with its training record. Loss: F.cross_entropy (mean over the batch) on the logits, or on
the negated distances for an RBF output.

usage: npm run train -- --gpu [options]

  --arch A                    the network: a preset (${kPresetNames.join(', ')}), a JSON
                              description, or a .json file holding one (default seed)
  --model seed|classic        as the CPU trainer's (--arch wins when both are given)
  --activation sigmoid|scaled-tanh
                              the classic model's activation (default sigmoid)
  --init FILE                 start from this weights file (any file the engine loads: .pth,
                              .safetensors, .onnx), not from seeded random weights
  --optimizer sgd|adam        default adam
  --lr X                      learning rate at the start (default 0.001)
  --momentum M                SGD momentum (default 0, as torch.optim.SGD)
  --weight-decay W            L2 weight decay added to the gradient (default 0)
  --batch B                   minibatch size (default 32)
  --epochs N                  epochs to train, and of the cosine schedule (default 15)
  --steps N                   stop after N optimizer steps
  --constant-lr               no cosine decay
  --final-lr-ratio R          cosine decay to lr × R by the schedule's end (default 0.01)
  --no-shuffle                batches in the training file's order
  --augment                   random affine distortions (the CPU trainer's), applied on the GPU
  --seed S                    initialisation and shuffles (default 1)
  --limit N                   train on the first N training images only
  --report N                  read the loss back every N steps (default 64)
  --out FILE                  where to write (default <arch>.gpu.safetensors)
  -h, --help                  this text

Evaluates on the 10,000 test images after each epoch (not with --steps).`;

function number(option: string, text: string, min: number, exclusive = false): number {
  const value = Number(text);
  if (!Number.isFinite(value) || (exclusive ? value <= min : value < min)) {
    throw new UsageError(`--${option} must be a number ${exclusive ? '>' : '≥'} ${min}, found '${text}'`);
  }
  return value;
}

function optimizerOption(text: string): 'sgd' | 'adam' {
  if (text === 'sgd' || text === 'adam') return text;
  throw new UsageError(`--optimizer must be 'sgd' or 'adam', found '${text}'`);
}

/** --arch: a preset name or JSON text as given, or the text of a .json file. */
function archText(arch: string | undefined): string | undefined {
  return arch !== undefined && arch.trim().toLowerCase().endsWith('.json') ? readFileSync(arch, 'utf8') : arch;
}

function specFrom(values: { arch?: string | undefined; model?: string | undefined; activation?: string | undefined }): ModelSpec {
  const arch = archText(values.arch);
  if (arch !== undefined) return architectureOption(arch);
  const model = values.model ?? 'seed';
  if (model === 'classic') {
    const activation = values.activation ?? 'sigmoid';
    if (activation !== 'sigmoid' && activation !== 'scaled-tanh') throw new UsageError(`--activation must be 'sigmoid' or 'scaled-tanh', found '${activation}'`);
    return classicModel(activation);
  }
  if (model !== 'seed') throw new UsageError(`--model must be 'seed' or 'classic', found '${model}' (or use --arch)`);
  return architectureOption('seed');
}

/** Runs the GPU trainer on `argv` (the arguments after `npm run train --`, --gpu among them). */
export function trainOnGpu(argv: string[]): void {
  runMain('train --gpu', kUsage, async () => {
    const { values } = parseCommandLine({
      args: argv.filter((a) => a !== '--gpu'),
      options: {
        arch: { type: 'string' },
        model: { type: 'string' },
        activation: { type: 'string' },
        init: { type: 'string' },
        optimizer: { type: 'string', default: 'adam' },
        lr: { type: 'string', default: '0.001' },
        momentum: { type: 'string', default: '0' },
        'weight-decay': { type: 'string', default: '0' },
        batch: { type: 'string', default: '32' },
        epochs: { type: 'string', default: '15' },
        steps: { type: 'string' },
        'constant-lr': { type: 'boolean', default: false },
        'final-lr-ratio': { type: 'string', default: '0.01' },
        'no-shuffle': { type: 'boolean', default: false },
        seed: { type: 'string', default: '1' },
        limit: { type: 'string' },
        report: { type: 'string', default: '64' },
        out: { type: 'string' },
        augment: { type: 'boolean', default: false },
        workers: { type: 'string' },
        'stop-after': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(kGpuHelp);
      return;
    }
    if (values['stop-after'] !== undefined) throw new UsageError('--stop-after is a CPU-trainer option; on the GPU use --steps');
    const optimizer = optimizerOption(values.optimizer!);
    const spec = specFrom(values);
    const architecture = archText(values.arch) ?? architectureJsonOf(spec);
    const initial = values.init === undefined ? undefined : loadWeights(new Uint8Array(readFileSync(values.init)), { architecture });
    if (initial) checkSameModel(initial, spec);
    const epochs = positiveInteger('epochs', values.epochs!);
    const steps = values.steps === undefined ? undefined : positiveInteger('steps', values.steps);
    const limit = values.limit === undefined ? undefined : positiveInteger('limit', values.limit);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, found '${values.seed}'`);
    // Every option is checked before the data and the device are touched.
    const settings = {
      seed,
      batch: positiveInteger('batch', values.batch!),
      optimizer,
      lr: number('lr', values.lr!, 0, true),
      momentum: number('momentum', values.momentum!, 0),
      weightDecay: number('weight-decay', values['weight-decay']!, 0),
      schedule: values['constant-lr'] ? ('constant' as const) : { epochs, finalLrRatio: number('final-lr-ratio', values['final-lr-ratio']!, 0, true) },
      shuffle: !values['no-shuffle'],
      augment: values.augment ? kDefaultAugment : null,
    };
    const reportEvery = positiveInteger('report', values.report!);
    const trainSet = loadMnist('train', limit);
    const testSet = loadMnist('t10k');
    const { device, adapterName } = await nodeGpuDevice('lenet5.train.device');
    const started = performance.now();
    try {
      const trainer = await createTrainer(initial ?? spec, { device, train: trainSet, test: testSet, ...settings });
      console.log(
        `training ${spec.title} on ${adapterName}: ${trainSet.count} images, ${steps === undefined ? `${epochs} epochs` : `${steps} steps`}, ` +
          `batch ${values.batch}, ${optimizer} lr ${values.lr}${values['constant-lr'] ? '' : ` (cosine to ×${values['final-lr-ratio']})`}, seed ${seed}, ${values['no-shuffle'] ? 'no shuffle' : 'shuffled'}`,
      );
      const tty = process.stdout.isTTY === true;
      const show = (p: TrainProgress) => {
        const line = `epoch ${p.epoch}  step ${p.steps}  loss ${p.loss.toFixed(4)}  train ${(100 * p.accuracy).toFixed(2)}%  ${p.imagesPerSecond.toFixed(0)} images/s  elapsed ${formatSeconds((performance.now() - started) / 1000)}`;
        if (tty) process.stdout.write(`\r${line}\x1b[K`);
        else console.log(line);
      };
      let testAccuracy: number | null = null;
      if (steps !== undefined) {
        await trainer.fit({ steps, reportEvery, onProgress: show });
        if (tty) process.stdout.write('\n');
      } else {
        for (let epoch = 1; epoch <= epochs; epoch++) {
          await trainer.fit({ epochs: 1, reportEvery, onProgress: show });
          const result = await trainer.evaluate();
          testAccuracy = result.accuracy;
          if (tty) process.stdout.write('\n');
          console.log(`epoch ${epoch}/${epochs}  test ${(100 * result.accuracy).toFixed(2)}%  test loss ${result.loss.toFixed(4)}  elapsed ${formatSeconds((performance.now() - started) / 1000)}`);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const out = values.out ?? `${spec.id}.gpu.safetensors`;
      const bytes = await trainer.exportWeights({
        'lenet5.train.command': `npm run train -- ${argv.join(' ')}`.trim(),
        'lenet5.train.machine': `${adapterName}; ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`,
        'lenet5.train.time_s': seconds.toFixed(0),
        'lenet5.train.epochs': steps === undefined ? String(epochs) : `${(trainer.steps / trainer.stepsPerEpoch).toFixed(3)} (${trainer.steps} steps)`,
        ...(testAccuracy === null ? {} : { 'lenet5.train.test_accuracy': testAccuracy.toFixed(4) }),
        'lenet5.train.date': new Date().toISOString(),
      });
      writeFileSync(out, bytes);
      console.log(`${testAccuracy === null ? '' : `test accuracy ${(100 * testAccuracy).toFixed(2)}% `}in ${formatSeconds(seconds)}; wrote ${out}`);
      trainer.destroy();
    } finally {
      device.destroy();
    }
  });
}
