/**
 * Saliency (src/gpu/saliency-plan.ts) against PyTorch's autograd: for the two shipped models and
 * three MNIST test images (fixtures made by scripts/pytorch/make_saliency_fixtures.py; no
 * PyTorch at run time), the gradient of the predicted class's score (the logit, or the negated
 * RBF distance) and of a "why not" difference of two scores, with respect to the raw pixels.
 *
 * Tolerance, derived: both sides compute in float32, in different summation orders (PyTorch's
 * CPU convolutions against the WGSL kernels), so each layer's values differ by a few ULP
 * (~1e-7 relative) and the gradient — a chain of 13 kernels, each a sum of up to 400 products
 * with cancelling signs — by sums of those: a pixel's gradient near zero is a difference of
 * terms of the size of the largest, so its error is bounded by the largest's, not its own.
 * Hence |gpu − torch| ≤ 10⁻⁴·max|torch| + 10⁻³·|torch| per image, the training gradients'
 * bound (tests/train-pytorch.spec.ts); measured worst 1.1·10⁻⁶·max (both models, SwiftShader
 * through Dawn), so the bound has a hundredfold margin. A wrong seed
 * sign, a missed preprocessing scale (1.275 for the classic model) or a one-pixel crop shift
 * changes values by their own size.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { compareFloats } from '../e2e/compare.js';
import { InputError } from '../src/errors.js';
import { loadWeights } from '../src/formats/load.js';
import { createSaliency } from '../src/gpu/saliency-plan.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { parseSafetensors } from '../src/weights/safetensors.js';
import { buildArchitecture, type ArchitectureJson } from '../src/model/architecture.js';
import { randomWeights } from '../src/model/random.js';

let device: GPUDevice;
test.beforeAll(async () => {
  device = (await nodeGpuDevice('saliency.device')).device;
});
test.afterAll(() => device?.destroy());

function fixture(model: string): Map<string, Float32Array> {
  const file = parseSafetensors(new Uint8Array(readFileSync(`tests/fixtures/saliency/${model}.safetensors`)));
  return new Map([...file.tensors].map(([name, tensor]) => [name, tensor.data]));
}

function largest(values: Float32Array): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

for (const model of ['seed', 'classic']) {
  test(`${model}: the input gradient of a score and of a "why not" difference equal PyTorch's`, async () => {
    const expected = fixture(model);
    const images = Uint8Array.from(expected.get('images')!);
    const classes = [...expected.get('class')!];
    const versus = [...expected.get('versus')!];
    const count = classes.length;
    const weights = loadWeights(new Uint8Array(readFileSync(`weights/${model}.safetensors`)));
    // maxBatch 2 over 3 images: the split path runs too.
    const saliency = await createSaliency(weights, { device, maxBatch: 2 });
    try {
      expect(saliency.score).toBe(model === 'classic' ? 'negated distances' : 'logits');
      const own = await saliency.inputGradients(images, classes.map((c) => ({ class: c })));
      const why = await saliency.inputGradients(images, classes.map((c, n) => ({ class: c, versus: versus[n]! })));
      let worst = 0;
      for (const [what, results, name] of [['score', own, 'grad.class'], ['why not', why, 'grad.versus']] as const) {
        for (let n = 0; n < count; n++) {
          const reference = expected.get(name)!.subarray(n * 784, (n + 1) * 784);
          const scale = largest(reference);
          expect(scale, `${what}, image ${n}: the reference is not all zeros`).toBeGreaterThan(0);
          const actual = results[n]!.gradient;
          const result = compareFloats(`${model} ${what} gradient, image ${n}`, actual, reference, [28, 28], { atol: 1e-4 * scale, rtol: 1e-3 });
          expect(result.mismatchCount, result.message).toBe(0);
          for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(actual[i]! - reference[i]!) / scale);
          const scores = expected.get('scores')!.subarray(n * 10, (n + 1) * 10);
          const scoreCheck = compareFloats(`${model} scores, image ${n}`, results[n]!.scores, scores, [10], { atol: 1e-4 * largest(scores), rtol: 1e-4 });
          expect(scoreCheck.mismatchCount, scoreCheck.message).toBe(0);
        }
      }
      test.info().annotations.push({ type: 'measured', description: `${model}: worst |gpu − torch| / max|torch| = ${worst.toExponential(2)}` });
    } finally {
      saliency.destroy();
    }
  });
}

test('bad targets and pixels are InputErrors that say what was expected', async () => {
  const weights = loadWeights(new Uint8Array(readFileSync('weights/seed.safetensors')));
  const saliency = await createSaliency(weights, { device });
  try {
    const pixels = new Uint8Array(784);
    await expect(saliency.inputGradients(pixels, [{ class: 10 }])).rejects.toThrow(/targets\[0\]\.class: expected a class 0 … 9, found 10/);
    await expect(saliency.inputGradients(pixels, [{ class: 3, versus: 3 }])).rejects.toThrow(/versus: expected a class 0 … 9 other than 3, found 3/);
    await expect(saliency.inputGradients(pixels, [])).rejects.toThrow(InputError);
    await expect(saliency.inputGradients(new Uint8Array(700), [{ class: 1 }])).rejects.toThrow(/expected 784 pixels/);
    // Still usable after the errors.
    await expect(createSaliency(weights, {} as { device: GPUDevice })).rejects.toThrow(/options.device: expected a GPUDevice, found nothing/);
    const missing = { ...weights, tensors: new Map([...weights.tensors].filter(([name]) => name !== 'fc2.weight')) };
    await expect(createSaliency(missing, { device })).rejects.toThrow(/needs a tensor that is missing/);
    const [result] = await saliency.inputGradients(pixels, [{ class: 1 }]);
    expect(result!.gradient.length).toBe(784);
  } finally {
    saliency.destroy();
  }
});

/** The seed's layers as a JSON description, with `extra` layers spliced in. */
function seedWith(extra: { at: number; layer: object }) {
  const layers: object[] = [
    { type: 'conv', name: 'conv1', outChannels: 6, padding: 2, activation: 'sigmoid' },
    { type: 'pool', name: 'pool1', mode: 'average' },
    { type: 'conv', name: 'conv2', outChannels: 16, activation: 'sigmoid' },
    { type: 'pool', name: 'pool2', mode: 'average' },
    { type: 'dense', name: 'fc1', outFeatures: 120, activation: 'sigmoid' },
    { type: 'dense', name: 'fc2', outFeatures: 84, activation: 'sigmoid' },
    { type: 'dense', name: 'fc3', outFeatures: 10 },
  ];
  layers.splice(extra.at, 0, extra.layer);
  return buildArchitecture({ name: 'seed variant', inputSize: 28, preprocessing: { pad: 0, background: 0, ink: 1 }, layers } as ArchitectureJson);
}

