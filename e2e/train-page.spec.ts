/**
 * The training page (train.html) as a visitor uses it, in headless Chromium (WebGPU on
 * SwiftShader): a short run on the first 256 MNIST training images whose charts, filters,
 * maps and confusion matrix appear and change; Pause stops the steps and Resume continues the
 * same run; the downloaded file is the model the page showed (its test accuracy, recomputed
 * here by the CPU reference) and loads in the demo; "Open in the demo" hands it over without a
 * download; a second visit reads MNIST from the Cache API; axe finds no serious violation; every request is same-origin and the page's
 * Content-Security-Policy holds (no violation, no inline script); without WebGPU the CPU
 * trainer fine-tunes a shipped file. Runs are short on purpose: SwiftShader trains at tens of
 * images per second.
 */
import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { createEngine } from '../src/index.js';
import { loadWeights } from '../src/formats/load.js';
import { loadMnist } from '../src/train/mnist.js';

interface RunForm {
  readonly model?: string;
  readonly batch: string;
  readonly epochs: string;
  readonly trainImages: string;
  readonly testImages: string;
  readonly lr?: string;
}

/** Records every request (the worker's too) and the page's CSP violations. */
async function watch(context: BrowserContext, page: Page, origin: string): Promise<{ foreign: string[]; errors: string[] }> {
  const w = { foreign: [] as string[], errors: [] as string[] };
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin) w.foreign.push(url);
  });
  page.on('pageerror', (e) => w.errors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(m.text())) w.errors.push(m.text());
  });
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'}`));
  });
  return w;
}

async function fill(page: Page, form: RunForm): Promise<void> {
  if (form.model) await page.selectOption('#model', form.model);
  await page.selectOption('#batch', form.batch);
  await page.fill('#epochs', form.epochs);
  await page.selectOption('#train-images', form.trainImages);
  await page.selectOption('#test-images', form.testImages);
  if (form.lr) await page.fill('#lr', form.lr);
}

const stepsDone = async (page: Page) => Number((await page.locator('#steps').textContent())?.split(' ')[0]) || 0;

/** A digest of the pixels of every canvas under `selector`, to see a picture change. */
const pixelsOf = (page: Page, selector: string) =>
  page.evaluate((s) => [...document.querySelectorAll<HTMLCanvasElement>(`${s} canvas`)].map((c) => c.toDataURL()).join('|'), selector);

