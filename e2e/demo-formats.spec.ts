/**
 * The demo page (index.html) with the visitor's own LeNet: PyTorch state_dicts (.pth),
 * ONNX exports and safetensors made by real PyTorch (tests/fixtures/family, made by
 * scripts/pytorch/make_family_fixtures.py), loaded through the file input and the drop zone.
 * Checks the architecture the page shows against the library's own reading of the same bytes
 * in Node, every layer's panel (maps per conv/pool layer, strips for dense layers), the
 * predictions against PyTorch's logits for the same MNIST test images, the preset picker for a
 * state_dict that fits two presets, and bad files: the loader's plain error, the previous
 * model still predicting.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { loadWeights, type LoadOptions } from '../src/formats/load.js';
import { modelInfo, type ModelInfo } from '../src/model/model-weights.js';
import type { LayerSpec, ModelSpec } from '../src/model/spec.js';
import { mapColumns } from '../pages/demo/viz.js';
import { classes, kReaderFixtureDir, kReaderImages, makerOutput, readReaderSummary } from '../tests/reader-fixtures.js';

const kFamily = 'tests/fixtures/family';
/** MNIST test images whose predictions are compared with PyTorch's (all in the page's strip of 50). */
const kImages = [0, 1, 2, 3, 4, 5];

type Stroke = ReadonlyArray<readonly [number, number]>;
/** A 7 and a 1 as drawn with a mouse (pad coordinates 0..1). */
const kSeven: Stroke[] = [[[0.28, 0.2], [0.72, 0.2], [0.58, 0.45], [0.45, 0.85]]];
const kOne: Stroke[] = [[[0.52, 0.15], [0.5, 0.5], [0.48, 0.85]]];

interface Fixture {
  readonly name: string;
  readonly bytes: Buffer;
  readonly info: ModelInfo;
  readonly spec: ModelSpec;
}

/** A fixture file and what the library makes of it in Node (the page must show the same). */
function fixture(name: string, options: LoadOptions = {}): Fixture {
  const bytes = readFileSync(`${kFamily}/${name}`);
  const weights = loadWeights(new Uint8Array(bytes), options);
  return { name, bytes, info: modelInfo(weights), spec: weights.spec };
}

/** The error the library gives for a file, in Node. */
function loadError(bytes: Uint8Array, options: LoadOptions = {}): string {
  try {
    loadWeights(bytes, options);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the file to fail to load');
}

/** PyTorch's class for MNIST test image `index` (argmax of its saved logits). */
function pytorchClass(logitsFile: string, index: number): number {
  const bytes = readFileSync(`${kFamily}/${logitsFile}`);
  const logits = new Float32Array(bytes.buffer, bytes.byteOffset + index * 40, 10);
  let best = 0;
  for (let c = 1; c < 10; c++) if (logits[c]! > logits[best]!) best = c;
  return best;
}

async function openDemo(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.locator('#adapter')).not.toHaveText('–');
  await expect(page.locator('#strip button')).toHaveCount(50);
  expect(errors, 'uncaught errors on the page').toEqual([]);
}

async function draw(page: Page, strokes: readonly Stroke[]): Promise<void> {
  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(page.getByRole('status')).toHaveText('–');
  const pad = page.getByLabel('Drawing pad');
  await pad.scrollIntoViewIfNeeded();
  const box = (await pad.boundingBox())!;
  for (const stroke of strokes) {
    await page.mouse.move(box.x + stroke[0]![0] * box.width, box.y + stroke[0]![1] * box.height);
    await page.mouse.down();
    for (const [x, y] of stroke.slice(1)) await page.mouse.move(box.x + x * box.width, box.y + y * box.height, { steps: 6 });
    await page.mouse.up();
  }
}

async function chooseFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  await page.locator('#weights-file').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: bytes });
}

function fact(page: Page, key: string): Locator {
  return page.locator(`#model-facts dd[data-fact="${key}"]`);
}

