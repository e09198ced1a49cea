/**
 * Every training kernel in WGSL (shaders/*-backward.ts, cross-entropy.ts, optimizers.ts,
 * gather-batch.ts) on
 * Dawn (SwiftShader here) against its CPU reference in src/train/ (layers.ts, sgd.ts,
 * adam.ts), on awkward sizes: prime batch counts, odd map sides, a connection table, padding
 * 0, 1 and 2.
 *
 * Tolerance, derived: the GPU and CPU sum the same float32 products in different orders (a
 * workgroup tree against a running sum). For K terms the two orders differ by at most about
 * K · 2⁻²⁴ · Σ|term| each; K ≤ 700 here and the terms are O(1), so an absolute 2·10⁻⁵ · Σ|term|
 * bound is below what either order can drift, yet a wrong index (a missing or doubled term of
 * size O(0.1)) breaks it by orders of magnitude. We compare with atol = 1e-5 · max|reference|
 * (+ 1e-6) and rtol = 1e-4: the scale of the tensor's values stands in for Σ|term|/K. WGSL's
 * exp (in the loss) is allowed a few ULP; 1e-4 relative covers it.
 */
import { expect, test } from '@playwright/test';
import { compareFloats, type Tolerance } from '../e2e/compare.js';
import { Prng } from '../src/model/prng.js';
import type { PoolMode } from '../src/model/spec.js';
import { connectionOffsets, denseTable } from '../src/model/spec.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { Adam } from '../src/train/adam.js';
import {
  activateInPlace,
  activationBackward as activationBackwardCpu,
  convBackward,
  convForward,
  denseBackward,
  maxPoolBackward,
  rbfBackward as rbfBackwardCpu,
  softmaxCrossEntropy,
  subsampleBackward,
  subsampleForward,
} from '../src/train/layers.js';
import { sgdStep } from '../src/train/sgd.js';
import { activationBackward } from '../shaders/activation-backward.js';
import { conv5x5, conv5x5Blocking, kMaxUnrolledMultiplyAdds } from '../shaders/conv5x5.js';
import { batchSum } from '../shaders/elementwise.js';
import {
  conv5x5BackwardBiasPartial,
  conv5x5BackwardWeightPartial,
  conv5x5BackwardWeightRows,
  conv5x5FlipWeights,
  conv5x5InputGradientConv,
  conv5x5WeightRowGroups,
  conv5x5WrittenOutWeightRows,
} from '../shaders/conv5x5-backward.js';
import { crossEntropy } from '../shaders/cross-entropy.js';
import { denseBackwardBias, denseBackwardInput, denseBackwardWeight } from '../shaders/dense-backward.js';
import { adam, sgd } from '../shaders/optimizers.js';
import { rbfBackward } from '../shaders/rbf-backward.js';
import { subsample2x2BackwardInput, subsample2x2BackwardParameter } from '../shaders/subsample2x2-backward.js';
import { batchStep, runTrainKernel } from './train-kernel-runner.js';
import { gatherBatch } from '../shaders/gather-batch.js';
import { preprocess } from '../src/model/preprocess.js';
import { kAffineValues, kDefaultAugment, randomAffine, warpImage } from '../src/train/augment.js';
import { loadMnist } from '../src/train/mnist.js';

let device: GPUDevice;
test.beforeAll(async () => {
  device = (await nodeGpuDevice('train-kernels.device')).device;
});
test.afterAll(() => device?.destroy());

function random(seed: number, length: number, low = -1, high = 1): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length }, () => prng.uniform(low, high));
}

/** The tolerance above for one tensor: atol scales with the reference's largest value. */
function tolerance(reference: Float32Array): Tolerance {
  const largest = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return { atol: 1e-6 + 1e-5 * largest, rtol: 1e-4 };
}

function expectClose(label: string, actual: Float32Array, expected: Float32Array, shape: readonly number[]): void {
  const result = compareFloats(label, actual.subarray(0, expected.length), expected, shape, tolerance(expected));
  expect(result.mismatchCount, result.message).toBe(0);
  // A kernel that writes nothing would compare zeros with zeros: the references are not all zero.
  expect(expected.some((v) => v !== 0), `${label}: the reference is not all zeros`).toBe(true);
}

