/**
 * Batch norm and colour input on the CPU reference engine, against real PyTorch
 * (tests/fixtures/family/bn-colour, made by scripts/pytorch/make_bn_colour_fixtures.py; no
 * PyTorch needed here): Dive into Deep Learning's LeNet with batch norm (folded at load), a net
 * whose batch norms cannot fold (after a ReLU, after a max pool, after a dense layer's ReLU:
 * scale-shift layers), and PyTorch's CIFAR-10 tutorial Net (3×32×32). Every logit within
 * 1e-5 + 1e-4·|PyTorch|, the same classes. Then the batch-norm statistics' validation, and the
 * colour input's forms (planar bytes and floats, RGBA bytes, ImageData) and refusals.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { InputError, ModelMismatchError, WeightsFileError } from '../src/errors.js';
import { loadWeights, readWeightsFile, saveWeights } from '../src/formats/load.js';
import { foldBatchNorms } from '../src/model/fold.js';
import { modelInput, planarImages, preprocess } from '../src/model/preprocess.js';
import { kCifar10Labels, presetModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import type { BatchNormSpec, ModelSpec } from '../src/model/spec.js';
import { CpuEngine } from '../src/reference/cpu-engine.js';
import { referenceForward } from '../src/reference/forward.js';
import { parseIdxImages, parseIdxLabels } from '../src/data/idx.js';
import { compareWithPyTorch, kImagesFile, kLabelsFile } from './pytorch-fixture.js';

const kDir = 'tests/fixtures/family/bn-colour';
const kImages = 8;

const bytesOf = (file: string) => new Uint8Array(readFileSync(`${kDir}/${file}`));
const logitsOf = (name: string) => new Float32Array(new Uint8Array(readFileSync(`${kDir}/${name}.logits.f32`)).buffer);
const mnistPixels = () => parseIdxImages(new Uint8Array(readFileSync(kImagesFile))).pixels.subarray(0, kImages * 784);
const mnistLabels = () => parseIdxLabels(new Uint8Array(readFileSync(kLabelsFile))).subarray(0, kImages);
/** The CIFAR fixture's labels are what it was taught: image n is class n. */
const cifarLabels = () => Uint8Array.from({ length: kImages }, (_, n) => n % 10);

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

