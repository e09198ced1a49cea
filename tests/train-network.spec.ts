/**
 * The trainer's network against the CPU reference (same model description, float32 vs
 * float64), and the trainer's determinism: the same seed gives the same weights, with the
 * work on the calling thread or split over worker threads.
 */
import { expect, test } from '@playwright/test';
import { classicModel, seedModel } from '../src/model/presets.js';
import type { ModelWeights } from '../src/model/model-weights.js';
import { preprocess } from '../src/model/preprocess.js';
import { randomWeights } from '../src/model/random.js';
import type { ModelSpec } from '../src/model/spec.js';
import { referenceForward } from '../src/reference/forward.js';
import { kDefaultAugment } from '../src/train/augment.js';
import { loadMnist } from '../src/train/mnist.js';
import { Network, parameterLayout } from '../src/train/network.js';
import { train, type TrainOptions } from '../src/train/trainer.js';

const kAtol = 1e-4;
const kRtol = 1e-4;

function flatParams(weights: ModelWeights): Float32Array {
  const layout = parameterLayout(weights.spec);
  const params = new Float32Array(layout.size);
  for (const [name, at] of layout.offsets) params.set(weights.tensors.get(name)!, at.offset);
  return params;
}

for (const spec of [seedModel, classicModel('sigmoid'), classicModel('scaled-tanh')] as ModelSpec[]) {
  test(`${spec.title}: trainer forward equals referenceForward on MNIST, layer by layer`, () => {
    const weights = randomWeights(spec, 42);
    const test10 = loadMnist('t10k', 10);
    const fixed = new Map(spec.tensors.filter((t) => !t.trainable).map((t) => [t.name, weights.tensors.get(t.name)!] as const));
    const network = new Network(spec, flatParams(weights), new Float32Array(parameterLayout(spec).size), fixed);
    const input = preprocess(test10.images, test10.count, weights.preprocessing);
    const reference = referenceForward(weights, input, test10.count);
    const side = spec.inputSize * spec.inputSize;
    const mismatches: string[] = [];
    for (let n = 0; n < test10.count; n++) {
      network.forward(input.subarray(n * side, (n + 1) * side));
      network.stages.forEach((stage) => {
        const expected = reference.get(stage.layer.name)!;
        const size = stage.output.length;
        for (let i = 0; i < size; i++) {
          const want = expected[n * size + i]!;
          const got = stage.output[i]!;
          if (!(Math.abs(got - want) <= kAtol + kRtol * Math.abs(want))) {
            mismatches.push(`${stage.layer.name} image ${n} [${i}]: expected ${want}, got ${got}`);
          }
        }
      });
    }
    expect(mismatches, `first mismatches: ${mismatches.slice(0, 4).join('; ')}`).toEqual([]);
  });
}

const trainSet = loadMnist('train', 96);
const testSet = loadMnist('t10k', 50);

async function trainedParams(options: Partial<TrainOptions> & { spec: ModelSpec }): Promise<Float32Array> {
  const result = await train(
    { epochs: 2, seed: 7, batch: 16, lr: 2e-3, finalLrRatio: 0.1, augment: kDefaultAugment, workers: 0, ...options },
    trainSet,
    testSet,
  );
  expect(result.history).toHaveLength(options.stopAfter ?? options.epochs ?? 2);
  return flatParams(result.weights);
}

test('same seed, same weights (main thread), and a different seed changes them', async () => {
  const spec = classicModel('scaled-tanh');
  const initial = flatParams(randomWeights(spec, 7));
  const a = await trainedParams({ spec });
  const b = await trainedParams({ spec });
  const c = await trainedParams({ spec, seed: 8 });
  expect(a.some((v, i) => v !== initial[i]), 'training changed nothing').toBe(true);
  expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), 'two runs with seed 7 differ').toBe(true);
  expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer)), 'seeds 7 and 8 gave identical weights').toBe(false);
});

test('same seed, same weights with two worker threads (fixed reduction order)', async () => {
  const a = await trainedParams({ spec: seedModel, workers: 2 });
  const b = await trainedParams({ spec: seedModel, workers: 2 });
  expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), 'two 2-worker runs with seed 7 differ').toBe(true);
  // The split only regroups float32 sums: the weights stay close to the single-thread run's.
  const single = await trainedParams({ spec: seedModel, workers: 0 });
  const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - single[i]!)), 0);
  expect(worst).toBeLessThan(1e-3);
});

test('--stop-after: stopping after epoch 1 of 2 gives the checkpoint a full run writes after epoch 1', async () => {
  const spec = seedModel;
  let checkpoint: Float32Array | null = null;
  await train(
    {
      spec, epochs: 2, seed: 3, batch: 16, lr: 2e-3, finalLrRatio: 0.1, augment: null, workers: 0,
      onEpoch: (record, weights) => {
        if (record.epoch === 1) checkpoint = flatParams(weights);
      },
    },
    trainSet,
    testSet,
  );
  const stopped = await trainedParams({ spec, seed: 3, augment: null, stopAfter: 1 });
  expect(checkpoint).not.toBeNull();
  expect(Buffer.from(stopped.buffer).equals(Buffer.from(checkpoint!.buffer))).toBe(true);
});

test('fine-tuning starts from the given weights, and refuses weights of another model', async () => {
  const spec = classicModel('scaled-tanh');
  const start = randomWeights(spec, 99);
  const result = await train(
    { spec, epochs: 1, seed: 1, batch: 16, lr: 1e-6, finalLrRatio: 1, augment: null, workers: 0, initial: start },
    trainSet,
    testSet,
  );
  // A tiny learning rate moves every weight by at most ~lr per step (Adam's step bound).
  const before = flatParams(start);
  const after = flatParams(result.weights);
  const moved = after.reduce((m, v, i) => Math.max(m, Math.abs(v - before[i]!)), 0);
  expect(moved).toBeGreaterThan(0);
  expect(moved).toBeLessThan(1e-4);
  await expect(
    train({ spec: seedModel, epochs: 1, seed: 1, batch: 16, lr: 1e-3, finalLrRatio: 1, augment: null, workers: 0, initial: start }, trainSet, testSet),
  ).rejects.toThrow(/initial weights are 'LeNet-5 classic/);
});
