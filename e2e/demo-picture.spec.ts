/**
 * The demo page (index.html) with a colour model: PyTorch's CIFAR-10 tutorial Net
 * (tests/fixtures/apps/cifar_net.pth, made by scripts/pytorch/make_apps_fixtures.py) loaded
 * through the file picker. The drawing pad gives way to a picture input; a PNG chosen or
 * dropped is shown to the network pixel for pixel as PyTorch was given it (its centre square,
 * area resampled to 32×32) and classified as PyTorch classifies it, under CIFAR-10's class
 * names, with every layer's maps; the camera
 * (Chromium's fake device) and its refusal; and back to a grey model, where a dropped picture
 * is explained rather than loaded as weights.
 */
import { readFileSync } from 'node:fs';
import { chromium, expect, test, type Page } from '@playwright/test';
import { findChromium, kChromiumArgs } from '../scripts/chromium.js';

const kApps = 'tests/fixtures/apps';
const kCifar10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** A colour model's first predictions can wait for its kernels to compile on SwiftShader. */
const kFirstRun = { timeout: 120_000 };

/** PyTorch's logits for picture.png as the demo reads it (1 × 10 float32). */
function pictureLogits(): Float32Array {
  const bytes = readFileSync(`${kApps}/picture.logits.f32`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/** Uncaught errors and Content-Security-Policy violations on the page, collected as they come. */
async function openDemo(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) errors.push(message.text());
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['blob:', 'data:'].includes(url.protocol) && url.hostname !== '127.0.0.1') errors.push(`request to another origin: ${request.url()}`);
  });
  await page.goto('/');
  await expect(page.locator('#adapter')).not.toHaveText('–');
  return errors;
}

async function loadCifarNet(page: Page): Promise<void> {
  await page.locator('#weights-file').setInputFiles({ name: 'cifar_net.pth', mimeType: '', buffer: readFileSync(`${kApps}/cifar_net.pth`) });
  await expect(page.getByRole('radio', { name: 'Your file: cifar_net.pth' })).toBeChecked();
  await expect(page.getByRole('alert').first()).toBeHidden();
}

async function dropFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ([fileName, base64]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], fileName));
      return transfer;
    },
    [name, bytes.toString('base64')] as const,
  );
  await page.locator('body').dispatchEvent('drop', { dataTransfer });
}

test('a colour model takes a picture: chosen or dropped, classified as PyTorch does, under CIFAR-10’s names, with its maps', async ({ page }) => {
  test.setTimeout(300_000);
  const errors = await openDemo(page);
  await loadCifarNet(page);

  // The pad and the MNIST digits give way to the picture input.
  await expect(page.getByLabel('Drawing pad')).toBeHidden();
  await expect(page.locator('#samples')).toBeHidden();
  await expect(page.getByRole('heading', { name: 'Show it a picture' })).toBeVisible();
  await expect(page.locator('#model-facts dd[data-fact="input"]')).toHaveText('colour pictures, 3×32×32 (RGB)');
  await expect(page.locator('#model-facts dd[data-fact="classes"]')).toHaveText(kCifar10.join(', '));
  await expect(page.getByRole('status')).toHaveText('–');
  await expect(page.locator('#prediction-note')).toHaveText('Choose a picture, drop one on the page, or use the camera.');
  await expect(page.locator('.score .label')).toHaveText(kCifar10);
  await expect(page.locator('#scores-caption')).toContainText('Softmax probability of each class');

  // A 96×64 PNG through the picture picker: PyTorch's class for its centre square at 32×32.
  const logits = pictureLogits();
  const expected = logits.indexOf(Math.max(...logits));
  await page.locator('#picture-file').setInputFiles(`${kApps}/picture.png`);
  await expect(page.getByRole('status')).toHaveText(kCifar10[expected]!, kFirstRun);
  await expect(page.locator('#prediction-note')).toHaveText('Your picture (picture.png, 96×64), as the network reads it.');
  // The winning bar is PyTorch's softmax probability for it (shown to 0.1%).
  const largest = Math.max(...logits);
  const total = logits.reduce((sum, v) => sum + Math.exp(v - largest), 0);
  await expect(page.locator('.score.win .label')).toHaveText(kCifar10[expected]!);
  await expect(page.locator('.score.win .value')).toHaveText(`${(100 / total).toFixed(1)}%`);

  // What the network sees: the 32×32 colour picture; and every conv and pool layer's maps.
  await expect(page.locator('#seen-caption')).toContainText('32×32 colour picture');
  await expect(page.locator('#how')).toContainText('cropped to the largest square at its centre and scaled to 32×32');
  await expect(page.locator('#how')).toContainText('mapped to -1..1'); // Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
  // Pixel for pixel the picture PyTorch was given: the browser's decoding of the PNG, the centre
  // square and the area resampling, each within one level of 255 of numpy's 2×2 means.
  const seen = await page.locator('#seen').evaluate((canvas: HTMLCanvasElement) => ({
    width: canvas.width,
    rgba: Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data),
  }));
  expect(seen.width).toBe(32);
  const reference = readFileSync(`${kApps}/picture.seen.u8`);
  const off: string[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 1024; i++) {
      const got = seen.rgba[4 * i + c]!;
      const want = reference[c * 1024 + i]!;
      if (Math.abs(got - want) > 1) off.push(`channel ${c} (x ${i % 32}, y ${Math.floor(i / 32)}): expected ${want}, actual ${got}`);
    }
  }
  expect(off.slice(0, 5), `${off.length} of 3,072 values differ`).toEqual([]);
  for (const [layer, maps] of [['conv1', 6], ['conv2', 16]] as const) {
    await expect(page.locator(`#layers > .layer[data-layer="${layer}"] canvas.map`)).toHaveCount(maps);
  }
  await expect(page.locator('#picture')).toBeVisible();

  // A picture dropped on the page goes to the picture input, not to the weights loader.
  await dropFile(page, 'dropped.png', readFileSync(`${kApps}/picture.png`));
  await expect(page.locator('#prediction-note')).toHaveText('Your picture (dropped.png, 96×64), as the network reads it.');
  await expect(page.getByRole('status')).toHaveText(kCifar10[expected]!);
  await expect(page.getByRole('radio', { name: 'Your file: cifar_net.pth' })).toBeChecked();

  // Not a picture: the picture input says so, and the prediction stays.
  await page.locator('#picture-file').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
  await expect(page.locator('#picture-error')).toContainText('Could not read notes.png as a picture');
  await expect(page.getByRole('status')).toHaveText(kCifar10[expected]!);

  // Back to a grey model: the pad and the digits return; a dropped picture is explained.
  await page.getByRole('radio', { name: /^Seed/ }).check();
  await expect(page.getByLabel('Drawing pad')).toBeVisible();
  await expect(page.locator('#picture-input')).toBeHidden();
  await expect(page.locator('#samples')).toBeVisible();
  await expect(page.locator('.score .label')).toHaveText(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await expect(page.locator('#how')).toContainText('cropped to its ink, scaled so its longer side is 20 pixels');
  await dropFile(page, 'holiday.png', readFileSync(`${kApps}/picture.png`));
  await expect(page.locator('#load-error')).toContainText('holiday.png is a PNG picture: pictures are for colour models');
  await expect(page.getByRole('radio', { name: /^Seed/ })).toBeChecked();
  // And to the colour model again: its picture is still there, classified again.
  await page.getByRole('radio', { name: 'Your file: cifar_net.pth' }).check();
  await expect(page.getByRole('status')).toHaveText(kCifar10[expected]!);
  expect(errors, 'uncaught errors, policy violations or foreign requests on the page').toEqual([]);
});