/**
 * The engine settles on the whole-network kernel, and the page says so. Caffe's takes 30–70 s
 * to compile on SwiftShader, in the browser's GPU process, which the next test's page shares:
 * a test that loads it waits for it, so the next page does not start behind that compile.
 */
async function expectWholeNetworkKernel(page: Page): Promise<void> {
  const kernels = page.locator('#kernels');
  await expect(kernels).toHaveAttribute('data-settled', 'true', { timeout: 180_000 });
  await expect(kernels).toHaveText('whole network');
}

/** The panel of the model's `index`-th layer. */
function blockOf(page: Page, index: number): Locator {
  return page.locator('#layers > .layer').nth(index);
}

/** The facts and every layer's panel show `fixture`'s model, loaded as `fileName`. */
async function expectModelShown(page: Page, fileName: string, { info, spec }: Fixture): Promise<void> {
  await expect(page.getByRole('radio', { name: `Your file: ${fileName}` })).toBeChecked();
  await expect(page.getByRole('alert')).toBeHidden();
  await expect(fact(page, 'architecture')).toHaveText(info.summary);
  await expect(fact(page, 'model')).toHaveText(info.title);
  await expect(fact(page, 'layers')).toHaveText(info.layers.join(', '));
  await expect(page.locator('#inside-model')).toHaveText(info.title);
  await expect(page.locator('#layers > .layer')).toHaveCount(spec.layers.length);
  for (const [index, layer] of spec.layers.entries()) {
    const block = blockOf(page, index);
    await expect(block, `layer ${index}`).toHaveAttribute('data-layer', layer.name);
    await expect(block.locator('h3')).toHaveText(new RegExp(`^${escapeRegExp(layer.name)} `));
    await expectLayerPanel(block, layer, index === spec.layers.length - 1, spec.layers[index + 1]);
  }
}

