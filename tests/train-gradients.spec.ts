/**
 * The trainer's backward passes (src/train/layers.ts, network.ts) against central finite
 * differences. Layers compute in float32, so each check uses a random linear loss
 * L = Σ r·output evaluated in float64 from the float32 outputs, a step of 1e-2, and a
 * tolerance of 2e-3 + 1e-2·|gradient| (float32 rounding in L is ~1e-6; truncation ~h²).
 */
import { expect, test } from '@playwright/test';
import { classicModel, kC3ConnectionTable, seedModel } from '../src/model/presets.js';
import { Prng } from '../src/model/prng.js';
import { randomWeights } from '../src/model/random.js';
import { connectionOffsets, type Activation, type ModelSpec } from '../src/model/spec.js';
import { denseTable } from '../src/reference/layers.js';
import {
  activateInPlace,
  activationBackward,
  convBackward,
  convForward,
  denseBackward,
  denseForward,
  rbfBackward,
  rbfForward,
  softmaxCrossEntropy,
  subsampleBackward,
  subsampleForward,
  type ConvGeometry,
} from '../src/train/layers.js';
import { Network, parameterLayout } from '../src/train/network.js';

const kStep = 1e-2;
const kAtol = 2e-3;
const kRtol = 1e-2;

function randomArray(length: number, seed: number, low = -1, high = 1): Float32Array {
  const random = new Prng(seed);
  return Float32Array.from({ length }, () => random.uniform(low, high));
}

/** Σ r_i·out_i in float64. */
function dot(r: Float32Array, out: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < r.length; i++) sum += r[i]! * out[i]!;
  return sum;
}

/**
 * Checks `analytic` (the gradient of loss() w.r.t. `values`) at every index, or at `samples`
 * evenly spread indices, by central differences; fails naming the first mismatches.
 */
function expectGradient(what: string, values: Float32Array, analytic: Float32Array, loss: () => number, samples = values.length): void {
  const mismatches: string[] = [];
  const stride = Math.max(1, Math.floor(values.length / samples));
  let checked = 0;
  for (let i = 0; i < values.length; i += stride) {
    const old = values[i]!;
    values[i] = old + kStep;
    const up = loss();
    values[i] = old - kStep;
    const down = loss();
    values[i] = old;
    const numeric = (up - down) / (2 * kStep);
    const got = analytic[i]!;
    checked++;
    if (!(Math.abs(got - numeric) <= kAtol + kRtol * Math.abs(numeric))) {
      mismatches.push(`[${i}] expected ≈${numeric.toExponential(4)}, backward gave ${got.toExponential(4)}`);
    }
  }
  expect(checked).toBeGreaterThan(0);
  expect(mismatches, `${what}: ${mismatches.length} of ${checked} gradients disagree; first: ${mismatches.slice(0, 4).join('; ')}`).toEqual([]);
}

function geometry(inChannels: number, outChannels: number, inSize: number, padding: number, table?: ReadonlyArray<ReadonlyArray<number>>): ConvGeometry {
  const t = table ?? denseTable(inChannels, outChannels);
  return { inChannels, outChannels, paddedSize: inSize + 2 * padding, outSize: inSize + 2 * padding - 4, table: t, kernelStart: connectionOffsets(t) };
}

function checkConv(what: string, g: ConvGeometry, paddedInput: Float32Array): void {
  const kernels = g.table.reduce((s, t) => s + t.length, 0);
  const weight = randomArray(kernels * 25, 11, -0.3, 0.3);
  const bias = randomArray(g.outChannels, 12);
  const outLength = g.outChannels * g.outSize * g.outSize;
  const r = randomArray(outLength, 13);
  const out = new Float32Array(outLength);
  const loss = () => {
    convForward(g, paddedInput, weight, bias, out);
    return dot(r, out);
  };
  const weightGrad = new Float32Array(weight.length);
  const biasGrad = new Float32Array(bias.length);
  const inputGrad = new Float32Array(paddedInput.length);
  convBackward(g, paddedInput, weight, r, weightGrad, biasGrad, inputGrad);
  expectGradient(`${what} weight`, weight, weightGrad, loss);
  expectGradient(`${what} bias`, bias, biasGrad, loss);
  expectGradient(`${what} input`, paddedInput, inputGrad, loss);
}

test('conv5x5 (dense, no padding): weight, bias and input gradients', () => {
  const g = geometry(2, 3, 9, 0);
  checkConv('conv', g, randomArray(2 * 9 * 9, 1));
});

test('conv5x5 with padding 2: gradients over the zero-padded input', () => {
  const g = geometry(1, 3, 6, 2);
  // The padded copy the network feeds the layer: interior random, border zero.
  const padded = new Float32Array(g.paddedSize * g.paddedSize);
  const interior = randomArray(36, 2);
  for (let y = 0; y < 6; y++) padded.set(interior.subarray(y * 6, y * 6 + 6), (y + 2) * g.paddedSize + 2);
  checkConv('padded conv', g, padded);
});

test('conv5x5 with the C3 connection table: only the listed kernels get gradients', () => {
  const g = geometry(6, 16, 7, 0, kC3ConnectionTable);
  checkConv('tabled conv', g, randomArray(6 * 7 * 7, 3));
  const weightGrad = new Float32Array(60 * 25);
  convBackward(g, randomArray(6 * 49, 4), randomArray(60 * 25, 5), randomArray(16 * 9, 6), weightGrad, new Float32Array(16), null);
  expect(weightGrad.length).toBe(1500);
});