test('a short run: charts, filters, maps and confusion matrix change; Pause, Resume; the file is what the page showed', async ({ browser, baseURL }, testInfo) => {
  test.setTimeout(240_000);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, acceptDownloads: true });
  const page = await context.newPage();
  const w = await watch(context, page, new URL(baseURL!).origin);
  await page.goto('/train.html');
  await expect(page.locator('#backend')).toHaveText('WebGPU');
  // PyTorch's tutorial net, 16 steps an epoch (256 images, batch 16), two epochs.
  await fill(page, { model: 'pytorch-tutorial', batch: '16', epochs: '2', trainImages: '256', testImages: '200', lr: '0.003' });
  await page.getByRole('button', { name: 'Train' }).click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'training', { timeout: 60_000 });
  await expect(page.locator('#data-label')).toContainText('55.0 of 55.0 MB');
  await expect(page.locator('#filters canvas')).toHaveCount(6);
  const filtersAtStart = await pixelsOf(page, '#filters');
  const mapsAtStart = await pixelsOf(page, '#maps');
  const chartsAtStart = await pixelsOf(page, '.curves');

  // Pause after a few steps: the count stops; Resume continues it.
  await expect.poll(() => stepsDone(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'paused', { timeout: 30_000 });
  const pausedAt = await stepsDone(page);
  await page.waitForTimeout(2500);
  expect(await stepsDone(page), 'steps taken while paused').toBe(pausedAt);
  await expect(page.locator('#status')).toContainText(`Paused at step ${pausedAt} of 32`);
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(() => stepsDone(page), { timeout: 30_000 }).toBeGreaterThan(pausedAt);

  // Epoch 1's confusion matrix, then epoch 2's: a different matrix of the same 200 images.
  await expect(page.locator('#confusion-epoch')).toContainText('after epoch 1 (step 16)', { timeout: 90_000 });
  const matrix = () => page.locator('#confusion tbody td').allTextContents();
  const afterOne = await matrix();
  expect(afterOne.reduce((s, v) => s + Number(v), 0)).toBe(200);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await expect(page.locator('#confusion-epoch')).toContainText('after epoch 2 (step 32)');
  const afterTwo = await matrix();
  expect(afterTwo.reduce((s, v) => s + Number(v), 0)).toBe(200);
  expect(afterTwo, 'the confusion matrix after epoch 2').not.toEqual(afterOne);
  await expect(page.locator('#steps')).toHaveText('32 of 32');
  // The status says what the run did and how long it took (pauses excluded), with the accuracy shown.
  const accuracyShown = (await page.locator('#test-accuracy').textContent())!;
  await expect(page.locator('#status')).toContainText(
    new RegExp(`^Done: 32 steps \\(2 epochs, 512 images\\) in (\\d+\\.\\d s|\\d+ min \\d\\d s), [\\d,]+ images/s; test accuracy ${accuracyShown.replace('.', '\\.')} on 200 images\\.`),
  );
  expect(await pixelsOf(page, '#filters'), 'conv1 filters').not.toBe(filtersAtStart);
  expect(await pixelsOf(page, '#maps'), 'feature maps').not.toBe(mapsAtStart);
  expect(await pixelsOf(page, '.curves'), 'the charts').not.toBe(chartsAtStart);
  await expect(page.locator('#worst li').first()).toBeVisible();
  const shown = (await page.locator('#test-accuracy').textContent())!;
  console.log(`[train-page] tutorial net, 32 steps of 16 on SwiftShader: test ${shown} on 200 images; ${await page.locator('#speed').textContent()} images/s at the end`);

  // The download: the file the page trained, with its record; its accuracy on the same 200
  // test images, by the CPU reference here, is the one the page showed (the page scored them on
  // WebGPU; one image may flip on a near tie between float orders).
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download the weights' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('pytorch-tutorial-32-steps.safetensors');
  const bytes = readFileSync(await download.path());
  const weights = loadWeights(new Uint8Array(bytes));
  expect(weights.metadata['lenet5.train.steps']).toBe('32');
  expect(weights.metadata['lenet5.train.device']).toBe('gpu');
  expect(weights.metadata['lenet5.train.command']).toContain('the training page');
  const test200 = loadMnist('t10k', 200);
  const engine = await createEngine(weights, { backend: 'cpu' });
  const { classes } = await engine.infer(test200.images, 200);
  const right = classes.filter((c, i) => c === test200.labels[i]).length;
  expect(Math.abs(right / 2 - Number(shown.replace('%', '')))).toBeLessThanOrEqual(0.5);

  // Accessibility and the policy, on the page as the run left it.
  const axe = await new AxeBuilder({ page }).analyze();
  const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.help}: ${v.nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('; ')}`)).toEqual([]);
  expect(w.foreign, 'requests to other origins').toEqual([]);
  expect(w.errors, 'page errors and CSP messages').toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
  expect(await page.locator('script:not([src])').count(), 'inline scripts').toBe(0);

  // Screenshots for the README (docs/ only with UPDATE_SCREENSHOTS=1), laptop then phone.
  const update = process.env['UPDATE_SCREENSHOTS'] === '1';
  await page.screenshot({ path: update ? 'docs/screenshot-train.png' : testInfo.outputPath('screenshot-train.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'the page scrolls sideways on a phone').toBeLessThanOrEqual(0);
  await page.screenshot({ path: update ? 'docs/screenshot-train-phone.png' : testInfo.outputPath('screenshot-train-phone.png'), fullPage: true });

  // "Open in the demo": a new tab of the demo with this model, saying where it came from.
  const opening = context.waitForEvent('page');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole('button', { name: 'Open in the demo' }).click();
  const demo = await opening;
  await expect(demo.locator('#model-source')).toContainText('From the training page', { timeout: 60_000 });
  await expect(demo.locator('#file-name')).toHaveText('Your file: pytorch-tutorial-32-steps.safetensors');
  await expect(demo.locator('#model-facts')).toContainText('32');
  await demo.locator('#strip button').first().click();
  await expect(demo.getByRole('status')).toHaveText(/^\d$/);
  // The downloaded file, loaded in the demo by hand: the same model, no hand-off note.
  await demo.locator('#weights-file').setInputFiles({ name: 'downloaded.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await expect(demo.locator('#file-name')).toHaveText('Your file: downloaded.safetensors');
  await expect(demo.locator('#load-error')).toBeHidden();
  await expect(demo.locator('#model-source')).toBeHidden();
  await demo.locator('#strip button').nth(1).click();
  await expect(demo.getByRole('status')).toHaveText(/^\d$/);
  expect(w.foreign, 'requests to other origins').toEqual([]);

  // MNIST was fetched once: a new visit reads it from the browser's cache, without a request.
  const mnistRequests: string[] = [];
  context.on('request', (request) => {
    if (request.url().includes('/mnist/')) mnistRequests.push(request.url());
  });
  await page.reload();
  await fill(page, { batch: '256', epochs: '1', trainImages: '256', testImages: '200' });
  await page.getByRole('button', { name: 'Train' }).click();
  await expect(page.locator('#data-label')).toHaveText('MNIST: 55.0 of 55.0 MB read from this browser’s cache', { timeout: 60_000 });
  // Reset while the trainer is still being built: it must not start after all.
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'idle');
  await page.waitForTimeout(3000);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'idle');
  await expect(page.locator('#steps')).toHaveText('–');
  expect(mnistRequests, 'MNIST requests on the second visit').toEqual([]);
  await context.close();
});

test('without WebGPU: the CPU trainer, labelled, fine-tunes a shipped file', async ({ browser }) => {
  test.setTimeout(120_000);
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  const page = await context.newPage();
  await page.goto('/train.html');
  await expect(page.locator('#backend')).toHaveText('CPU trainer');
  await expect(page.locator('#no-webgpu')).toContainText('WebGPU is not available');
  await page.locator('#weights-file').setInputFiles({ name: 'seed.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync('weights/seed.safetensors') });
  await expect(page.locator('#model')).toHaveValue('file');
  await fill(page, { batch: '256', epochs: '1', trainImages: '256', testImages: '200', lr: '0.0001' });
  await page.getByRole('button', { name: 'Train' }).click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await expect(page.locator('#status')).toContainText(/^Done: 1 step \(1 epoch, 256 images\) in (\d+\.\d s|\d+ min \d\d s), [\d,]+ images\/s; test accuracy [\d.]+% on 200 images\./);
  // Fine-tuned from the shipped 99.4% model by one small step: still reads nearly every digit
  // (random weights would read about 10%).
  const accuracy = Number((await page.locator('#test-accuracy').textContent())!.replace('%', ''));
  expect(accuracy).toBeGreaterThanOrEqual(97);
  await context.close();
});

test('bad settings and a bad file are errors that say what is wrong', async ({ page }) => {
  await page.goto('/train.html');
  await page.fill('#lr', '-1');
  await page.getByRole('button', { name: 'Train' }).click();
  await expect(page.locator('#error')).toHaveText("The learning rate must be a number above 0 and at most 10, found '-1'.");
  await page.fill('#lr', '0.001');
  await page.locator('#weights-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a model') });
  await page.getByRole('button', { name: 'Train' }).click();
  await expect(page.locator('#error')).toContainText(/safetensors|PyTorch|ONNX/);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'idle');
  await expect(page.getByRole('button', { name: 'Train' })).toBeEnabled();
});