async function expectLayerPanel(block: Locator, layer: LayerSpec, last: boolean, next: LayerSpec | undefined): Promise<void> {
  if (last) {
    await expect(block).toHaveClass(/output/);
    await expect(block.locator('canvas')).toHaveCount(0);
    return;
  }
  switch (layer.kind) {
    case 'conv5x5':
      await expect(block.locator('canvas.map')).toHaveCount(layer.outChannels);
      await expect(block.locator('h3 span')).toContainText(`${layer.outChannels} maps of ${layer.outSize}×${layer.outSize}, 5×5 convolution`);
      break;
    case 'subsample2x2':
      await expect(block.locator('canvas.map')).toHaveCount(layer.channels);
      await expect(block.locator('h3 span')).toContainText(`${layer.channels} maps of ${layer.outSize}×${layer.outSize}`);
      break;
    case 'dense':
      if (next?.kind === 'rbf' && layer.outFeatures === 84) {
        // The paper's F6: a 7×12 picture beside the closest RBF centre.
        await expect(block.locator('canvas#f6')).toHaveCount(1);
        await expect(block.locator('canvas#closest')).toHaveCount(1);
      } else {
        await expect(block.locator('canvas.units')).toHaveCount(1);
      }
      await expect(block.locator('h3 span')).toContainText(`${layer.outFeatures} units`);
      break;
    case 'scale-shift':
      // A batch norm that could not fold into the layer before it: maps, or a strip of units.
      await expect(block.locator(layer.size === undefined ? 'canvas.units' : 'canvas.map')).toHaveCount(layer.size === undefined ? 1 : layer.channels);
      await expect(block.locator('h3 span')).toContainText(layer.size === undefined ? 'batch norm (per-unit scale and shift)' : 'batch norm (per-channel scale and shift)');
      break;
    case 'rbf':
    case 'softmax':
      throw new Error(`layer ${layer.name} (${layer.kind}) is not the last`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A model's first predictions can wait for kernels still compiling (its fused plan, its
 * 1-image activations plan): on SwiftShader, sharing two cores, that has taken over 30 s.
 */
const kFirstRun = { timeout: 120_000 };

/** The page's predictions for the strip's MNIST test images equal PyTorch's. */
async function expectPyTorchPredictions(page: Page, logitsFile: string): Promise<void> {
  for (const index of kImages) {
    await page.locator('#strip button').nth(index).click();
    await expect(page.locator('#prediction-note')).toContainText(`MNIST test image ${index},`, kFirstRun);
    await expect(page.getByRole('status'), `MNIST test image ${index}`).toHaveText(String(pytorchClass(logitsFile, index)));
  }
}

test('ONNX exports run as their graphs say: architecture, every layer’s maps, PyTorch’s predictions', async ({ page }) => {
  test.setTimeout(480_000); // five models built on SwiftShader, two shared cores
  await openDemo(page);
  for (const [file, model, caption] of [
    ['seed.onnx', 'seed', 'Softmax probability'],
    ['pytorch-tutorial.onnx', 'pytorch-tutorial', 'Softmax probability'],
    ['caffe-lenet.onnx', 'caffe-lenet', 'Softmax probability'],
    ['lenet-tanh.onnx', 'lenet-tanh', 'Softmax probability'],
    ['lenet-logsoftmax.onnx', 'lenet-logsoftmax', 'Probability of each digit (exp of'],
  ] as const) {
    const loaded = fixture(file);
    await chooseFile(page, file, loaded.bytes);
    await expectModelShown(page, file, loaded);
    await expect(fact(page, 'format')).toHaveText('ONNX');
    await expect(fact(page, 'identified')).toHaveText('read from the file (its ONNX graph)');
    await expect(page.locator('#origin-note')).toBeHidden();
    await expect(page.locator('#scores-caption')).toContainText(caption);
    await expectPyTorchPredictions(page, `${model}.logits.f32`);
    // The bars are probabilities however the model ends (logits or log-softmax).
    const values = await page.locator('.score .value').allTextContents();
    expect(values.reduce((sum, text) => sum + Number.parseFloat(text), 0), values.join(' ')).toBeCloseTo(100, 0);
    // Caffe's whole-network kernel compiles for 40 s or more in the GPU process, which no page
    // can cancel: the next model's kernels, and the next test's page, would wait behind it.
    if (model === 'caffe-lenet') await expectWholeNetworkKernel(page);
  }
  await draw(page, kSeven);
  await expect(page.getByRole('status'), 'a drawn 7, read by the log-softmax LeNet').toHaveText('7');
});

test('20 and 50 maps lay out in rows that fit the card (Caffe’s LeNet), dropped on the page', async ({ page }) => {
  test.setTimeout(240_000);
  await openDemo(page);
  const caffe = fixture('caffe-lenet.onnx');
  const dataTransfer = await page.evaluateHandle(
    ([fileName, base64]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], fileName));
      return transfer;
    },
    ['caffe-lenet.onnx', caffe.bytes.toString('base64')] as const,
  );
  await page.locator('#drop-zone').dispatchEvent('dragover', { dataTransfer });
  await page.locator('#drop-zone').dispatchEvent('drop', { dataTransfer });
  await expectModelShown(page, 'caffe-lenet.onnx', caffe);
  await draw(page, kOne);
  await expect(page.getByRole('status')).toHaveText('1', kFirstRun);
  const card = (await page.locator('.card.inside').boundingBox())!;
  for (const [name, count] of [['conv1', 20], ['pool1', 20], ['conv2', 50], ['pool2', 50]] as const) {
    const boxes = await page.locator(`#layers > .layer[data-layer="${name}"] canvas.map`).evaluateAll((canvases) =>
      canvases.map((c) => c.getBoundingClientRect().toJSON() as { x: number; y: number; width: number; right: number }),
    );
    expect(boxes).toHaveLength(count);
    const firstRow = boxes.filter((b) => Math.abs(b.y - boxes[0]!.y) < 1).length;
    expect(firstRow, `${name}: maps in the first row`).toBe(mapColumns(count));
    expect(Math.min(...boxes.map((b) => b.width)), `${name}: narrowest map (px)`).toBeGreaterThan(12);
    expect(Math.max(...boxes.map((b) => b.right)), `${name}: maps inside the card`).toBeLessThanOrEqual(card.x + card.width);
  }
  // The dense layer of 500 units is one strip; the page does not scroll sideways.
  await expect(page.locator('#layers > .layer[data-layer="ip1"] canvas.units')).toHaveCount(1);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await expectWholeNetworkKernel(page);
});