test('a model ending in (log-)softmax: the gradient is the logit’s, as without the softmax', async () => {
  const seed = loadWeights(new Uint8Array(readFileSync('weights/seed.safetensors')));
  const expected = fixture('seed');
  const images = Uint8Array.from(expected.get('images')!.subarray(0, 784));
  const target = { class: expected.get('class')![0]! };
  for (const log of [false, true]) {
    const spec = seedWith({ at: 7, layer: { type: 'softmax', log } });
    const saliency = await createSaliency({ ...seed, spec }, { device });
    try {
      expect(saliency.score).toBe('logits');
      const [result] = await saliency.inputGradients(images, [target]);
      const reference = expected.get('grad.class')!.subarray(0, 784);
      const check = compareFloats(`seed + ${log ? 'log-' : ''}softmax`, result!.gradient, reference, [28, 28], { atol: 1e-4 * largest(reference), rtol: 1e-3 });
      expect(check.mismatchCount, check.message).toBe(0);
    } finally {
      saliency.destroy();
    }
  }
});

test('a layer without a backward kernel (an unfolded batch norm) is refused by name', async () => {
  const spec = seedWith({ at: 2, layer: { type: 'scale-shift', name: 'bn1' } });
  await expect(createSaliency(randomWeights(spec, 1), { device })).rejects.toThrow(/saliency: layer 'bn1' .* has no backward kernel yet/);
});