test('activation backward equals the CPU reference for every activation', async () => {
  const n = 5;
  const perImage = 37;
  for (const activation of ['sigmoid', 'tanh', 'relu', 'scaled-tanh'] as const) {
    const output = random(1, n * perImage, -3, 3);
    activateInPlace(activation, output, output.length);
    const outputGrad = random(2, n * perImage);
    const expected = new Float32Array(n * perImage);
    activationBackwardCpu(activation, output, outputGrad, expected, expected.length);
    const kernel = activationBackward({ perImage, activation });
    const [got] = await runTrainKernel(device, kernel, [output, outputGrad, new Float32Array(n * perImage)], [batchStep(n)], [3]);
    expectClose(`${activation} backward`, got!, expected, [perImage]);
  }
});

/** LeNet-5's C3 connection table (LENET5.md): 60 kernels. */
const kSeedTable = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5], [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5], [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]];

const convCases = [
  { inChannels: 1, outChannels: 6, inSize: 13, padding: 2, n: 3 },
  { inChannels: 6, outChannels: 16, inSize: 9, padding: 0, n: 2, table: true },
  { inChannels: 3, outChannels: 5, inSize: 7, padding: 1, n: 5 },
];

for (const c of convCases) {
  test(`conv5x5 backward (${c.inChannels}→${c.outChannels}, ${c.inSize}×${c.inSize}, padding ${c.padding}${c.table ? ', C3 table' : ''}, N=${c.n}) equals convBackward`, async () => {
    const table = c.table ? kSeedTable : denseTable(c.inChannels, c.outChannels);
    const kernels = table.reduce((s, t) => s + t.length, 0);
    const outSize = c.inSize + 2 * c.padding - 4;
    const ps = c.inSize + 2 * c.padding;
    const input = random(3, c.n * c.inChannels * c.inSize * c.inSize);
    const weight = random(4, kernels * 25);
    const preGrad = random(5, c.n * c.outChannels * outSize * outSize);
    // CPU: per image on a zero-padded copy, input gradient cropped back.
    const geometry = { inChannels: c.inChannels, outChannels: c.outChannels, paddedSize: ps, outSize, table, kernelStart: connectionOffsets(table) };
    const weightGrad = new Float32Array(kernels * 25);
    const biasGrad = new Float32Array(c.outChannels);
    const inputGrad = new Float32Array(input.length);
    const bias = random(6, c.outChannels);
    const forward = new Float32Array(c.n * c.outChannels * outSize * outSize);
    const padded = new Float32Array(c.inChannels * ps * ps);
    const paddedGrad = new Float32Array(padded.length);
    const plane = c.inChannels * c.inSize * c.inSize;
    const outPlane = c.outChannels * outSize * outSize;
    for (let n = 0; n < c.n; n++) {
      padded.fill(0);
      for (let ch = 0; ch < c.inChannels; ch++) {
        for (let y = 0; y < c.inSize; y++) {
          for (let x = 0; x < c.inSize; x++) padded[(ch * ps + y + c.padding) * ps + x + c.padding] = input[n * plane + (ch * c.inSize + y) * c.inSize + x]!;
        }
      }
      convForward(geometry, padded, weight, bias, forward.subarray(n * outPlane, (n + 1) * outPlane));
      convBackward(geometry, padded, weight, preGrad.subarray(n * outPlane, (n + 1) * outPlane), weightGrad, biasGrad, paddedGrad);
      for (let ch = 0; ch < c.inChannels; ch++) {
        for (let y = 0; y < c.inSize; y++) {
          for (let x = 0; x < c.inSize; x++) inputGrad[n * plane + (ch * c.inSize + y) * c.inSize + x] = paddedGrad[(ch * ps + y + c.padding) * ps + x + c.padding]!;
        }
      }
    }
    const options = { inChannels: c.inChannels, outChannels: c.outChannels, inSize: c.inSize, padding: c.padding, ...(c.table ? { connectionTable: table } : {}) };
    const step = [batchStep(c.n)];
    // Input gradient: the kernels turned, then the forward conv over preGrad, in both block shapes.
    const [turned] = await runTrainKernel(device, conv5x5FlipWeights(options), [weight, new Float32Array(weight.length)], step, [2]);
    for (const target of ['cpu', 'cpu-unrolled', 'gpu'] as const) {
      const convOptions = conv5x5InputGradientConv(options, target);
      const { code, workgroups } = conv5x5(convOptions);
      const turnedConv = { kernel: 'conv5x5', options: convOptions, code, workgroups };
      const [gotInput] = await runTrainKernel(device, turnedConv, [preGrad, turned!, new Float32Array(c.inChannels), new Float32Array(input.length)], step, [4]);
      expectClose(`input gradient (${target} blocks)`, gotInput!, inputGrad, [c.inChannels, c.inSize, c.inSize]);
    }
    // The forward conv (the training plan's and the layered plan's) in every block shape.
    for (const target of ['cpu', 'cpu-unrolled', 'gpu'] as const) {
      const convOptions = { ...options, activation: 'none' as const, target };
      const { code, workgroups, blocking } = conv5x5(convOptions);
      expect(blocking.unrolled, `${target}: the input maps written out`).toBe(target === 'cpu-unrolled');
      const [gotForward] = await runTrainKernel(device, { kernel: 'conv5x5', options: convOptions, code, workgroups }, [input, weight, bias, new Float32Array(forward.length)], step, [4]);
      expectClose(`forward (${target} blocks)`, gotForward!, forward, [c.outChannels, outSize, outSize]);
    }
    // Weight and bias gradients: per-image partials, then their sum over the batch in order.
    const [weightPartial] = await runTrainKernel(device, conv5x5BackwardWeightPartial(options), [input, preGrad, new Float32Array(c.n * kernels * 25)], step, [3]);
    const [gotWeight] = await runTrainKernel(device, batchSum({ values: kernels * 25 }), [weightPartial!, new Float32Array(kernels * 25)], step, [2]);
    const [biasPartial] = await runTrainKernel(device, conv5x5BackwardBiasPartial(options), [preGrad, new Float32Array(c.n * c.outChannels)], step, [2]);
    const [gotBias] = await runTrainKernel(device, batchSum({ values: c.outChannels }), [biasPartial!, new Float32Array(c.outChannels)], step, [2]);
    expectClose('weight gradient', gotWeight!, weightGrad, [kernels * 25]);
    // The same from the written-out kernel's row-group partials ('cpu-unrolled').
    const groups = conv5x5WeightRowGroups(options);
    const [rowPartial] = await runTrainKernel(device, conv5x5BackwardWeightRows(options), [input, preGrad, new Float32Array(c.n * groups * kernels * 25)], step, [3]);
    const [gotWeightRows] = await runTrainKernel(device, batchSum({ values: kernels * 25, rowsPerImage: groups }), [rowPartial!, new Float32Array(kernels * 25)], step, [2]);
    expectClose('weight gradient (row groups)', gotWeightRows!, weightGrad, [kernels * 25]);
    expectClose('bias gradient', gotBias!, biasGrad, [c.outChannels]);
  });
}