test('a state_dict that fits two presets: the page says which it assumed, and the picker runs it as the other', async ({ page }) => {
  test.setTimeout(300_000);
  await openDemo(page);
  const assumed = fixture('pytorch-tutorial.pth');
  expect(assumed.info.origin?.architectureFrom).toBe('tensors');
  expect(assumed.info.id, 'the tutorial Net has the seed’s tensor names and shapes').toBe('seed');
  await chooseFile(page, 'pytorch-tutorial.pth', assumed.bytes);
  await expectModelShown(page, 'pytorch-tutorial.pth', assumed);
  await expect(fact(page, 'format')).toHaveText('PyTorch .pth (state_dict)');
  await expect(fact(page, 'identified')).toHaveText('assumed from the tensors’ names and shapes: the \'seed\' preset');
  await expect(page.locator('#origin-note')).toHaveText(assumed.info.origin!.note!);
  await expect(page.locator('#origin-note')).toContainText("'pytorch-tutorial'");
  const picker = page.getByLabel('Network of a file that does not say which');
  await expect(picker.locator('option[value="seed"]')).toContainText('(fits this file)');
  await expect(picker.locator('option[value="pytorch-tutorial"]')).toContainText('(fits this file)');
  await expect(picker.locator('option[value="caffe-lenet"]')).not.toContainText('(fits this file)');

  // Run the same bytes as the tutorial's Net: ReLU, max pooling, 32×32.
  await picker.selectOption('pytorch-tutorial');
  const chosen = fixture('pytorch-tutorial.pth', { architecture: 'pytorch-tutorial' });
  await expect(fact(page, 'identified')).toHaveText("chosen: the 'pytorch-tutorial' preset");
  await expectModelShown(page, 'pytorch-tutorial.pth', chosen);
  await expect(page.locator('#origin-note')).toBeHidden();
  await expect(page.locator('#seen-caption')).toContainText('32×32');
  await expectPyTorchPredictions(page, 'pytorch-tutorial.logits.f32');

  // A preset the tensors do not fit: the loader's error; the tutorial Net keeps working.
  await picker.selectOption('caffe-lenet');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText("Could not run pytorch-tutorial.pth as the 'caffe-lenet' preset");
  await expect(alert).toContainText(loadError(new Uint8Array(assumed.bytes), { architecture: 'caffe-lenet' }));
  await expect(picker).toHaveValue('pytorch-tutorial');
  await expect(fact(page, 'identified')).toHaveText("chosen: the 'pytorch-tutorial' preset");
  await draw(page, kSeven);
  await expect(page.getByRole('status')).toHaveText('7');

  // Back to the shipped models and to the file: each shows its own layers.
  await page.getByRole('radio', { name: /^Classic/ }).check();
  await expect(page.locator('#layers > .layer')).toHaveCount(7);
  await expect(blockOf(page, 0)).toHaveAttribute('data-layer', 'C1');
  await expect(page.locator('#layers > .layer[data-layer="F6"] #f6')).toBeVisible();
  await expect(page.locator('#closest-caption')).toHaveText('closest centre: 7');
  await page.getByRole('radio', { name: /^Seed/ }).check();
  await expect(blockOf(page, 0)).toHaveAttribute('data-layer', 'conv1');
  await expect(page.locator('#layers > .layer[data-layer="fc2"] canvas.units')).toHaveCount(1);
  await expect(page.locator('#f6')).toHaveCount(0);
  await page.getByRole('radio', { name: 'Your file: pytorch-tutorial.pth' }).check();
  await expectModelShown(page, 'pytorch-tutorial.pth', chosen);
  await expect(page.getByRole('status')).toHaveText('7');
});

