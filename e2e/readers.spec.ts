/**
 * The LeNet files of issue 19 as their users save them (tests/fixtures/readers, made by
 * scripts/pytorch/make_reader_fixtures.py with real PyTorch and onnx) through the WebGPU
 * engine in headless Chromium: Dive into Deep Learning's `lenet.params` (nn.Sequential keys,
 * no architecture given), the same Sequential under DataParallel/torch.compile prefixes and in
 * checkpoints, the BN LeNet as .params and as an eval-mode ONNX export, batch norm after a
 * ReLU, a tf2onnx-style Keras graph (NHWC, Transposes, SAME_UPPER/SAME_LOWER, MatMul + Add,
 * Softmax), a computed-Reshape graph, and the CIFAR-10 tutorial Net (3 channels). Each through
 * `createEngine(bytes, …)` as an application calls it, every output within 1e-5 + 1e-4·|maker|
 * of the maker's and the same classes.
 */
import { expect, test } from '@playwright/test';
import { classes, compareWithMaker, fixtureInput, kReaderFixtureDir, kReaderImages, makerOutput, readReaderSummary, type ReaderFixture } from '../tests/reader-fixtures.js';
import { openHarness } from './gpu-page.js';

const summary = readReaderSummary();

interface PageRun {
  readonly file: string;
  readonly backend: string;
  readonly id: string;
  readonly channels: number;
  readonly labels?: readonly string[];
  readonly note?: string;
  readonly scores?: number[];
  readonly error?: string;
}

test('every readers fixture on the WebGPU engine (layered plan): the maker\'s outputs and classes', async ({ browser }) => {
  test.setTimeout(240_000);
  const files = Object.entries(summary.files);
  const page = await openHarness(browser);
  const runs: PageRun[] = await page.evaluate(
    async ({ dir, cases, images }) => {
      const { createEngine } = window.lenet5;
      const adapter = (await navigator.gpu.requestAdapter())!;
      const device = await adapter.requestDevice();
      const out: PageRun[] = [];
      for (const c of cases) {
        const bytes = new Uint8Array(await (await fetch(`/${dir}/${c.file}`)).arrayBuffer());
        try {
          // x = p: the makers fed their nets the images as they are.
          const engine = await createEngine(bytes, {
            backend: 'webgpu', device, plan: 'layered', maxBatch: images, preprocessing: { mean: 0, std: 1 },
            ...(c.architecture ? { architecture: c.architecture } : {}),
          });
          const result = await engine.infer(Float32Array.from(c.input), images);
          out.push({
            file: c.file, backend: engine.backend, id: engine.model.id, channels: engine.model.input.channels,
            ...(engine.model.labels ? { labels: engine.model.labels } : {}),
            ...(engine.model.origin?.note ? { note: engine.model.origin.note } : {}),
            scores: Array.from(result.scores),
          });
          engine.destroy();
        } catch (e) {
          out.push({ file: c.file, backend: '', id: '', channels: 0, error: String(e) });
        }
      }
      device.destroy();
      return out;
    },
    {
      dir: kReaderFixtureDir,
      images: kReaderImages,
      cases: files.map(([file, f]: [string, ReaderFixture]) => ({
        file,
        // State dicts that are not a preset's take their description; d2l-lenet.params is told nothing.
        architecture: f.architecture && !file.endsWith('.onnx') ? f.architecture : undefined,
        input: Array.from(fixtureInput(f)),
      })),
    },
  );
  await page.close();
  const failures: string[] = [];
  for (const run of runs) {
    const fixture = summary.files[run.file]!;
    if (run.error) {
      failures.push(`${run.file}: ${run.error}`);
      continue;
    }
    expect(run.backend, run.file).toBe('webgpu');
    const comparison = compareWithMaker(`${run.file} on WebGPU`, run.scores!, fixture);
    console.log(comparison.message.split('\n')[0]);
    if (comparison.mismatchCount > 0) failures.push(comparison.message);
    const got = classes(run.scores!, kReaderImages).join();
    const want = classes(makerOutput(fixture), kReaderImages).join();
    if (got !== want) failures.push(`${run.file}: classes ${got}, the maker's ${want}`);
    if (fixture.labels) expect(run.labels, run.file).toEqual(fixture.labels);
    expect(run.channels, run.file).toBe(fixture.input.startsWith('colour') ? 3 : 1);
  }
  expect(failures, failures.join('\n')).toEqual([]);
  const d2l = runs.find((r) => r.file === 'd2l-lenet.params')!;
  expect(d2l.id).toBe('seed');
  expect(d2l.note).toContain('0 → conv1, 3 → conv2, 7 → fc1, 9 → fc2, 11 → fc3');
  expect(runs).toHaveLength(files.length);
});