const poolCases: Array<{ mode: PoolMode; inSize: number; n: number }> = [
  { mode: 'average', inSize: 9, n: 5 },
  { mode: 'trainable', inSize: 9, n: 3 },
  { mode: 'trainable', inSize: 8, n: 2 },
  { mode: 'max', inSize: 9, n: 5 },
];

for (const c of poolCases) {
  test(`subsample2x2 backward (${c.mode}, ${c.inSize}×${c.inSize}, N=${c.n}) equals the CPU reference`, async () => {
    const channels = 3;
    const outSize = c.inSize >> 1;
    const plane = channels * c.inSize * c.inSize;
    const outPlane = channels * outSize * outSize;
    // Max pooling on values from {0, 0.5, 1}: ties in most windows, so the first-maximum rule is tested.
    const prng = new Prng(6);
    const input = c.mode === 'max' ? Float32Array.from({ length: c.n * plane }, () => prng.integer(3) / 2) : random(6, c.n * plane);
    const preGrad = random(7, c.n * outPlane);
    const coefficient = random(8, channels, 0.5, 1.5);
    const bias = random(9, channels);
    const inputGrad = new Float32Array(input.length);
    const coefficientGrad = new Float32Array(channels);
    const biasGrad = new Float32Array(channels);
    const trainable = c.mode === 'trainable';
    for (let n = 0; n < c.n; n++) {
      const image = input.subarray(n * plane, (n + 1) * plane);
      const d = preGrad.subarray(n * outPlane, (n + 1) * outPlane);
      const grad = inputGrad.subarray(n * plane, (n + 1) * plane);
      if (c.mode === 'max') {
        maxPoolBackward(channels, c.inSize, image, d, grad);
        continue;
      }
      const sums = new Float32Array(outPlane);
      subsampleForward(channels, c.inSize, image, trainable ? coefficient : null, trainable ? bias : null, sums, new Float32Array(outPlane));
      subsampleBackward(channels, c.inSize, trainable ? coefficient : null, sums, d, trainable ? coefficientGrad : null, trainable ? biasGrad : null, grad);
    }
    const options = { channels, inSize: c.inSize, mode: c.mode };
    const step = [batchStep(c.n)];
    const extra = c.mode === 'max' ? [input] : trainable ? [coefficient] : [];
    const [got] = await runTrainKernel(device, subsample2x2BackwardInput(options), [preGrad, new Float32Array(input.length), ...extra], step, [2]);
    expectClose(`${c.mode} input gradient`, got!, inputGrad, [channels, c.inSize, c.inSize]);
    if (c.mode === 'max') {
      // Exactly one input per window takes the gradient: no sum, so the match is exact.
      expect([...got!]).toEqual([...inputGrad]);
    }
    if (trainable) {
      const [gotCoefficient] = await runTrainKernel(device, subsample2x2BackwardParameter(options, 'coefficient'), [input, preGrad, new Float32Array(channels)], step, [3]);
      const [gotBias] = await runTrainKernel(device, subsample2x2BackwardParameter(options, 'bias'), [preGrad, new Float32Array(channels)], step, [2]);
      expectClose('coefficient gradient', gotCoefficient!, coefficientGrad, [channels]);
      expectClose('bias gradient', gotBias!, biasGrad, [channels]);
    }
  });
}