test('a preset chosen before loading applies to a state_dict; a file that declares its network runs as it says', async ({ page }) => {
  test.setTimeout(300_000);
  await openDemo(page);
  const picker = page.getByLabel('Network of a file that does not say which');
  await picker.selectOption('pytorch-tutorial');
  await expect(page.locator('#architecture-hint')).toContainText('Used for the next file you load');

  const tutorial = fixture('pytorch-tutorial.safetensors', { architecture: 'pytorch-tutorial' });
  await chooseFile(page, 'pytorch-tutorial.safetensors', tutorial.bytes);
  await expectModelShown(page, 'pytorch-tutorial.safetensors', tutorial);
  await expect(fact(page, 'format')).toHaveText('safetensors');
  await expect(fact(page, 'identified')).toHaveText("chosen: the 'pytorch-tutorial' preset");
  await expectPyTorchPredictions(page, 'pytorch-tutorial.logits.f32');

  const seed = fixture('seed.onnx');
  await chooseFile(page, 'seed.onnx', seed.bytes);
  await expectModelShown(page, 'seed.onnx', seed);
  await expect(fact(page, 'identified')).toHaveText('read from the file (its ONNX graph)');
  await expect(page.locator('#architecture-hint')).toContainText('declares its network');

  // Back to recognising: a seed state_dict is assumed to be the seed, and says so.
  await picker.selectOption('');
  const seedPth = fixture('seed.pth');
  await chooseFile(page, 'seed.pth', seedPth.bytes);
  await expectModelShown(page, 'seed.pth', seedPth);
  await expect(page.locator('#origin-note')).toHaveText(seedPth.info.origin!.note!);
  await expectPyTorchPredictions(page, 'seed.logits.f32');
});

test('any file name: the picker filters nothing; d2l’s lenet.params and an extensionless state_dict load through it', async ({ page }) => {
  test.setTimeout(300_000);
  await openDemo(page);
  const input = page.locator('#weights-file');
  // An `accept` list would grey out files whose names it does not know (.params, .tar, .ckpt, .bin,
  // no extension) in the system's file chooser; the format is sniffed from the bytes instead.
  await expect(input).not.toHaveAttribute('accept');
  await expect(page.locator('#drop-zone')).toContainText('.params');
  const choose = async (name: string, bytes: Buffer) => {
    const chooser = page.waitForEvent('filechooser');
    await page.locator('#drop-zone .file-button').click();
    await (await chooser).setFiles({ name, mimeType: '', buffer: bytes });
  };

  // Dive into Deep Learning's LeNet as the book saves it: nn.Sequential keys 0.weight, 3.weight, …
  const bytes = readFileSync(`${kReaderFixtureDir}/d2l-lenet.params`);
  const d2l = { name: 'lenet.params', bytes, ...(() => {
    const weights = loadWeights(new Uint8Array(bytes));
    return { info: modelInfo(weights), spec: weights.spec };
  })() };
  await choose('lenet.params', bytes);
  await expectModelShown(page, 'lenet.params', d2l);
  await expect(fact(page, 'format')).toHaveText('PyTorch .pth (state_dict)');
  await expect(page.locator('#origin-note')).toContainText('matched by order, role and shape: 0 → conv1, 3 → conv2, 7 → fc1');
  // The book's predictions (PyTorch's outputs for the first MNIST test images).
  const book = classes(makerOutput(readReaderSummary().files['d2l-lenet.params']!), kReaderImages);
  for (const [index, expected] of book.entries()) {
    await page.locator('#strip button').nth(index).click();
    await expect(page.locator('#prediction-note')).toContainText(`MNIST test image ${index},`, kFirstRun);
    await expect(page.getByRole('status'), `MNIST test image ${index}`).toHaveText(String(expected));
  }

  const seed = fixture('seed.pth');
  await choose('cifar_net', seed.bytes);
  await expectModelShown(page, 'cifar_net', seed);
  await expectPyTorchPredictions(page, 'seed.logits.f32');
});

