/**
 * A short GPU training run (createTrainer, src/train/gpu-trainer.ts) against the CPU trainer
 * (src/train/trainer.ts) doing the same run: same seeded initialisation, the same shuffled
 * batches of real MNIST images, Adam with the same cosine schedule. The loss must fall, and
 * each epoch's mean loss and the final weights must track the CPU run's.
 *
 * The model is a small member of the family (pool, conv 1→4, pool, dense), so a hundred steps
 * take seconds on SwiftShader; every kernel kind it uses is the one the presets use.
 *
 * Tolerance, derived: the two runs differ by float32 rounding each step (GPU sums in other
 * orders; the CPU's Adam keeps its moments in float64), and Adam normalises each update to
 * ≈ lr whatever the gradient's size, so a weight whose gradient is near zero can take a
 * different sign of step on each side: at most lr per step for such a weight. Most weights have
 * gradients far from zero and agree closely; so we bound the mean and not the maximum: mean
 * |Δw| ≤ 1% of the mean |w| change the run made, and each epoch's mean loss within 1e-4
 * relative (measured here: 2·10⁻⁷). A wrong batch, schedule step or gradient changes an epoch's
 * loss in its second or third digit.
 */
import { expect, test } from '@playwright/test';
import { buildArchitecture } from '../src/model/architecture.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { createTrainer, type TrainProgress } from '../src/train/gpu-trainer.js';
import { loadMnist } from '../src/train/mnist.js';
import { randomWeights } from '../src/model/random.js';
import { kDefaultAugment } from '../src/train/augment.js';
import { train } from '../src/train/trainer.js';

const spec = buildArchitecture({
  inputSize: 28,
  layers: [
    { type: 'pool', mode: 'average' },
    { type: 'conv', outChannels: 4, activation: 'sigmoid' },
    { type: 'pool', mode: 'max' },
    { type: 'dense', outFeatures: 10 },
  ],
});
const trainSet = loadMnist('train', 160);
const testSet = loadMnist('t10k', 100);
const run = { seed: 7, batch: 16, lr: 0.03, epochs: 10, finalLrRatio: 0.01 };

test('100 Adam steps on the GPU lower the loss and track the CPU trainer on the same batches', async () => {
  const cpu = await train(
    { spec, epochs: run.epochs, seed: run.seed, batch: run.batch, lr: run.lr, finalLrRatio: run.finalLrRatio, augment: null, workers: 0, evaluateEachEpoch: false },
    trainSet,
    testSet,
  );
  const { device } = await nodeGpuDevice('train-run.device');
  try {
    const trainer = await createTrainer(spec, {
      device,
      train: trainSet,
      test: testSet,
      seed: run.seed,
      batch: run.batch,
      optimizer: 'adam',
      lr: run.lr,
      schedule: { epochs: run.epochs, finalLrRatio: run.finalLrRatio },
    });
    const epochs: TrainProgress[] = [];
    await trainer.fit({ epochs: run.epochs, reportEvery: trainer.stepsPerEpoch, onProgress: (p) => epochs.push(p) });
    expect(trainer.steps).toBe(100);
    expect(epochs.map((p) => p.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(epochs[9]!.loss, 'the loss falls').toBeLessThan(0.7 * epochs[0]!.loss);
    for (const [e, p] of epochs.entries()) {
      const reference = cpu.history[e]!.loss;
      expect(Math.abs(p.loss - reference), `epoch ${e + 1} loss ${p.loss} vs CPU ${reference}`).toBeLessThan(1e-4 * reference);
      expect(Math.abs(p.accuracy - cpu.history[e]!.trainAccuracy), `epoch ${e + 1} accuracy`).toBeLessThanOrEqual(2 / trainSet.count);
    }
    const weights = await trainer.weights();
    const initial = randomWeights(spec, run.seed);
    for (const t of spec.tensors) {
      const gpu = weights.tensors.get(t.name)!;
      const ref = cpu.weights.tensors.get(t.name)!;
      const start = initial.tensors.get(t.name)!;
      let diff = 0;
      let moved = 0;
      for (let i = 0; i < gpu.length; i++) {
        diff += Math.abs(gpu[i]! - ref[i]!);
        moved += Math.abs(ref[i]! - start[i]!);
      }
      expect(diff / moved, `${t.name}: mean |GPU − CPU| over mean |CPU change|`).toBeLessThan(0.01);
    }
    const evaluated = await trainer.evaluate();
    expect(evaluated.accuracy).toBeGreaterThan(0.5);
    trainer.destroy();
  } finally {
    device.destroy();
  }
});

test('a seeded GPU run is reproducible: two runs give the same bits', async () => {
  const { device } = await nodeGpuDevice('train-run.repeat.device');
  try {
    const runOnce = async () => {
      const trainer = await createTrainer(spec, { device, train: trainSet, seed: 11, batch: 16, optimizer: 'adam', lr: 0.01 });
      await trainer.step(10);
      const weights = await trainer.weights();
      trainer.destroy();
      return weights;
    };
    const [first, second] = [await runOnce(), await runOnce()];
    for (const t of spec.tensors) {
      expect(Buffer.from(second.tensors.get(t.name)!.buffer).equals(Buffer.from(first.tensors.get(t.name)!.buffer)), `${t.name} identical`).toBe(true);
    }
    const start = randomWeights(spec, 11).tensors.get(spec.tensors[0]!.name)!;
    expect(first.tensors.get(spec.tensors[0]!.name)!.some((v, i) => v !== start[i]), 'the run trained').toBe(true);
  } finally {
    device.destroy();
  }
});

test('with distortions, 20 GPU steps track the CPU trainer drawing the same distortions', async () => {
  const options = { seed: 5, batch: 16, lr: 0.01, epochs: 2, finalLrRatio: 0.1 };
  const cpu = await train({ spec, ...options, augment: kDefaultAugment, workers: 0, evaluateEachEpoch: false }, trainSet, testSet);
  const { device } = await nodeGpuDevice('train-run.augment.device');
  try {
    const trainer = await createTrainer(spec, {
      device, train: trainSet, seed: options.seed, batch: options.batch, optimizer: 'adam', lr: options.lr,
      schedule: { epochs: options.epochs, finalLrRatio: options.finalLrRatio }, augment: kDefaultAugment,
    });
    const epochs: TrainProgress[] = [];
    await trainer.fit({ epochs: options.epochs, reportEvery: trainer.stepsPerEpoch, onProgress: (p) => epochs.push(p) });
    // Bilinear sampling in float32 on the GPU against float64 on the CPU: the same tolerance.
    for (const [e, p] of epochs.entries()) {
      const reference = cpu.history[e]!.loss;
      expect(Math.abs(p.loss - reference), `epoch ${e + 1} loss ${p.loss} vs CPU ${reference}`).toBeLessThan(1e-4 * reference);
    }
    trainer.destroy();
  } finally {
    device.destroy();
  }
});
