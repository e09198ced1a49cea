/**
 * LeNet-family models as their users save them, through the WebGPU engine in headless
 * Chromium, against real PyTorch (1.13; tests/fixtures/family, made by
 * scripts/pytorch/make_family_fixtures.py, no PyTorch needed here): PyTorch `.pth` state_dicts
 * (`torch.save(model.state_dict(), path)`), ONNX exports (`torch.onnx.export`, opsets 9–17) and
 * a safetensors file, for the seed model, PyTorch's tutorial Net, a tanh LeNet, Caffe's MNIST
 * LeNet and a log-softmax net. Every output within |engine − PyTorch| ≤ 1e-5 + 1e-4·|PyTorch|
 * and the same class wherever PyTorch's top-two margin exceeds 1e-4, on the first 1,000 MNIST
 * test images, on the layered plan and (for one file of each model at least) the fused one,
 * which runs every member here (the models it declines: e2e/fused.spec.ts).
 *
 * The page fetches the file and calls the public API (`createEngine(bytes, { architecture })`)
 * exactly as an application would: the format is sniffed from the bytes.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { parseIdxLabels } from '../src/data/idx.js';
import type { PlanKind } from '../src/gpu/plans.js';
import type { ArchitectureJson } from '../src/model/architecture.js';
import { compareWithPyTorch, kImagesFile, kLabelsFile } from '../tests/pytorch-fixture.js';
import { openHarness } from './gpu-page.js';

const kDir = 'tests/fixtures/family';
const kImages = 1000;

interface FamilyCase {
  readonly file: string;
  /** Which PyTorch logits file holds its outputs (`<logits>.logits.f32`). */
  readonly logits: string;
  /** The architecture option, for files that do not say (state_dicts): a preset or a JSON description. */
  readonly architecture?: string | ArchitectureJson;
  /** What engine.model.summary must say (the architecture as read). */
  readonly summary: string;
  /** Plans to run: the fused plan where it covers the model. */
  readonly plans: readonly PlanKind[];
}

const kSeedSummary = '28×28 → conv 1→6 5×5 pad 2, sigmoid → avg pool → conv 6→16 5×5, sigmoid → avg pool → dense 400→120, sigmoid → dense 120→84, sigmoid → dense 84→10 ⇒ logits';
const kTutorialSummary = '32×32 → conv 1→6 5×5, relu → max pool → conv 6→16 5×5, relu → max pool → dense 400→120, relu → dense 120→84, relu → dense 84→10 ⇒ logits';
const kCaffeSummary = '28×28 → conv 1→20 5×5 → max pool → conv 20→50 5×5 → max pool → dense 800→500, relu → dense 500→10 ⇒ logits';
const kTanhSummary = '28×28 → conv 1→6 5×5 pad 2, tanh → avg pool → conv 6→16 5×5, tanh → avg pool → dense 400→120, tanh → dense 120→84, tanh → dense 84→10 ⇒ logits';

/** The tanh LeNet's state_dict keys are nn.Sequential's: its description names them. */
const kTanhJson: ArchitectureJson = {
  inputSize: 28,
  layers: [
    { type: 'conv', name: 'features.0', outChannels: 6, padding: 2, activation: 'tanh' },
    { type: 'pool', mode: 'average' },
    { type: 'conv', name: 'features.3', outChannels: 16, activation: 'tanh' },
    { type: 'pool', mode: 'average' },
    { type: 'dense', name: 'classifier.0', outFeatures: 120, activation: 'tanh' },
    { type: 'dense', name: 'classifier.2', outFeatures: 84, activation: 'tanh' },
    { type: 'dense', name: 'classifier.4', outFeatures: 10 },
  ],
};
const kLogSoftmaxSummary = '28×28 → conv 1→6 5×5 pad 2, relu → max pool → conv 6→16 5×5, relu → max pool → dense 400→120, relu → dense 120→84, relu → dense 84→10 → log-softmax ⇒ log-probabilities';

const kCases: readonly FamilyCase[] = [
  { file: 'seed.pth', logits: 'seed', summary: kSeedSummary, plans: ['layered', 'fused'] },
  { file: 'seed.onnx', logits: 'seed', summary: kSeedSummary, plans: ['layered', 'fused'] },
  { file: 'pytorch-tutorial.pth', logits: 'pytorch-tutorial', architecture: 'pytorch-tutorial', summary: kTutorialSummary, plans: ['layered', 'fused'] },
  { file: 'pytorch-tutorial.onnx', logits: 'pytorch-tutorial', summary: kTutorialSummary, plans: ['layered', 'fused'] },
  { file: 'pytorch-tutorial.safetensors', logits: 'pytorch-tutorial', architecture: 'pytorch-tutorial', summary: kTutorialSummary, plans: ['layered'] },
  { file: 'lenet-tanh.onnx', logits: 'lenet-tanh', summary: kTanhSummary, plans: ['layered', 'fused'] },
  // Caffe's wide convs (20 and 1,000 kernels) on the fused plan too: its two lane kernels compile for a minute or more.
  { file: 'caffe-lenet.onnx', logits: 'caffe-lenet', summary: kCaffeSummary, plans: ['layered', 'fused'] },
  { file: 'caffe-lenet.pth', logits: 'caffe-lenet', architecture: 'caffe-lenet', summary: kCaffeSummary, plans: ['layered'] },
  { file: 'lenet-tanh.pth', logits: 'lenet-tanh', architecture: kTanhJson, summary: kTanhSummary, plans: ['layered'] },
  { file: 'lenet-logsoftmax.onnx', logits: 'lenet-logsoftmax', summary: kLogSoftmaxSummary, plans: ['layered', 'fused'] },
];