for (const trainable of [true, false]) {
  test(`subsample2x2 (${trainable ? 'trainable coefficient and bias' : 'average pooling'}): gradients`, () => {
    const channels = 3;
    const inSize = 6;
    const outLength = channels * 9;
    const input = randomArray(channels * inSize * inSize, 7);
    const coefficient = trainable ? randomArray(channels, 8, 0.1, 0.5) : null;
    const bias = trainable ? randomArray(channels, 9) : null;
    const r = randomArray(outLength, 10);
    const sums = new Float32Array(outLength);
    const out = new Float32Array(outLength);
    const loss = () => {
      subsampleForward(channels, inSize, input, coefficient, bias, sums, out);
      return dot(r, out);
    };
    loss();
    const coefficientGrad = trainable ? new Float32Array(channels) : null;
    const biasGrad = trainable ? new Float32Array(channels) : null;
    const inputGrad = new Float32Array(input.length);
    subsampleBackward(channels, inSize, coefficient, sums, r, coefficientGrad, biasGrad, inputGrad);
    expectGradient('subsample input', input, inputGrad, loss);
    if (trainable) {
      expectGradient('subsample coefficient', coefficient!, coefficientGrad!, loss);
      expectGradient('subsample bias', bias!, biasGrad!, loss);
    }
  });
}

for (const activation of ['sigmoid', 'scaled-tanh', 'none'] as Activation[]) {
  test(`${activation} activation: gradient from its output`, () => {
    const pre = randomArray(40, 14, -3, 3);
    const r = randomArray(40, 15);
    const out = new Float32Array(40);
    const loss = () => {
      out.set(pre);
      activateInPlace(activation, out, out.length);
      return dot(r, out);
    };
    loss();
    const grad = new Float32Array(40);
    activationBackward(activation, out, r, grad, 40);
    expectGradient(`${activation}`, pre, grad, loss);
  });
}

test('dense: weight, bias and input gradients', () => {
  const [inFeatures, outFeatures] = [7, 5];
  const input = randomArray(inFeatures, 16);
  const weight = randomArray(inFeatures * outFeatures, 17);
  const bias = randomArray(outFeatures, 18);
  const r = randomArray(outFeatures, 19);
  const out = new Float32Array(outFeatures);
  const loss = () => {
    denseForward(inFeatures, outFeatures, input, weight, bias, out);
    return dot(r, out);
  };
  const [wg, bg, ig] = [new Float32Array(weight.length), new Float32Array(outFeatures), new Float32Array(inFeatures)];
  denseBackward(inFeatures, outFeatures, input, weight, r, wg, bg, ig);
  expectGradient('dense weight', weight, wg, loss);
  expectGradient('dense bias', bias, bg, loss);
  expectGradient('dense input', input, ig, loss);
});

test('rbf: input gradient (centres fixed)', () => {
  const [inFeatures, classes] = [12, 10];
  const input = randomArray(inFeatures, 20);
  const centres = randomArray(inFeatures * classes, 21);
  const r = randomArray(classes, 22);
  const out = new Float32Array(classes);
  const loss = () => {
    rbfForward(inFeatures, classes, input, centres, out);
    return dot(r, out);
  };
  const grad = new Float32Array(inFeatures);
  rbfBackward(inFeatures, classes, input, centres, r, grad);
  expectGradient('rbf input', input, grad, loss);
});

for (const negate of [false, true]) {
  test(`softmax cross-entropy ${negate ? 'over negated distances' : 'on logits'}: gradient and value`, () => {
    const scores = randomArray(10, 23, 0, 4);
    const grad = new Float32Array(10);
    const scratch = new Float32Array(10);
    const loss = softmaxCrossEntropy(scores, 10, 7, negate, grad);
    const z = Array.from(scores, (s) => (negate ? -s : s));
    const expected = Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[7]!;
    expect(Math.abs(loss - expected)).toBeLessThan(1e-6);
    expectGradient('softmax cross-entropy', scores, grad, () => softmaxCrossEntropy(scores, 10, 7, negate, scratch));
  });
}

/** A whole network's parameter and input gradients (every layer chained, incl. padding crop). */
function checkNetwork(spec: ModelSpec, seed: number): void {
  const weights = randomWeights(spec, seed);
  const layout = parameterLayout(spec);
  const params = new Float32Array(layout.size);
  for (const [name, at] of layout.offsets) params.set(weights.tensors.get(name)!, at.offset);
  const fixed = new Map(spec.tensors.filter((t) => !t.trainable).map((t) => [t.name, weights.tensors.get(t.name)!] as const));
  const grads = new Float32Array(layout.size);
  const network = new Network(spec, params, grads, fixed, true);
  const image = randomArray(spec.inputSize * spec.inputSize, seed + 1, 0, 1);
  const label = 3;
  network.forward(image);
  network.backward(label);
  const inputGrad = network.inputGradient();
  const probe = new Network(spec, params, new Float32Array(layout.size), fixed);
  const lossGrad = new Float32Array(10);
  const loss = () => softmaxCrossEntropy(probe.forward(image), 10, label, spec.output === 'distances', lossGrad);
  for (const [name, at] of layout.offsets) {
    expectGradient(`${spec.id} ${name}`, params.subarray(at.offset, at.offset + at.length), grads.subarray(at.offset, at.offset + at.length), loss, 12);
  }
  expectGradient(`${spec.id} input`, image, inputGrad, loss, 40);
}

test('seed network: every parameter tensor and the input (conv1 padding) against finite differences', () => {
  checkNetwork(seedModel, 5);
});

test('classic network (scaled tanh): every parameter tensor and the input against finite differences', () => {
  checkNetwork(classicModel('scaled-tanh'), 6);
});
