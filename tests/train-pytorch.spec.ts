/**
 * The GPU trainer against PyTorch's autograd and torch.optim (fixtures made by
 * scripts/pytorch/make_train_fixtures.py; no PyTorch at run time): for the seed, the classic
 * (its RBF loss), the PyTorch tutorial net and Caffe's LeNet on the first four MNIST training
 * images, the loss, every parameter's gradient and the input's; for the seed, two SGD steps
 * (momentum, weight decay) and two Adam steps; and a 200-step SGD loss curve.
 *
 * Tolerances, derived: PyTorch (CPU, its own conv algorithms) and the GPU kernels compute in
 * float32 in different orders, so values differ by a few ULP per layer and gradients by sums of
 * those (see tests/train-plan.spec.ts): |gpu − torch| ≤ 10⁻⁴·max|torch| + 10⁻³·|torch| per
 * tensor. Optimizer steps use the issue's criterion: each tensor's change within 10⁻³ of its
 * largest change (Adam's first steps move nearly every weight by ≈ lr, so a relative bound on
 * the change itself would only measure ε-sized gradients' noise).
 */
import { expect, test } from '@playwright/test';
import { compareFloats } from '../e2e/compare.js';
import { buildTrainingPlan, type OptimizerOptions } from '../src/gpu/training-plan.js';
import { presetModel } from '../src/model/presets.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { formulaWeights, readTrainFixture } from './train-fixtures.js';
import type { StepValues } from '../shaders/elementwise.js';
import { buildArchitecture } from '../src/model/architecture.js';
import { createTrainer } from '../src/train/gpu-trainer.js';
import { loadMnist } from '../src/train/mnist.js';

/**
 * The 200-step curve's bound, per step, relative: each step's float32 rounding differs by
 * ~10⁻⁷ between the two sides and this run (SGD, lr 0.1, momentum 0.9, a small model) does not
 * amplify it (measured: 6.5·10⁻⁷ worst over 200 steps), while a step on other images, another
 * learning rate or a wrong momentum changes the loss in its second digit.
 */
const kCurveTolerance = 1e-4;

let device: GPUDevice;
test.beforeAll(async () => {
  device = (await nodeGpuDevice('train-pytorch.device')).device;
});
test.afterAll(() => device?.destroy());

const kBatch = 4;

function largest(values: Float32Array): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function expectClose(label: string, actual: Float32Array, expected: Float32Array, atolFraction = 1e-4, rtol = 1e-3): void {
  const scale = largest(expected);
  const result = compareFloats(label, actual, expected, [expected.length], { atol: atolFraction * scale, rtol });
  expect(result.mismatchCount, result.message).toBe(0);
  expect(scale, `${label}: the reference is not all zeros`).toBeGreaterThan(0);
}

function dataset(fixture: Map<string, Float32Array>) {
  return {
    images: Uint8Array.from(fixture.get('images')!),
    labels: Uint8Array.from(fixture.get('labels')!),
    count: kBatch,
  };
}

/** Caffe's ip1.weight gradient from its two autograd factors: Σ_n grad[n, o] · input[n, j]. */
function fromFactors(input: Float32Array, grad: Float32Array, inFeatures: number, outFeatures: number): Float32Array {
  const out = new Float32Array(inFeatures * outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    for (let j = 0; j < inFeatures; j++) {
      let sum = 0;
      for (let n = 0; n < kBatch; n++) sum += grad[n * outFeatures + o]! * input[n * inFeatures + j]!;
      out[o * inFeatures + j] = sum;
    }
  }
  return out;
}