test('dense backward (37 → 11, N=5) equals denseBackward', async () => {
  const [n, inFeatures, outFeatures] = [5, 37, 11];
  const input = random(10, n * inFeatures);
  const weight = random(11, outFeatures * inFeatures);
  const preGrad = random(12, n * outFeatures);
  const weightGrad = new Float32Array(weight.length);
  const biasGrad = new Float32Array(outFeatures);
  const inputGrad = new Float32Array(input.length);
  for (let i = 0; i < n; i++) {
    denseBackward(inFeatures, outFeatures, input.subarray(i * inFeatures), weight, preGrad.subarray(i * outFeatures), weightGrad, biasGrad, inputGrad.subarray(i * inFeatures, (i + 1) * inFeatures));
  }
  const step = [batchStep(n)];
  // 4 × 4 blocks (the default) and 8 × 8 ('cpu-unrolled'): blocks past the batch, the inputs and the outputs.
  for (const block of [4, 8]) {
    const options = { inFeatures, outFeatures, block };
    const [gotInput] = await runTrainKernel(device, denseBackwardInput(options), [weight, preGrad, new Float32Array(input.length)], step, [3]);
    const [gotWeight] = await runTrainKernel(device, denseBackwardWeight(options), [input, preGrad, new Float32Array(weight.length)], step, [3]);
    expectClose(`input gradient (${block} × ${block} blocks)`, gotInput!, inputGrad, [inFeatures]);
    expectClose(`weight gradient (${block} × ${block} blocks)`, gotWeight!, weightGrad, [outFeatures, inFeatures]);
  }
  const [gotBias] = await runTrainKernel(device, denseBackwardBias({ inFeatures, outFeatures }), [preGrad, new Float32Array(outFeatures)], step, [2]);
  expectClose('bias gradient', gotBias!, biasGrad, [outFeatures]);
});

