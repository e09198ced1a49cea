/**
 * `npm run train -- --gpu …`: trains on the GPU (Node, through Dawn) with createTrainer
 * (src/train/gpu-trainer.ts) and writes a safetensors file with the training record. The CPU
 * trainer (scripts/train.ts without --gpu) stays the reference; both read their flags in
 * scripts/train-options.ts.
 *
 *   npm run train -- --gpu --arch pytorch-tutorial --epochs 1
 *   npm run train -- --gpu --init lenet.pth --arch pytorch-tutorial --optimizer sgd --lr 0.1 \
 *     --batch 64 --steps 1 --no-shuffle --out step.safetensors
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { trainingKernelTargetOf } from '../src/gpu/device.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { createTrainer, type TrainProgress } from '../src/train/gpu-trainer.js';
import { loadMnist } from '../src/train/mnist.js';
import { formatSeconds } from '../src/train/trainer.js';
import type { TrainCommand } from './train-options.js';

/**
 * Runs of at least this many optimizer steps take `trainingKernelTargetOf(device)`'s kernels;
 * shorter ones (the one-step check, the tests' few steps) the 'gpu' blocks, built in a second
 * or two. At batch 64 the written-out kernels save the seed about 0.1 s a step on SwiftShader
 * for 10–50 s more build: even after a few hundred steps.
 */
const kUnrolledMinSteps = 500;

/**
 * Runs the GPU trainer on a parsed command line (scripts/train-options.ts).
 *
 * @example
 * await trainOnGpu(parseTrainCommand(['--gpu', '--arch', 'pytorch-tutorial', '--epochs', '1']), argv);
 */
export async function trainOnGpu(command: TrainCommand, argv: readonly string[]): Promise<void> {
  const { spec, initial, steps, epochs, limit, seed, optimizer } = command;
  const settings = {
    seed,
    batch: command.batch,
    optimizer,
    lr: command.lr,
    momentum: command.momentum,
    weightDecay: command.weightDecay,
    schedule: command.constantLr ? ('constant' as const) : { epochs, finalLrRatio: command.finalLrRatio },
    shuffle: command.shuffle,
    augment: command.augment,
  };
  const reportEvery = command.report;
  const trainSet = loadMnist('train', limit);
  const testSet = loadMnist('t10k');
  const { device, adapterName } = await nodeGpuDevice('lenet5.train.device');
  const started = performance.now();
  try {
    // A long run on a CPU implementation takes the written-out kernels: their longer build
    // (10–50 s on SwiftShader) pays for itself within a few hundred steps.
    const plannedSteps = steps ?? epochs * Math.ceil(trainSet.count / command.batch);
    const kernelTarget = plannedSteps >= kUnrolledMinSteps ? trainingKernelTargetOf(device) : 'gpu';
    const trainer = await createTrainer(initial ?? spec, { device, train: trainSet, test: testSet, ...settings, kernelTarget });
    console.log(
      `training ${spec.title} on ${adapterName}: ${trainSet.count} images, ${steps === undefined ? `${epochs} epochs` : `${steps} steps`}, ` +
        `batch ${command.batch}, ${optimizer} lr ${command.lr}${command.constantLr ? '' : ` (cosine to ×${command.finalLrRatio})`}, seed ${seed}, ${command.shuffle ? 'shuffled' : 'no shuffle'}, ` +
        `kernels for '${kernelTarget}' (built in ${formatSeconds((performance.now() - started) / 1000)})`,
    );
    const tty = process.stdout.isTTY === true;
    const show = (p: TrainProgress) => {
      const line = `epoch ${p.epoch}  step ${p.steps}  loss ${p.loss.toFixed(6)}  train ${(100 * p.accuracy).toFixed(2)}%  ${p.imagesPerSecond.toFixed(0)} images/s  elapsed ${formatSeconds((performance.now() - started) / 1000)}`;
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
    const out = command.out ?? `${spec.id}.gpu.safetensors`;
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
}
