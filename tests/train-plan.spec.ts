/**
 * The GPU training plan (src/gpu/training-plan.ts) against the CPU trainer's network
 * (src/train/network.ts) on one minibatch of real MNIST images, for the seed, the classic
 * (trainable subsampling, C3's table, RBF output and its loss) and the PyTorch tutorial net
 * (ReLU, max pooling): the loss, every parameter's gradient and the input's, and
 * one SGD step; then a short run that must lower the loss.
 *
 * Tolerance, derived: both sides compute in float32 but sum in different orders and use
 * different exp (WGSL's against Math.exp rounded to float32), so each layer's values differ in
 * their last few bits and backward adds up to ~5,000 such terms per weight (conv1 over 7 images
 * of 28×28). Float32 relative rounding is 6·10⁻⁸; a few ULP per layer through 7 layers and a
 * sum of K terms each off by that amount moves a gradient by at most ~K·10⁻⁶·mean|term|, below
 * 10⁻⁴ of the tensor's largest gradient. So: |gpu − cpu| ≤ 10⁻⁴·max|cpu| + 10⁻³·|cpu|. A wrong
 * index or a missing term moves values by O(max) and fails by orders of magnitude.
 */
import { expect, test } from '@playwright/test';
import { compareFloats } from '../e2e/compare.js';
import type { KernelTarget } from '../shaders/conv5x5.js';
import { buildTrainingPlan } from '../src/gpu/training-plan.js';
import { preprocess } from '../src/model/preprocess.js';
import { presetModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import { kClasses } from '../src/model/spec.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { createTrainer } from '../src/train/gpu-trainer.js';
import { loadMnist } from '../src/train/mnist.js';
import { train } from '../src/train/trainer.js';
import { Network, parameterLayout } from '../src/train/network.js';

let device: GPUDevice;
test.beforeAll(async () => {
  device = (await nodeGpuDevice('train-plan.device')).device;
});
test.afterAll(() => device?.destroy());

/** Seven images: a prime count. */
const kBatch = 7;
const batch = loadMnist('train', kBatch);

function expectClose(label: string, actual: Float32Array, expected: Float32Array): void {
  const largest = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const result = compareFloats(label, actual, expected, [expected.length], { atol: 1e-4 * largest, rtol: 1e-3 });
  expect(result.mismatchCount, result.message).toBe(0);
  expect(largest, `${label}: the reference is not all zeros`).toBeGreaterThan(0);
}

// Caffe's LeNet (20 s here on SwiftShader) is checked against PyTorch in train-pytorch.spec.ts.
// The conv kernels written out for CPU implementations ('cpu-unrolled', 10–25 s to build on
// SwiftShader) for the seed (its connection table) and the tutorial net (every kernel).
const kPlanCases: ReadonlyArray<{ readonly name: string; readonly kernelTarget?: KernelTarget }> = [
  { name: 'seed' },
  { name: 'classic' },
  { name: 'pytorch-tutorial' },
  { name: 'seed', kernelTarget: 'cpu-unrolled' },
  { name: 'pytorch-tutorial', kernelTarget: 'cpu-unrolled' },
];
for (const { name, kernelTarget } of kPlanCases) {
  test(`${name}${kernelTarget ? ` (kernels for '${kernelTarget}')` : ''}: one GPU step's loss, gradients and SGD update equal the CPU network's`, async () => {
    const spec = presetModel(name)!;
    const weights = randomWeights(spec, 3);
    const preprocessing = weights.preprocessing;
    // CPU: per image, gradients of the summed loss; divided by N below (the mean, as F.cross_entropy).
    const layout = parameterLayout(spec);
    const params = new Float32Array(layout.size);
    for (const [tensor, at] of layout.offsets) params.set(weights.tensors.get(tensor)!, at.offset);
    const grads = new Float32Array(layout.size);
    const fixed = new Map(spec.tensors.filter((t) => !t.trainable).map((t) => [t.name, weights.tensors.get(t.name)!] as const));
    const network = new Network(spec, params, grads, fixed, true);
    const input = preprocess(batch.images.subarray(0, kBatch * 784), kBatch, preprocessing);
    const side = spec.inputSize * spec.inputSize;
    const inputGrad = new Float32Array(kBatch * side);
    let lossSum = 0;
    for (let n = 0; n < kBatch; n++) {
      network.forward(input.subarray(n * side, (n + 1) * side));
      lossSum += network.backward(batch.labels[n]!);
      inputGrad.set(network.inputGradient(), n * side);
    }
    for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! / kBatch;
    for (let i = 0; i < inputGrad.length; i++) inputGrad[i] = inputGrad[i]! / kBatch;

    const plan = await buildTrainingPlan(device, spec, weights.tensors, batch, null, {
      maxBatch: 8,
      optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 },
      preprocessing,
      inputGradient: true,
      ...(kernelTarget ? { kernelTarget } : {}),
    });
    try {
      const lr = 0.1;
      plan.train([{ count: kBatch, first: 0, learningRate: lr, correction1: 1, correction2Sqrt: 1 }]);
      const totals = await plan.readTrainingTotals();
      expect(totals.images).toBe(kBatch);
      expect(Math.abs(totals.lossSum - lossSum), `loss ${totals.lossSum} vs CPU ${lossSum}`).toBeLessThan(1e-4 * lossSum);
      const gpuGrads = await plan.readGradients();
      for (const [tensor, at] of layout.offsets) expectClose(`${tensor} gradient`, gpuGrads.get(tensor)!, grads.subarray(at.offset, at.offset + at.length));
      expectClose('input gradient', await plan.readInputGradient(kBatch), inputGrad);
      const updated = await plan.readParameters();
      for (const [tensor, at] of layout.offsets) {
        const before = weights.tensors.get(tensor)!;
        const expected = before.map((p, i) => p - lr * grads[at.offset + i]!);
        // The update's size is lr·gradient: compare the change, to the gradient's tolerance.
        expectClose(`${tensor} SGD change`, updated.get(tensor)!.map((p, i) => p - before[i]!), expected.map((p, i) => p - before[i]!));
      }
    } finally {
      plan.destroy();
    }
  });
}