test('bad files: the loader’s plain error, and the previous model keeps predicting', async ({ page }) => {
  test.setTimeout(300_000);
  await openDemo(page);
  const caffe = fixture('caffe-lenet.pth');
  expect(caffe.info.id).toBe('caffe-lenet');
  await chooseFile(page, 'caffe-lenet.pth', caffe.bytes);
  await expectModelShown(page, 'caffe-lenet.pth', caffe);
  await expect(page.locator('#origin-note')).toHaveText(caffe.info.origin!.note!);

  const alert = page.getByRole('alert');
  const hostileName = '<img src=x onerror="document.title=1">.pth';
  for (const [name, bytes] of [
    ['seed-module.pth', readFileSync(`${kFamily}/seed-module.pth`)], // torch.save(model): a whole module
    ['seq.params', readFileSync('tests/fixtures/readers/seq.params')], // a few-channel nn.Sequential: no preset fits by names, order or shapes
    ['unsupported-op.onnx', readFileSync(`${kFamily}/unsupported-op.onnx`)], // a Softplus node
    ['truncated.onnx', readFileSync(`${kFamily}/seed.onnx`).subarray(0, 5000)],
    [hostileName, Buffer.from('PK\u0003\u0004 <b>not a zip</b>')],
  ] as const) {
    await chooseFile(page, name, Buffer.from(bytes));
    await expect(alert).toContainText(`Could not load ${name}: `);
    await expect(alert).toContainText(loadError(new Uint8Array(bytes)));
    await expect(alert).toContainText('Still using the model from caffe-lenet.pth.');
    if (name === 'seed-module.pth') await expect(alert, 'a whole module: save the state_dict').toContainText('state_dict');
    await expect(alert.locator('*'), 'the error is text, never HTML').toHaveCount(0);
    await expect(page.getByRole('radio', { name: 'Your file: caffe-lenet.pth' })).toBeChecked();
    await expect(fact(page, 'architecture')).toHaveText(caffe.info.summary);
    await expectPyTorchPredictions(page, 'caffe-lenet.logits.f32');
  }
  expect(await page.title()).not.toBe('1');
  await draw(page, kSeven);
  await expect(page.getByRole('status')).toHaveText('7');
  await expectWholeNetworkKernel(page);
});

/**
 * The README's screenshot of a loaded PyTorch model is rewritten only with UPDATE_SCREENSHOTS=1
 * (as e2e/demo.spec.ts does); otherwise it goes to the test's output folder, so a test run
 * leaves the tree clean.
 */
test('screenshot of the demo with the PyTorch tutorial’s Net loaded from its state_dict', async ({ browser }, testInfo) => {
  test.setTimeout(240_000);
  const path = process.env['UPDATE_SCREENSHOTS'] === '1' ? 'docs/screenshot-formats.png' : testInfo.outputPath('screenshot-formats.png');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await openDemo(page);
  // The state_dict as `torch.save(net.state_dict(), path)` wrote it, run as the tutorial's Net.
  await chooseFile(page, 'pytorch-tutorial.pth', readFileSync(`${kFamily}/pytorch-tutorial.pth`));
  await page.getByLabel('Network of a file that does not say which').selectOption('pytorch-tutorial');
  await expectModelShown(page, 'pytorch-tutorial.pth', fixture('pytorch-tutorial.pth', { architecture: 'pytorch-tutorial' }));
  await draw(page, kSeven);
  await expect(page.getByRole('status')).toHaveText('7');
  await expect(page.locator('#saliency'), 'the saliency map is drawn').toHaveAttribute('data-target', '7', { timeout: 60_000 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'the page scrolls sideways').toBeLessThanOrEqual(0);
  // The whole page in one viewport: a stitched full-page capture can drop parts of a busy page.
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 1280, height });
  await page.waitForTimeout(300); // let the last throttled repaint land
  await page.screenshot({ path });
  await context.close();
});