test.describe('batch norm and colour models against PyTorch (CPU reference)', () => {
  test("d2l-lenet-bn: found by its tensors, every batch norm folded, PyTorch's logits", async () => {
    const weights = loadWeights(bytesOf('d2l-lenet-bn.safetensors'));
    expect(weights.spec.id).toBe('d2l-lenet-bn');
    expect(weights.origin?.architectureFrom).toBe('tensors');
    // Folded: the planners see a plain LeNet, with no running statistics left.
    expect(weights.spec.layers.map((l) => l.name)).toEqual(['conv1', 'pool1', 'conv2', 'pool2', 'fc1', 'fc2', 'fc3']);
    expect(weights.spec.batchNorms).toBeUndefined();
    expect([...weights.tensors.keys()].some((k) => k.startsWith('bn'))).toBe(false);
    // The batch norms are far from the identity (trained statistics): folding changed every layer they follow.
    const raw = readWeightsFile(bytesOf('d2l-lenet-bn.safetensors')).tensors;
    for (const name of ['conv1.bias', 'conv2.bias', 'fc1.bias', 'fc2.bias']) {
      const before = raw.get(name)!.data;
      const after = weights.tensors.get(name)!;
      const change = Math.max(...Array.from(after, (v, i) => Math.abs(v - before[i]!)));
      expect(change, name).toBeGreaterThan(0.05);
    }
    const engine = new CpuEngine(weights);
    expect(engine.model.summary).toBe(
      '28×28 → conv 1→6 5×5, sigmoid → avg pool → conv 6→16 5×5, sigmoid → avg pool → dense 256→120, sigmoid → dense 120→84, sigmoid → dense 84→10 ⇒ logits',
    );
    const result = await engine.infer(mnistPixels(), kImages);
    const c = compareWithPyTorch(result.scores, logitsOf('d2l-lenet-bn'), mnistLabels());
    console.log(`d2l-lenet-bn, CPU reference: ${c.summary}`);
    expect(c.failures, c.summary).toEqual([]);
  });

  test("batch norms that cannot fold run as scale-shift layers: PyTorch's logits, each layer listed", async () => {
    const weights = loadWeights(bytesOf('bn-unfoldable.safetensors'));
    expect(weights.origin?.architectureFrom).toBe('file');
    expect(weights.spec.layers.map((l) => `${l.name}:${l.kind}`)).toEqual([
      'conv1:conv5x5', 'bn1:scale-shift', 'pool1:subsample2x2', 'bn2:scale-shift', 'conv2:conv5x5', 'pool2:subsample2x2',
      'fc1:dense', 'bn3:scale-shift', 'fc2:dense',
    ]);
    const engine = new CpuEngine(weights);
    const result = await engine.infer(mnistPixels(), kImages);
    const c = compareWithPyTorch(result.scores, logitsOf('bn-unfoldable'), mnistLabels());
    console.log(`bn-unfoldable, CPU reference: ${c.summary}`);
    expect(c.failures, c.summary).toEqual([]);
    const layers = await engine.activations(mnistPixels().subarray(0, 784));
    expect(layers.map((l) => `${l.name} [${l.shape.join(', ')}]`)).toEqual([
      'conv1 [4, 24, 24]', 'bn1 [4, 24, 24]', 'pool1 [4, 12, 12]', 'bn2 [4, 12, 12]', 'conv2 [8, 8, 8]', 'pool2 [8, 4, 4]',
      'fc1 [32]', 'bn3 [32]', 'fc2 [10]',
    ]);
  });

  test("pytorch-cifar10-tutorial: 3×32×32 planar bytes, PyTorch's logits, CIFAR-10's labels", async () => {
    const weights = loadWeights(bytesOf('cifar10-tutorial.safetensors'));
    expect(weights.spec.id).toBe('pytorch-cifar10-tutorial');
    const engine = new CpuEngine(weights);
    expect(engine.model.input).toEqual({ channels: 3, size: 32 });
    expect(engine.model.labels).toEqual(kCifar10Labels);
    expect(engine.model.summary).toMatch(/^3×32×32 → conv 3→6 5×5, relu → max pool/);
    const result = await engine.infer(bytesOf('cifar10-tutorial.images.u8'), kImages);
    const c = compareWithPyTorch(result.scores, logitsOf('cifar10-tutorial'), cifarLabels());
    console.log(`cifar10-tutorial, CPU reference: ${c.summary}`);
    expect(c.failures, c.summary).toEqual([]);
  });

  test('a colour image as planar floats, RGBA bytes and an ImageData gives the same scores as planar bytes', async () => {
    const engine = new CpuEngine(loadWeights(bytesOf('cifar10-tutorial.safetensors')));
    const planar = bytesOf('cifar10-tutorial.images.u8');
    const rgba = new Uint8ClampedArray(kImages * 32 * 32 * 4);
    for (let n = 0; n < kImages; n++) {
      for (let i = 0; i < 1024; i++) {
        for (let c = 0; c < 3; c++) rgba[(n * 1024 + i) * 4 + c] = planar[(n * 3 + c) * 1024 + i]!;
        rgba[(n * 1024 + i) * 4 + 3] = (n * 37 + i) % 256; // alpha is ignored
      }
    }
    const expected = (await engine.infer(planar, kImages)).scores;
    const floats = (await engine.infer(Float32Array.from(planar, (p) => p / 255), kImages)).scores;
    const fromRgba = (await engine.infer(rgba, kImages, { layout: 'rgba' })).scores;
    const fromImageData = (await engine.infer({ data: rgba.subarray(3 * 4096, 4 * 4096), width: 32, height: 32 })).scores;
    expect(Array.from(fromRgba)).toEqual(Array.from(expected));
    expect(Array.from(fromImageData)).toEqual(Array.from(expected.subarray(30, 40)));
    floats.forEach((v, i) => expect(Math.abs(v - expected[i]!), `score ${i}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(expected[i]!)));
  });
});

test.describe('saveWeights and loadWeights keep what was folded, the colour input and its per-channel preprocessing', () => {
  for (const name of ['d2l-lenet-bn', 'bn-unfoldable', 'cifar10-tutorial']) {
    test(name, async () => {
      const colour = name === 'cifar10-tutorial';
      const mean = [0.4914, 0.4822, 0.4465];
      const std = [0.247, 0.2435, 0.2616];
      const original = loadWeights(bytesOf(`${name}.safetensors`), colour ? { preprocessing: { mean, std } } : {});
      const again = loadWeights(saveWeights(original));
      expect(again.spec.layers).toEqual(original.spec.layers);
      expect(again.spec.inputChannels).toBe(original.spec.inputChannels);
      expect(again.preprocessing).toEqual(original.preprocessing);
      if (colour) expect(again.preprocessing.perChannel).toHaveLength(3);
      const pixels = colour ? bytesOf('cifar10-tutorial.images.u8') : mnistPixels();
      const [before, after] = await Promise.all([original, again].map((w) => new CpuEngine(w).infer(pixels, kImages)));
      expect(Array.from(after!.scores)).toEqual(Array.from(before!.scores));
    });
  }
});

test.describe('batch-norm statistics are checked at load: a WeightsFileError naming the tensor', () => {
  const spec = presetModel('d2l-lenet-bn')!;
  const tensors = () => new Map(randomWeightsBeforeFold(spec));
  const bn1 = spec.batchNorms![0]!;
  const cases: Array<[string, (t: Map<string, Float32Array>) => void, string, string]> = [
    ['a negative running variance', (t) => t.get(bn1.runningVar)!.set([-0.5], 2), 'running variance 2 is -0.5; a variance cannot be negative', bn1.runningVar],
    ['a NaN running variance', (t) => t.get(bn1.runningVar)!.set([NaN], 0), 'running variance value 0 is NaN; it must be finite', bn1.runningVar],
    ['an infinite running variance', (t) => t.get(bn1.runningVar)!.set([Infinity], 1), 'running variance value 1 is Infinity; it must be finite', bn1.runningVar],
    ['a NaN running mean', (t) => t.get(bn1.runningMean)!.set([NaN], 5), 'running mean value 5 is NaN; it must be finite', bn1.runningMean],
    ['a running mean of the wrong size', (t) => t.set(bn1.runningMean, new Float32Array(5)), 'its running mean must hold 6 values (one per channel), found 5', bn1.runningMean],
    ['a zero-sized weight', (t) => t.set(bn1.weight, new Float32Array(0)), 'its weight must hold 6 values (one per channel), found 0', bn1.weight],
    ['a missing bias', (t) => t.delete(bn1.bias), 'its bias is missing', bn1.bias],
  ];
  for (const [what, spoil, message, tensor] of cases) {
    test(what, () => {
      const t = tensors();
      spoil(t);
      const e = thrown(() => foldBatchNorms(spec, t));
      expect(e).toBeInstanceOf(WeightsFileError);
      expect(e.message).toContain(`batch norm bn1: ${message}`);
      expect((e as WeightsFileError).tensor).toBe(tensor);
    });
  }
  for (const eps of [0, -1e-5, NaN, Infinity]) {
    test(`eps ${eps}`, () => {
      const bad: ModelSpec = { ...spec, batchNorms: spec.batchNorms!.map((bn): BatchNormSpec => (bn === bn1 ? { ...bn, eps } : bn)) };
      const e = thrown(() => foldBatchNorms(bad, tensors()));
      expect(e).toBeInstanceOf(WeightsFileError);
      expect(e.message).toContain(`batch norm bn1: eps must be a finite number above 0, found ${eps}`);
    });
  }
  test('a spec whose batch norms were never applied is refused by the reference, not run without them', () => {
    const weights = { ...randomWeights(spec, 1), spec };
    const e = thrown(() => referenceForward(weights, new Float32Array(784), 1));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect(e.message).toContain('batch norm bn1 is not applied');
  });
});

test.describe('colour input and per-channel preprocessing', () => {
  const weights = loadWeights(bytesOf('cifar10-tutorial.safetensors'));
  const input = modelInput(weights.spec, weights.preprocessing);
  const refused: Array<[string, () => unknown, string]> = [
    ['planar bytes of a grey image', () => planarImages(new Uint8Array(784), 1, input), 'expected 3072 pixels (1 × 3×32×32 planar), found 784'],
    ['RGBA bytes of the wrong length', () => planarImages(new Uint8Array(4095), 1, input, { layout: 'rgba' }), "layout 'rgba': expected 4096 bytes (1 × 32×32 × 4), found 4095"],
    ['RGBA as floats', () => planarImages(new Float32Array(4096), 1, input, { layout: 'rgba' }), "layout 'rgba': expected canvas bytes (a Uint8Array or Uint8ClampedArray, 4 per pixel), found Float32Array"],
    ['an unknown layout', () => planarImages(new Uint8Array(3072), 1, input, { layout: 'bgr' as 'rgba' }), "options.layout: expected 'planar' or 'rgba', found bgr"],
    ['an ImageData of another size', () => planarImages({ data: new Uint8ClampedArray(28 * 28 * 4), width: 28, height: 28 }, undefined, input), "expected an ImageData of 32×32 (the model's input), found 28×28"],
    ['an ImageData with a count of 2', () => planarImages({ data: new Uint8ClampedArray(4096), width: 32, height: 32 }, 2, input), 'an ImageData holds one image, found count 2'],
    ['pixels with no count', () => planarImages(new Uint8Array(3072), undefined, input), 'image count: expected a positive integer with a pixel array, found nothing'],
    ['RGBA for a 2-channel model', () => planarImages(new Uint8Array(4 * 16), 1, { channels: 2, size: 4 }, { layout: 'rgba' }), 'RGBA pixels fit a grey (1-channel) or RGB (3-channel) model; this model takes 2 channels'],
  ];
  for (const [what, call, message] of refused) {
    test(`refused with InputError: ${what}`, () => {
      const e = thrown(call);
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toContain(message);
    });
  }

  test("RGBA for a grey model is the demo canvas's ink: the pixel over white, inverted", () => {
    // Opaque black, transparent anything, opaque white, half-transparent black, opaque mid grey.
    const rgba = Uint8Array.from([0, 0, 0, 255, 200, 10, 10, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128, 128, 255]);
    const { pixels } = planarImages(rgba, 5, { channels: 1, size: 1 }, { layout: 'rgba' });
    expect(Array.from(pixels)).toEqual([1, 0, 0, Math.fround(128 / 255), Math.fround(1 - 128 / 255)].map(Math.fround));
  });

  test('Normalize(mean[], std[]) per channel, from the preprocessing option', () => {
    const mean = [0.4914, 0.4822, 0.4465];
    const std = [0.247, 0.2435, 0.2616];
    const normalized = loadWeights(bytesOf('cifar10-tutorial.safetensors'), { preprocessing: { mean, std } });
    const pixels = new Uint8Array(3072);
    pixels.fill(51, 0, 1024).fill(102, 1024, 2048).fill(204, 2048);
    const x = preprocess(pixels, 1, normalized.preprocessing, undefined, input);
    [51, 102, 204].forEach((p, c) => expect(x[c * 1024 + 500]).toBeCloseTo((p / 255 - mean[c]!) / std[c]!, 5));
    const e = thrown(() => loadWeights(bytesOf('cifar10-tutorial.safetensors'), { preprocessing: { mean: [0.5, 0.5], std: 0.5 } }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toContain('preprocessing.mean: expected one number or one per input channel (3), found 2');
  });
});

/** The preset's tensors as a file would hold them: random, batch-norm statistics not yet applied. */
function randomWeightsBeforeFold(spec: ModelSpec): Map<string, Float32Array> {
  const tensors = new Map<string, Float32Array>();
  let state = 7;
  const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const t of spec.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    const isVariance = spec.batchNorms!.some((bn) => bn.runningVar === t.name);
    tensors.set(t.name, Float32Array.from({ length: size }, () => (isVariance ? 0.5 + next() : next() - 0.5)));
  }
  return tensors;
}