/**
 * The seed's weights in other encodings: views with offsets and strides, float64 and float16
 * storages, the legacy (pre-1.6) format, ONNX with MatMul + Add and with typed fields. One
 * device for all, so the fused kernel (which bakes the weights in) compiles once.
 */
const kSeedEncodings: ReadonlyArray<{ file: string; logits: string }> = [
  { file: 'seed-views.pth', logits: 'seed' },
  { file: 'seed-float64.pth', logits: 'seed' },
  { file: 'seed-legacy.pth', logits: 'seed' },
  { file: 'seed-matmul.onnx', logits: 'seed' },
  { file: 'seed-typed-fields.onnx', logits: 'seed' },
  { file: 'seed-float16.pth', logits: 'seed-float16' },
];

test(`the seed's weights in other encodings (${kSeedEncodings.map((e) => e.file).join(', ')}), fused plan: outputs equal PyTorch's on ${kImages.toLocaleString('en')} MNIST test images`, async ({ browser }) => {
  test.setTimeout(300_000);
  const labels = parseIdxLabels(readFileSync(kLabelsFile)).subarray(0, kImages);
  const page = await openHarness(browser);
  const runs = await page.evaluate(
    async ({ urls, imagesUrl, images }) => {
      const { createEngine, parseIdxImages, recommendedFeatures } = window.lenet5;
      const adapter = (await navigator.gpu.requestAdapter())!;
      const device = await adapter.requestDevice({ requiredFeatures: recommendedFeatures(adapter) });
      const file = parseIdxImages(new Uint8Array(await (await fetch(imagesUrl)).arrayBuffer()));
      const out: Array<{ summary: string; plan: string; scores: number[] }> = [];
      for (const url of urls) {
        const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
        const engine = await createEngine(bytes, { backend: 'webgpu', device, plan: 'fused', maxBatch: images });
        const result = await engine.infer(file.pixels.subarray(0, images * 784), images);
        out.push({ summary: engine.model.summary, plan: (engine as unknown as { plan: string }).plan, scores: Array.from(result.scores) });
        engine.destroy();
      }
      device.destroy();
      return out;
    },
    { urls: kSeedEncodings.map((e) => `/${kDir}/${e.file}`), imagesUrl: `/${kImagesFile}`, images: kImages },
  );
  await page.close();
  for (const [i, { file, logits }] of kSeedEncodings.entries()) {
    const run = runs[i]!;
    expect(run.summary, file).toBe(kSeedSummary);
    expect(run.plan, file).toBe('fused');
    const expected = new Float32Array(readFileSync(`${kDir}/${logits}.logits.f32`).buffer.slice(0)).subarray(0, kImages * 10);
    const result = compareWithPyTorch(run.scores, expected, labels);
    console.log(`${file}, fused plan: ${result.summary}`);
    expect(result.failures, `${file} vs PyTorch: ${result.summary}\n${result.failures.join('\n')}`).toEqual([]);
  }
});

interface PageRun {
  backend: string;
  plan: string;
  planFallbackReason: string | undefined;
  summary: string;
  format: string | undefined;
  scores: number[];
  seconds: number;
}

for (const c of kCases) {
  for (const plan of c.plans) {
    const arch = c.architecture === undefined ? '' : typeof c.architecture === 'string' ? ` (architecture '${c.architecture}')` : ' (a JSON architecture)';
    test(`${c.file}${arch}, ${plan} plan: outputs equal PyTorch's on ${kImages.toLocaleString('en')} MNIST test images`, async ({ browser }) => {
      test.setTimeout(c.logits === 'caffe-lenet' && plan === 'fused' ? 480_000 : 180_000);
      const expected = new Float32Array(readFileSync(`${kDir}/${c.logits}.logits.f32`).buffer.slice(0)).subarray(0, kImages * 10);
      const labels = parseIdxLabels(readFileSync(kLabelsFile)).subarray(0, kImages);
      const page = await openHarness(browser);
      const run: PageRun = await page.evaluate(
        async ({ url, imagesUrl, architecture, plan, images }) => {
          const { createEngine, parseIdxImages, WebGpuEngine } = window.lenet5;
          const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
          const file = parseIdxImages(new Uint8Array(await (await fetch(imagesUrl)).arrayBuffer()));
          const engine = await createEngine(bytes, { backend: 'webgpu', plan, maxBatch: images, ...(architecture ? { architecture } : {}) });
          const started = performance.now();
          try {
            const result = await engine.infer(file.pixels.subarray(0, images * 784), images);
            return {
              backend: engine.backend,
              plan: engine.plan ?? 'cpu',
              planFallbackReason: engine instanceof WebGpuEngine ? engine.planFallbackReason : undefined,
              summary: engine.model.summary,
              format: engine.model.origin?.format,
              scores: Array.from(result.scores),
              seconds: (performance.now() - started) / 1000,
            };
          } finally {
            engine.destroy();
          }
        },
        { url: `/${kDir}/${c.file}`, imagesUrl: `/${kImagesFile}`, architecture: c.architecture, plan, images: kImages },
      );
      await page.close();
      expect(run.backend).toBe('webgpu');
      expect(run.summary).toBe(c.summary);
      expect(run.format).toBe(c.file.split('.').pop() === 'pth' ? 'pth' : c.file.split('.').pop());
      expect(run.plan, `plan fallback: ${run.planFallbackReason ?? 'none'}`).toBe(plan);
      const result = compareWithPyTorch(run.scores, expected, labels);
      console.log(`${c.file}, ${plan} plan, ${run.seconds.toFixed(1)} s: ${result.summary}`);
      expect(result.failures, `WebGPU (${plan} plan) vs PyTorch: ${result.summary}\n${result.failures.join('\n')}`).toEqual([]);
    });
  }
}
