/**
 * The PyTorch fixture (tests/fixtures/pytorch, made with real PyTorch by
 * scripts/pytorch/export_reference.py) without a GPU: the file PyTorch saved parses, with no
 * metadata, as the seed model, byte for byte as this project's writer would have written it;
 * the fixture matches the weights it was made from; and the float64 CPU reference agrees with
 * PyTorch's logits on the first images of both files. e2e/pytorch.spec.ts runs the WebGPU
 * engine against the same logits.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { parseIdxImages, parseIdxLabels } from '../src/data/idx.js';
import { preprocess } from '../src/model/preprocess.js';
import { seedModel } from '../src/model/presets.js';
import { referenceOutput } from '../src/reference/forward.js';
import { loadWeights } from '../src/formats/load.js';
import { parseSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import {
  compareWithPyTorch,
  kImagesFile,
  kLabelsFile,
  kPyTorchCases,
  readCaseWeights,
  readPyTorchLogits,
  readSummary,
} from './pytorch-fixture.js';

/** The CPU reference is slow (float64, written for obviousness): ~5 s per 1,000 images on the 2-core machine. */
const kReferenceImages = 1000;

const [trained, shipped] = kPyTorchCases as [(typeof kPyTorchCases)[0], (typeof kPyTorchCases)[0]];

test("PyTorch's saved file parses with no __metadata__ as the seed model, every tensor with the module's shape", () => {
  const bytes = readCaseWeights(trained);
  const file = parseSafetensors(bytes);
  expect(file.hasMetadata).toBe(false);
  expect(file.metadata).toEqual({});
  const weights = loadWeights(bytes);
  expect(weights.spec.id).toBe('seed');
  expect(weights.preprocessing).toEqual({ pad: 0, background: 0, ink: 1 });
  expect(weights.metadata).toEqual({});
  for (const { name, shape } of seedModel.tensors) {
    expect(file.tensors.get(name)?.shape, name).toEqual(shape);
    expect(file.tensors.get(name)?.dtype, name).toBe('F32');
  }
  expect([...file.tensors.keys()].sort()).toEqual(seedModel.tensors.map((t) => t.name).sort());
});

test("PyTorch's saved file is byte for byte what writeSafetensors writes for its tensors", () => {
  const bytes = readCaseWeights(trained);
  const tensors = new Map([...parseSafetensors(bytes).tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data }]));
  const ours = writeSafetensors(tensors);
  expect(ours.length).toBe(bytes.length);
  const firstDifference = ours.findIndex((b, i) => b !== bytes[i]);
  expect(firstDifference, `first differing byte at offset ${firstDifference}`).toBe(-1);
});

test("the fixture holds PyTorch's logits for all 10,000 test images of both files, and its accuracies are theirs", () => {
  const summary = readSummary();
  const labels = parseIdxLabels(readFileSync(kLabelsFile));
  for (const c of kPyTorchCases) {
    readCaseWeights(c, summary); // the sha256 it was made from
    const logits = readPyTorchLogits(c);
    expect(logits.length, c.logits).toBe(10_000 * 10);
    expect(summary[c.key].pytorch.count).toBe(10_000);
    // Comparing PyTorch's logits with themselves counts its correct predictions.
    const self = compareWithPyTorch(logits, logits, labels);
    expect(self.correct.pytorch / 10_000, c.logits).toBe(summary[c.key].pytorch.accuracy);
    expect(self.excluded, `${c.logits}: images too close to call`).toEqual([]);
  }
  expect(summary.torch_package).toMatch(/^python3-torch 1\.13\./);
});

for (const c of [trained, shipped]) {
  test(`CPU reference (float64) equals PyTorch on the first ${kReferenceImages.toLocaleString('en')} test images: ${c.title}`, () => {
    const weights = loadWeights(readCaseWeights(c));
    const images = parseIdxImages(readFileSync(kImagesFile));
    const labels = parseIdxLabels(readFileSync(kLabelsFile));
    const pixels = images.pixels.subarray(0, kReferenceImages * 784);
    const scores = referenceOutput(weights, preprocess(pixels, kReferenceImages, weights.preprocessing), kReferenceImages);
    const result = compareWithPyTorch(scores, readPyTorchLogits(c, kReferenceImages), labels);
    console.log(`CPU reference vs PyTorch, ${c.key}: ${result.summary}`);
    expect(result.failures, result.summary).toEqual([]);
  });
}