test('RBF backward (13 features, 10 classes, N=3) equals rbfBackward', async () => {
  const [n, inFeatures, classes] = [3, 13, 10];
  const input = random(13, n * inFeatures);
  const centres = random(14, classes * inFeatures);
  const outputGrad = random(15, n * classes);
  const expected = new Float32Array(input.length);
  for (let i = 0; i < n; i++) {
    rbfBackwardCpu(inFeatures, classes, input.subarray(i * inFeatures), centres, outputGrad.subarray(i * classes), expected.subarray(i * inFeatures, (i + 1) * inFeatures));
  }
  const [got] = await runTrainKernel(device, rbfBackward({ inFeatures, classes }), [input, centres, outputGrad, new Float32Array(input.length)], [batchStep(n)], [4]);
  expectClose('RBF input gradient', got!, expected, [inFeatures]);
});

for (const negate of [false, true]) {
  test(`softmax cross-entropy on ${negate ? 'negated distances' : 'logits'} (N=7) equals softmaxCrossEntropy / N`, async () => {
    const n = 7;
    const scores = random(16, n * 10, -4, 4);
    const labels = Uint32Array.from({ length: n }, (_, i) => (i * 3) % 10);
    const grad = new Float32Array(n * 10);
    const results = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const s = scores.subarray(i * 10, (i + 1) * 10);
      results[2 * i] = softmaxCrossEntropy(s, 10, labels[i]!, negate, grad.subarray(i * 10, (i + 1) * 10));
      const sign = negate ? -1 : 1;
      let top = 0;
      for (let k = 1; k < 10; k++) if (sign * s[k]! > sign * s[top]!) top = k;
      results[2 * i + 1] = top === labels[i] ? 1 : 0;
    }
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! / n;
    const [gotGrad, gotResults] = await runTrainKernel(device, crossEntropy({ classes: 10, negate }), [scores, labels, new Float32Array(n * 10), new Float32Array(n * 2)], [batchStep(n)], [3, 4]);
    expectClose('scores gradient', gotGrad!, grad, [10]);
    expectClose('loss and hit', gotResults!, results, [2]);
  });
}

const kSteps = 3;

test(`SGD (momentum 0.9, weight decay 0.01; and plain) over ${kSteps} steps equals sgdStep`, async () => {
  const parameters = 1001;
  for (const options of [{ momentum: 0.9, weightDecay: 0.01 }, { momentum: 0, weightDecay: 0 }]) {
    const params = random(17, parameters);
    const grads = random(18, parameters);
    const rates = [0.1, 0.05, 0.025];
    const expected = params.slice();
    const velocity = new Float32Array(parameters);
    for (const lr of rates) sgdStep(expected, grads, velocity, lr, options);
    const steps = rates.map((learningRate) => ({ ...batchStep(1), learningRate }));
    const bindings = options.momentum ? [params, grads, new Float32Array(parameters)] : [params, grads];
    const [got] = await runTrainKernel(device, sgd({ parameters, ...options }), bindings, steps, [1]);
    expectClose(`SGD ${JSON.stringify(options)}`, got!, expected, [parameters]);
  }
});

test(`Adam over ${kSteps} steps equals the CPU Adam`, async () => {
  const parameters = 1001;
  const params = random(19, parameters);
  const grads = random(20, parameters);
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  const expected = params.slice();
  const cpu = new Adam(parameters);
  const rates = [1e-2, 5e-3, 1e-3];
  for (const lr of rates) cpu.step(expected, grads, lr);
  const steps = rates.map((learningRate, t) => ({ ...batchStep(1), learningRate, correction1: 1 - beta1 ** (t + 1), correction2Sqrt: Math.sqrt(1 - beta2 ** (t + 1)) }));
  const kernel = adam({ parameters, beta1, beta2, epsilon, weightDecay: 0 });
  const [got] = await runTrainKernel(device, kernel, [params, grads, new Float32Array(parameters), new Float32Array(parameters)], steps, [1]);
  // The step moves each weight by about lr: compare the change, to the scale of the change.
  const change = (after: Float32Array) => after.map((v, i) => v - params[i]!);
  expectClose('Adam change', change(got!), change(expected), [parameters]);
});