test('the plan refuses a softmax output, batch norm, colour input and an unknown layer kind by name', async () => {
  const spec = presetModel('seed')!;
  const weights = randomWeights(spec, 1);
  const options = { maxBatch: 4, optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 } as const, preprocessing: weights.preprocessing };
  const withSoftmax = { ...spec, layers: [...spec.layers, { kind: 'softmax', name: 'prob', features: kClasses, log: false } as const] };
  await expect(buildTrainingPlan(device, withSoftmax, weights.tensors, batch, null, options)).rejects.toThrow(/softmax output/);
  for (const [preset, says] of [['d2l-lenet-bn', /does not train batch norm layers; expected a model of conv, pool, dense and RBF layers only, found \d+ batch norm layers in .*\('bn1'/], ['pytorch-cifar10-tutorial', /trains grey \(1-channel\) models .* takes 3 input channels/]] as const) {
    // The description as given (random weights fold a batch norm into its conv, leaving none to see).
    const described = presetModel(preset)!;
    const other = randomWeights(described, 1);
    await expect(buildTrainingPlan(device, described, other.tensors, batch, null, { ...options, preprocessing: other.preprocessing })).rejects.toThrow(says);
  }
  // Both trainers refuse it too, before any weights are made, with the same sentence.
  const bn = presetModel('d2l-lenet-bn')!;
  const images = loadMnist('train', 4);
  await expect(createTrainer(bn, { device, train: images })).rejects.toThrow(/the GPU trainer does not train batch norm layers; expected .* \('bn1'/);
  const cpuOptions = { spec: bn, epochs: 1, seed: 1, batch: 4, lr: 1e-3, finalLrRatio: 1, augment: null, workers: 0 };
  await expect(train(cpuOptions, images, images)).rejects.toThrow(/the CPU trainer does not train batch norm layers; expected .* \('bn1'/);
  const withMystery = { ...spec, layers: [{ kind: 'dropout', name: 'drop' } as unknown as (typeof spec.layers)[number], ...spec.layers] };
  await expect(buildTrainingPlan(device, withMystery, weights.tensors, batch, null, options)).rejects.toThrow(/layer kind 'dropout'/);
});
