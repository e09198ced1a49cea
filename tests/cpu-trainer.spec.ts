/**
 * The single-thread CPU trainer (src/train/cpu-trainer.ts, the training page's fallback
 * without WebGPU) against the CPU trainer of `npm run train` (src/train/trainer.ts, on the
 * calling thread: workers 0). Same seed, same shuffled and distorted MNIST batches, Adam with
 * the same cosine schedule, the same float operations in the same order: the weights must be
 * bit-identical and the epoch losses equal. SGD is checked against sgd.ts applied by hand.
 */
import { expect, test } from '@playwright/test';
import { loadWeights } from '../src/formats/load.js';
import { preprocess } from '../src/model/preprocess.js';
import { seedModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import { kDefaultAugment } from '../src/train/augment.js';
import { createCpuTrainer, crossEntropy } from '../src/train/cpu-trainer.js';
import { loadMnist } from '../src/train/mnist.js';
import { parameterLayout, Network } from '../src/train/network.js';
import { sgdStep } from '../src/train/sgd.js';
import { train } from '../src/train/trainer.js';
import type { TrainProgress } from '../src/train/gpu-trainer.js';

const trainSet = loadMnist('train', 96);
const testSet = loadMnist('t10k', 50);

test('Adam with distortions: the weights equal trainer.ts run on one thread, bit for bit', async () => {
  const run = { seed: 3, batch: 32, lr: 0.002, epochs: 2, finalLrRatio: 0.01 };
  const reference = await train({ spec: seedModel, ...run, augment: kDefaultAugment, workers: 0, evaluateEachEpoch: false }, trainSet, testSet);
  const trainer = createCpuTrainer(seedModel, {
    train: trainSet,
    test: testSet,
    seed: run.seed,
    batch: run.batch,
    lr: run.lr,
    schedule: { epochs: run.epochs, finalLrRatio: run.finalLrRatio },
    augment: kDefaultAugment,
  });
  const epochs: TrainProgress[] = [];
  await trainer.fit({ epochs: 2, reportEvery: trainer.stepsPerEpoch, onProgress: (p) => epochs.push(p) });
  expect(trainer.steps).toBe(6);
  expect(epochs.map((p) => p.epoch)).toEqual([1, 2]);
  expect(epochs.map((p) => p.loss)).toEqual(reference.history.map((h) => h.loss));
  expect(epochs.map((p) => p.accuracy)).toEqual(reference.history.map((h) => h.trainAccuracy));
  const trained = await trainer.weights();
  for (const t of seedModel.tensors) {
    expect(Array.from(trained.tensors.get(t.name)!), t.name).toEqual(Array.from(reference.weights.tensors.get(t.name)!));
  }
  const { accuracy } = await trainer.evaluate();
  expect(reference.testAccuracy).not.toBeNull();
  expect(accuracy).toBeCloseTo(reference.testAccuracy!, 10);
  // engine(): a CPU engine over the weights as trained, its classes those of the trained weights.
  const engine = await trainer.engine();
  const { classes } = await engine.infer(testSet.images, testSet.count);
  const correct = classes.reduce((n, c, i) => n + (c === testSet.labels[i] ? 1 : 0), 0);
  expect(correct / testSet.count).toBeCloseTo(accuracy, 10);
  engine.destroy();
});

test('SGD with momentum: one step equals sgd.ts on the mean gradient of the first batch', async () => {
  const initial = randomWeights(seedModel, 5);
  const trainer = createCpuTrainer(initial, { train: trainSet, optimizer: 'sgd', lr: 0.1, momentum: 0.9, batch: 16, shuffle: false, schedule: 'constant' });
  await trainer.step(1);
  // By hand: the summed gradient of images 0..15, divided by 16, one SGD step from zero velocity.
  const layout = parameterLayout(seedModel);
  const params = new Float32Array(layout.size);
  const grads = new Float32Array(layout.size);
  for (const [name, at] of layout.offsets) params.set(initial.tensors.get(name)!, at.offset);
  const network = new Network(seedModel, params, grads, new Map());
  for (let i = 0; i < 16; i++) {
    network.forward(preprocess(trainSet.images.subarray(i * 784, (i + 1) * 784), 1, initial.preprocessing));
    network.backward(trainSet.labels[i]!);
  }
  for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! / 16;
  sgdStep(params, grads, new Float32Array(layout.size), 0.1, { momentum: 0.9, weightDecay: 0 });
  const trained = await trainer.weights();
  let worst = 0;
  for (const [name, at] of layout.offsets) {
    const got = trained.tensors.get(name)!;
    for (let k = 0; k < at.length; k++) worst = Math.max(worst, Math.abs(got[k]! - params[at.offset + k]!));
  }
  expect(worst, 'largest difference from the hand-made step').toBeLessThan(1e-6);
});

test('exportWeights: a safetensors file the loader reads back, with the training record', async () => {
  const trainer = createCpuTrainer(seedModel, { train: trainSet, batch: 48, seed: 2 });
  await trainer.step(2);
  const loaded = loadWeights(await trainer.exportWeights({ 'lenet5.train.page': 'test' }));
  expect(loaded.spec.title).toBe(seedModel.title);
  expect(loaded.metadata['lenet5.train.device']).toBe('cpu');
  expect(loaded.metadata['lenet5.train.steps']).toBe('2');
  expect(loaded.metadata['lenet5.train.page']).toBe('test');
  const now = await trainer.weights();
  expect(Array.from(loaded.tensors.get('conv1.weight')!)).toEqual(Array.from(now.tensors.get('conv1.weight')!));
});

test('bad options are typed errors saying what was found', () => {
  expect(() => createCpuTrainer(seedModel, { train: trainSet, batch: 0 })).toThrow(/batch must be a positive integer, found 0/);
  expect(() => createCpuTrainer(seedModel, { train: trainSet, lr: -1 })).toThrow(/lr must be a positive number, found -1/);
  expect(() => createCpuTrainer(seedModel, { train: trainSet, optimizer: 'adam', momentum: 0.9 })).toThrow(/momentum is an SGD option/);
  const trainer = createCpuTrainer(seedModel, { train: trainSet });
  trainer.destroy();
  return expect(trainer.step()).rejects.toThrow(/destroyed/);
});

test('crossEntropy: logits and negated distances', () => {
  expect(crossEntropy(new Float32Array(10), 3, false)).toBeCloseTo(Math.log(10), 12);
  const logits = Float32Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const expected = -Math.log(Math.exp(2) / (Math.exp(2) + 9));
  expect(crossEntropy(logits, 0, false)).toBeCloseTo(expected, 6);
  expect(crossEntropy(logits.map((v) => -v), 0, true)).toBeCloseTo(expected, 6);
});