test('the batch gather equals preprocess, and with distortions warpImage then preprocess (classic preprocessing, N=5)', async () => {
  const set = loadMnist('train', 9);
  const preprocessing = { pad: 2, background: -0.1, ink: 1.175 };
  const order = Uint32Array.from([8, 3, 0, 5, 1, 7, 2, 6, 4]);
  const [first, n, side] = [2, 5, 32];
  const affine = new Float32Array(9 * kAffineValues);
  const prng = new Prng(21);
  for (let i = 0; i < 9; i++) randomAffine(prng, kDefaultAugment, affine, i * kAffineValues);
  const words = new Uint32Array(Math.ceil(set.images.length / 4));
  new Uint8Array(words.buffer).set(set.images);
  for (const augment of [false, true]) {
    const expected = new Float32Array(n * side * side);
    const warped = new Float32Array(784);
    for (let k = 0; k < n; k++) {
      const image = set.images.subarray(order[first + k]! * 784, (order[first + k]! + 1) * 784);
      const out = expected.subarray(k * side * side, (k + 1) * side * side);
      if (augment) {
        warpImage(image, affine, (first + k) * kAffineValues, warped);
        preprocess(warped, 1, preprocessing, out);
      } else {
        preprocess(image, 1, preprocessing, out);
      }
    }
    const bindings = [words, Uint32Array.from(set.labels), order, new Float32Array(n * side * side), new Uint32Array(n), ...(augment ? [affine] : [])];
    const [input, labels] = await runTrainKernel(device, gatherBatch({ ...preprocessing, augment }), bindings, [{ ...batchStep(n), first }], [4, 5]);
    expectClose(`gathered batch${augment ? ' (distorted)' : ''}`, input!, expected, [side, side]);
    expect([...new Uint32Array(labels!.buffer)]).toEqual([...order.subarray(first, first + n)].map((i) => set.labels[i]!));
  }
});

test("'cpu-unrolled' writes out a conv layer within its budget and gives a wider one the GPU blocks", () => {
  // The seed's C3 (60 kernels × 25 taps × 5 columns) and the tutorial's conv2 (96 × 25 × 5) are
  // within kMaxUnrolledMultiplyAdds; Caffe's conv2 (1,000 kernels × 25 × 8) is not.
  const seedC3 = conv5x5Blocking({ inChannels: 6, outChannels: 16, inSize: 14, padding: 0, connectionTable: kSeedTable }, 'cpu-unrolled');
  expect(seedC3).toEqual({ maps: 16, rows: 1, columns: 5, workgroupSize: 64, unrolled: true });
  expect(60 * 25 * seedC3.columns).toBeLessThanOrEqual(kMaxUnrolledMultiplyAdds);
  const tutorialConv1 = conv5x5Blocking({ inChannels: 1, outChannels: 6, inSize: 32, padding: 0 }, 'cpu-unrolled');
  expect(tutorialConv1).toEqual({ maps: 6, rows: 1, columns: 7, workgroupSize: 64, unrolled: true });
  const caffeConv2 = conv5x5Blocking({ inChannels: 20, outChannels: 50, inSize: 12, padding: 0 }, 'cpu-unrolled');
  expect(1000 * 25 * 8).toBeGreaterThan(kMaxUnrolledMultiplyAdds);
  expect(caffeConv2).toEqual(conv5x5Blocking({ inChannels: 20, outChannels: 50, inSize: 12, padding: 0 }, 'gpu'));
  expect(caffeConv2.unrolled).toBe(false);
  // The weight gradient: the tutorial's conv2 (96 × 25 × 10 = 24,000) written out in 5 row pairs, Caffe's conv2 not.
  expect(conv5x5WrittenOutWeightRows({ inChannels: 6, outChannels: 16, inSize: 14, padding: 0 }, 'cpu-unrolled')).toBe(5);
  expect(conv5x5WrittenOutWeightRows({ inChannels: 6, outChannels: 16, inSize: 14, padding: 0 }, 'gpu')).toBe(0);
  expect(conv5x5WrittenOutWeightRows({ inChannels: 20, outChannels: 50, inSize: 12, padding: 0 }, 'cpu-unrolled')).toBe(0);
});