test('the camera: refused, a clear message; with a camera, a frame is classified', async ({ page }, testInfo) => {
  test.setTimeout(240_000);
  await openDemo(page);
  await loadCifarNet(page);
  // Headless Chromium without a camera grant: getUserMedia is refused, and the page says so.
  await page.getByRole('button', { name: 'Use the camera' }).click();
  await expect(page.locator('#picture-error')).toContainText('The camera could not be started: ');

  // Chromium's fake camera (a moving test pattern), permission granted.
  const browser = await chromium.launch({
    executablePath: findChromium(),
    args: [...kChromiumArgs, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  try {
    const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL, permissions: ['camera'] });
    const camera = await context.newPage();
    await openDemo(camera);
    await loadCifarNet(camera);
    await camera.getByRole('button', { name: 'Use the camera' }).click();
    await expect(camera.getByLabel('Camera preview')).toBeVisible();
    await expect.poll(() => camera.locator('#camera').evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
    await camera.getByRole('button', { name: 'Take the picture' }).click();
    await expect(camera.locator('#prediction-note')).toHaveText(/^Your picture \(the camera, \d+×\d+\), as the network reads it\.$/, kFirstRun);
    await expect(camera.getByRole('status')).toHaveText(new RegExp(`^(${kCifar10.join('|')})$`));
    await camera.getByRole('button', { name: 'Stop the camera' }).click();
    await expect(camera.getByLabel('Camera preview')).toBeHidden();
    expect(await camera.locator('#camera').evaluate((v: HTMLVideoElement) => v.srcObject)).toBeNull();
  } finally {
    await browser.close();
  }
});

test('without navigator.mediaDevices the camera button is off and the page says why', async ({ browser }) => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'mediaDevices', { get: () => undefined });
  });
  const page = await context.newPage();
  await openDemo(page);
  await loadCifarNet(page);
  await expect(page.getByRole('button', { name: 'Use the camera' })).toBeDisabled();
  await expect(page.locator('#picture-hint')).toContainText('No camera here: this browser gives the page no navigator.mediaDevices.getUserMedia');
  await context.close();
});

/**
 * The README's picture of the colour demo is rewritten only with UPDATE_SCREENSHOTS=1;
 * otherwise it goes to the test's output folder, so a test run leaves the tree clean.
 */
test('screenshot of the demo classifying a picture with the CIFAR-10 tutorial Net', async ({ browser }, testInfo) => {
  test.setTimeout(240_000);
  const path = process.env['UPDATE_SCREENSHOTS'] === '1' ? 'docs/screenshot-picture.png' : testInfo.outputPath('screenshot-picture.png');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await openDemo(page);
  await loadCifarNet(page);
  await page.locator('#picture-file').setInputFiles(`${kApps}/picture.png`);
  await expect(page.locator('#prediction-note')).toHaveText('Your picture (picture.png, 96×64), as the network reads it.', kFirstRun);
  await expect(page.locator('#saliency'), 'the saliency map is drawn').toHaveAttribute('data-target', /\d/, kFirstRun);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'the page scrolls sideways').toBeLessThanOrEqual(0);
  // The whole page in one viewport: a stitched full-page capture can drop parts of a busy page.
  await page.setViewportSize({ width: 1280, height: await page.evaluate(() => document.documentElement.scrollHeight) });
  await page.waitForTimeout(300); // let the last repaint land
  await page.screenshot({ path });
  // On a phone, too, the picture input fits without sideways scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole('button', { name: 'Use the camera' })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'the phone page scrolls sideways').toBeLessThanOrEqual(0);
  await context.close();
});