for (const preset of ['seed', 'classic', 'pytorch-tutorial', 'caffe-lenet']) {
  test(`${preset}: loss, every gradient and the input's equal PyTorch's autograd`, async () => {
    const spec = presetModel(preset)!;
    const fixture = readTrainFixture(preset);
    const plan = await buildTrainingPlan(device, spec, formulaWeights(spec), dataset(fixture), null, {
      maxBatch: kBatch,
      optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 },
      preprocessing: spec.defaultPreprocessing,
      inputGradient: true,
    });
    try {
      plan.train([{ count: kBatch, first: 0, learningRate: 0, correction1: 1, correction2Sqrt: 1 }]);
      const totals = await plan.readTrainingTotals();
      const loss = fixture.get('loss')![0]!;
      expect(Math.abs(totals.lossSum / kBatch - loss), `mean loss ${totals.lossSum / kBatch} vs PyTorch ${loss}`).toBeLessThan(1e-5 * loss);
      const grads = await plan.readGradients();
      for (const [name, got] of grads) {
        const expected =
          preset === 'caffe-lenet' && name === 'ip1.weight'
            ? fromFactors(fixture.get('factor.ip1.input')!, fixture.get('factor.ip1.grad')!, 800, 500)
            : fixture.get(`grad.${name}`);
        expect(expected, `the fixture holds ${name}'s gradient`).toBeDefined();
        expectClose(`${name} gradient`, got, expected!);
      }
      expectClose('input gradient', await plan.readInputGradient(kBatch), fixture.get('grad.input')!);
    } finally {
      plan.destroy();
    }
  });
}

const optimizers: Array<{ kind: 'sgd' | 'adam'; optimizer: OptimizerOptions; steps: StepValues[] }> = [
  {
    kind: 'sgd',
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0.001 },
    steps: [1, 2].map(() => ({ count: kBatch, first: 0, learningRate: 0.1, correction1: 1, correction2Sqrt: 1 })),
  },
  {
    kind: 'adam',
    optimizer: { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.001 },
    steps: [1, 2].map((t) => ({ count: kBatch, first: 0, learningRate: 0.001, correction1: 1 - 0.9 ** t, correction2Sqrt: Math.sqrt(1 - 0.999 ** t) })),
  },
];

for (const { kind, optimizer, steps } of optimizers) {
  test(`seed: two ${kind === 'sgd' ? 'SGD (momentum 0.9, weight decay 0.001)' : 'Adam (weight decay 0.001)'} steps equal torch.optim's`, async () => {
    const spec = presetModel('seed')!;
    const fixture = readTrainFixture('seed');
    const initial = formulaWeights(spec);
    const plan = await buildTrainingPlan(device, spec, initial, dataset(fixture), null, { maxBatch: kBatch, optimizer, preprocessing: spec.defaultPreprocessing });
    try {
      plan.train(steps);
      const params = await plan.readParameters();
      for (const [name, got] of params) {
        const before = initial.get(name)!;
        const expected = fixture.get(`${kind}.${name}`)!;
        const change = (after: Float32Array) => after.map((v, i) => v - before[i]!);
        expectClose(`${name} after two ${kind} steps (change)`, change(got), change(expected), 1e-3, 0);
      }
    } finally {
      plan.destroy();
    }
  });
}

test('200 SGD steps track PyTorch loss curve step by step (small family member, batches of 16 in file order)', async () => {
  const spec = buildArchitecture({
    inputSize: 28,
    layers: [
      { type: 'pool', mode: 'average' },
      { type: 'conv', outChannels: 4, activation: 'sigmoid' },
      { type: 'pool', mode: 'max' },
      { type: 'dense', outFeatures: 10 },
    ],
  });
  const reference = readTrainFixture('curve').get('loss')!;
  const trainer = await createTrainer(
    { spec, preprocessing: spec.defaultPreprocessing, tensors: formulaWeights(spec), metadata: {} },
    { device, train: loadMnist('train', 200 * 16), batch: 16, optimizer: 'sgd', lr: 0.1, momentum: 0.9, schedule: 'constant', shuffle: false },
  );
  try {
    const losses: number[] = [];
    await trainer.fit({ steps: 200, reportEvery: 1, onProgress: (p) => losses.push(p.loss) });
    expect(losses).toHaveLength(200);
    let worst = 0;
    losses.forEach((loss, step) => {
      worst = Math.max(worst, Math.abs(loss - reference[step]!) / reference[step]!);
    });
    expect(worst, `worst relative step difference ${worst.toExponential(2)}`).toBeLessThan(kCurveTolerance);
    expect(losses[199], 'the loss falls').toBeLessThan(0.3 * losses[0]!);
  } finally {
    trainer.destroy();
  }
});
