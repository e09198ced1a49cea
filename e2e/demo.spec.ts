/**
 * The demo page (index.html) as a visitor uses it: drawing digits with the mouse, clearing,
 * switching models, loading weights files good and bad, the MNIST strip, and the page without
 * WebGPU. Predictions come from the shipped trained weights.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { loadWeights } from '../src/formats/load.js';
import { draw, kDigits } from './drawing.js';

async function drawAndExpect(page: Page, digit: string): Promise<void> {
  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(page.getByRole('status')).toHaveText('–');
  await draw(page, kDigits[digit]!);
  await expect(page.getByRole('status'), `the pad shows a drawn ${digit}`).toHaveText(digit);
}

async function openDemo(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.locator('#adapter')).not.toHaveText('–');
  expect(errors, 'uncaught errors on the page').toEqual([]);
}

for (const model of ['Classic', 'Seed'] as const) {
  test(`the ${model.toLowerCase()} model reads all ten digits drawn with the mouse`, async ({ page }) => {
    test.setTimeout(240_000); // ten drawings on a busy 2-core machine, WebGPU on SwiftShader
    await openDemo(page);
    await page.getByRole('radio', { name: new RegExp(`^${model}`) }).check();
    for (const digit of Object.keys(kDigits)) await drawAndExpect(page, digit);
  });
}

test('predicts live while the pen is down; switching models re-classifies; Clear empties the pad', async ({ page }) => {
  await openDemo(page);
  await expect(page.locator('#backend')).toHaveText('WebGPU');
  await expect(page.getByRole('radio', { name: /^Classic/ })).toBeChecked();
  await expect(page.locator('#scores-caption')).toContainText('RBF distance');
  await expect(page.getByLabel('RBF centre of 7')).toBeVisible();

  // Live: the digit is read before the button is released.
  const box = (await page.getByLabel('Drawing pad').boundingBox())!;
  const [start, ...rest] = kDigits['1']![0]!;
  await page.mouse.move(box.x + start![0] * box.width, box.y + start![1] * box.height);
  await page.mouse.down();
  for (const [x, y] of rest) await page.mouse.move(box.x + x * box.width, box.y + y * box.height, { steps: 6 });
  await expect(page.getByRole('status')).toHaveText('1');
  await page.mouse.up();
  await expect(page.locator('#timing')).toContainText('ms');
  const winner = page.locator('.score.win .value');
  await expect(winner).not.toContainText('%'); // a distance

  await page.getByRole('radio', { name: /^Seed/ }).check();
  await expect(page.locator('#scores-caption')).toContainText('Softmax probability');
  await expect(page.getByLabel('RBF centre of 7')).toBeHidden();
  // The drawing on the pad is classified again, by the new model: probabilities now.
  await expect(winner).toContainText('%');
  await expect(page.getByRole('status')).toHaveText('1');
  const probabilities = await page.locator('.score .value').allTextContents();
  const total = probabilities.reduce((sum, text) => sum + Number.parseFloat(text), 0);
  expect(total, `softmax bars ${probabilities.join(' ')}`).toBeCloseTo(100, 0);
  await drawAndExpect(page, '7');

  await page.getByRole('radio', { name: /^Classic/ }).check();
  await expect(page.locator('#scores-caption')).toContainText('RBF distance');
  await expect(winner).not.toContainText('%');
  await expect(page.getByRole('status')).toHaveText('7');
  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(page.getByRole('status')).toHaveText('–');
  await expect(page.locator('.score.win')).toHaveCount(0);
  expect((await page.locator('.score .value').allTextContents()).join('')).toBe('');
});

test('the network’s view and its feature maps are drawn for the current input', async ({ page }) => {
  await openDemo(page);
  await draw(page, kDigits['7']!);
  await expect(page.getByRole('status')).toHaveText('7');
  await expect(page.locator('#seen-caption')).toContainText('32×32');
  for (const [layer, maps] of [['C1', 6], ['S2', 6], ['C3', 16], ['S4', 16]] as const) {
    await expect(page.locator(`#maps-${layer} canvas`)).toHaveCount(maps);
  }
  await expect(page.locator('#closest-caption')).toHaveText('closest centre: 7');
  // The seen image holds the digitized drawing: some ink, mostly background.
  const inked = await page.locator('#seen').evaluate((canvas: HTMLCanvasElement) => {
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let dark = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i]! < 128) dark++;
    return { dark, size: canvas.width };
  });
  expect(inked.size).toBe(32);
  expect(inked.dark).toBeGreaterThan(30);
  expect(inked.dark).toBeLessThan(400);
  // Which kernels answer: the layered plan first, then the whole-network kernel once compiled.
  await expect(page.locator('#kernels')).toHaveAttribute('data-settled', 'true', { timeout: 120_000 });
  await expect(page.locator('#kernels')).toHaveText('whole network');
});

test('a corrupt weights file shows the loader’s error, and the previous model keeps working', async ({ page }) => {
  await openDemo(page);
  const corrupt = new Uint8Array(readFileSync('weights/seed.safetensors'));
  corrupt.fill(0x7b, 8, 40); // header JSON overwritten with '{{{{…'
  let expected = '';
  try {
    loadWeights(corrupt);
  } catch (e) {
    expected = (e as Error).message;
  }
  expect(expected, 'the corrupt file must fail to load').not.toBe('');

  await page.locator('#weights-file').setInputFiles({ name: 'corrupt.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(corrupt) });
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Could not load corrupt.safetensors');
  await expect(alert).toContainText(expected);
  await expect(page.getByRole('radio', { name: /^Classic/ })).toBeChecked();
  await drawAndExpect(page, '7');

  // A good file loads as a third choice, and the error goes away.
  await page.locator('#weights-file').setInputFiles({ name: 'my-seed.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync('weights/seed.safetensors') });
  await expect(page.getByRole('radio', { name: 'Your file: my-seed.safetensors' })).toBeChecked();
  await expect(alert).toBeHidden();
  await expect(page.locator('#scores-caption')).toContainText('Softmax probability');
  await drawAndExpect(page, '1');
});

test('a weights file dropped on the page loads; a dropped bad one shows the error', async ({ page }) => {
  await openDemo(page);
  const drop = async (name: string, bytes: Buffer) => {
    const dataTransfer = await page.evaluateHandle(
      ([fileName, base64]) => {
        const transfer = new DataTransfer();
        const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([data], fileName, { type: 'application/octet-stream' }));
        return transfer;
      },
      [name, bytes.toString('base64')] as const,
    );
    await page.locator('#drop-zone').dispatchEvent('dragover', { dataTransfer });
    await expect(page.locator('#drop-zone')).toHaveClass(/over/);
    await page.locator('#drop-zone').dispatchEvent('drop', { dataTransfer });
  };
  await drop('dropped-seed.safetensors', readFileSync('weights/seed.safetensors'));
  await expect(page.getByRole('radio', { name: 'Your file: dropped-seed.safetensors' })).toBeChecked();
  await expect(page.locator('#drop-zone')).not.toHaveClass(/over/);
  await drawAndExpect(page, '0');

  await drop('notes.txt', Buffer.from('not a weights file'));
  await expect(page.getByRole('alert')).toContainText('Could not load notes.txt');
  await expect(page.getByRole('radio', { name: 'Your file: dropped-seed.safetensors' })).toBeChecked();
  await drawAndExpect(page, '7');
});

test('clicking a real MNIST test digit classifies it', async ({ page }) => {
  await openDemo(page);
  const labels = readFileSync('public/mnist-sample-labels-idx1-ubyte').subarray(8);
  await expect(page.locator('#strip button')).toHaveCount(50);
  for (const index of [0, 1, 2, 3]) {
    const label = String(labels[index]);
    await page.getByRole('button', { name: `MNIST test image ${index}, labelled ${label}` }).click();
    await expect(page.getByRole('status')).toHaveText(label);
    await expect(page.locator('#prediction-note')).toHaveText(`MNIST test image ${index}, labelled ${label}: right.`);
  }
});

test('the test set runs with a progress bar, accuracy and images per second, and stops on request', async ({ page }) => {
  await openDemo(page);
  const button = page.getByRole('button', { name: 'Run the test set' });
  await button.click();
  const result = page.locator('#test-result');
  // SwiftShader runs a few hundred images a second: check the first 1,500 of the 10,000, then
  // stop (the shipped weights' accuracy on all of them is e2e/accuracy.spec.ts's claim).
  await expect(result).toContainText(/^(1,5\d\d|[2-9],\d{3}|10,000) \/ 10,000 images · accuracy [\d.]+% · [\d,]+ images\/s \(WebGPU, classic model\)$/, { timeout: 90_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByRole('button', { name: 'Run the test set' })).toBeVisible();
  const text = (await result.textContent()) ?? '';
  const done = Number(/^([\d,]+) \//.exec(text)?.[1]?.replace(',', ''));
  const accuracy = Number(/accuracy ([\d.]+)%/.exec(text)?.[1]);
  expect(accuracy, text).toBeGreaterThan(90);
  expect(await page.locator('#test-progress').evaluate((p: HTMLProgressElement) => p.value)).toBeCloseTo(done / 10_000, 5);
  // Stopped means stopped: no more batches arrive.
  await page.waitForTimeout(4000);
  await expect(result).toHaveText(text);
  console.log(`demo test-set run (classic, WebGPU on SwiftShader, stopped early): ${text}`);
});

test('without WebGPU the page says so and still predicts on the CPU reference engine', async ({ browser }) => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  const page = await context.newPage();
  await openDemo(page);
  expect(await page.evaluate(() => 'gpu' in navigator)).toBe(false);
  await expect(page.locator('#backend')).toHaveText('CPU reference engine');
  await expect(page.locator('#kernels')).toHaveText('CPU reference');
  await expect(page.locator('#no-webgpu')).toContainText('WebGPU is not available');
  await drawAndExpect(page, '1');
  await drawAndExpect(page, '7');
  await page.getByRole('radio', { name: /^Seed/ }).check();
  await drawAndExpect(page, '0');
  await context.close();
});

/**
 * The README's screenshots are rewritten only with UPDATE_SCREENSHOTS=1; otherwise they go to
 * the test's output folder (test-results/, ignored by git), so a test run leaves the tree clean.
 */
test('screenshots of the page, on a laptop and on a phone', async ({ browser }, testInfo) => {
  const update = process.env['UPDATE_SCREENSHOTS'] === '1';
  for (const [file, viewport] of [
    ['screenshot.png', { width: 1280, height: 900 }],
    ['screenshot-phone.png', { width: 390, height: 844 }],
  ] as const) {
    const path = update ? `docs/${file}` : testInfo.outputPath(file);
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await openDemo(page);
    await draw(page, kDigits['7']!);
    await expect(page.getByRole('status')).toHaveText('7');
    await expect(page.locator('#saliency'), 'the saliency map is drawn').toHaveAttribute('data-target', '7');
    await page.waitForTimeout(300); // let the last throttled repaint land
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'the page scrolls sideways').toBeLessThanOrEqual(0);
    await page.screenshot({ path, fullPage: true });
    await context.close();
  }
});
