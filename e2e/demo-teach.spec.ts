/**
 * The demo's "what the network looks at" and "teach it your handwriting" (issue 22), in
 * headless Chromium (WebGPU on SwiftShader), on the shipped classic model.
 *
 * Teaching: a continental "1" (a long flag) that the classic model reads as a 7. Taught with the
 * page's defaults (8 Adam steps of 16 images, 4 of them the drawing, 12 replayed MNIST training
 * digits), it reads the 1, and the accuracy on the first 1,000 MNIST test images stays within
 * kAccuracyMargin of the shipped weights' (measured in Node through Dawn with the same recipe:
 * 99.0% → 98.5%). Reset brings the shipped prediction back.
 */
import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { draw, kDigits, type Stroke } from './drawing.js';

/** A "1" with a long flag, as many Europeans write it; the shipped classic model reads a 7. */
const kContinentalOne: Stroke[] = [[[0.3, 0.35], [0.55, 0.15], [0.55, 0.85]]];
/** Most the test-subset accuracy may fall after one lesson: 1.5 points (3× the drop measured in Node). */
const kAccuracyMargin = 0.015;

async function openDemo(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.locator('#adapter')).not.toHaveText('–');
  return errors;
}

const saliencyPixels = (page: Page) => page.locator('#saliency').evaluate((canvas: HTMLCanvasElement) => canvas.toDataURL());

test('the saliency map appears over a drawing, and "why not" shows another gradient', async ({ page }) => {
  const errors = await openDemo(page);
  await draw(page, kDigits['7']!);
  await expect(page.getByRole('status')).toHaveText('7');
  const map = page.getByRole('img', { name: /Saliency map of the negated distance of 7/ });
  await expect(map).toBeVisible();
  await expect(map).toHaveAttribute('data-target', '7');
  await expect(page.locator('#saliency-note')).toContainText('orange pixels, inked, would raise it');
  await expect(page.locator('#saliency-words')).toContainText(/raise the negated distance of 7 most at row \d+, column \d+/);
  await expect(page.locator('#saliency-scale')).toHaveText(/^±\d/);
  const own = await saliencyPixels(page);

  await page.getByLabel('Why not…').selectOption('1');
  await expect(page.locator('#saliency')).toHaveAttribute('data-target', '1-7');
  await expect(page.getByRole('img', { name: /Saliency map of 1’s negated distance minus 7’s/ })).toBeVisible();
  await expect(page.locator('#saliency-note')).toContainText('Why not 1?');
  expect(await saliencyPixels(page), 'the "why not 1" map differs from the 7’s own').not.toBe(own);
  // The two new cards pass axe with no serious or critical violation.
  const axe = await new AxeBuilder({ page }).include('#looks-card').include('#teach-card').analyze();
  const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`)).toEqual([]);
  expect(errors).toEqual([]);
});

test('a colour model’s saliency: over the picture, its brightness, under the class names', async ({ page }) => {
  test.setTimeout(240_000);
  const errors = await openDemo(page);
  await page.locator('#weights-file').setInputFiles({ name: 'cifar_net.pth', mimeType: '', buffer: readFileSync('tests/fixtures/apps/cifar_net.pth') });
  await expect(page.getByRole('radio', { name: 'Your file: cifar_net.pth' })).toBeChecked();
  await expect(page.locator('#teach-card'), 'teaching is for grey MNIST digits').toBeHidden();
  await page.locator('#picture-file').setInputFiles('tests/fixtures/apps/picture.png');
  await expect(page.getByRole('status')).toHaveText('frog', { timeout: 120_000 });
  await expect(page.locator('#saliency')).toHaveAttribute('data-target', '6', { timeout: 120_000 });
  await expect(page.getByRole('img', { name: /Saliency map of the logit of frog/ })).toBeVisible();
  await expect(page.locator('#saliency-words')).toContainText(/Brightening would raise the logit of frog most at row \d+, column \d+/);
  await page.getByLabel('Why not…').selectOption({ label: 'cat' });
  await expect(page.locator('#saliency')).toHaveAttribute('data-target', '3-6');
  await expect(page.locator('#saliency-note')).toContainText('Why not cat?');
  expect(errors).toEqual([]);
});

test('teaching a drawing it got wrong makes it right, keeps the test accuracy, and Reset restores the shipped weights', async ({ page }) => {
  test.setTimeout(300_000); // 8 training steps and 2,000 test inferences on a CPU-emulated GPU, shared cores
  const errors = await openDemo(page);
  await draw(page, kContinentalOne);
  await expect(page.getByRole('status'), 'the shipped classic model reads the continental 1 as a 7').toHaveText('7');

  await page.getByLabel('Steps').fill('0');
  await page.getByLabel('That was a').selectOption('1');
  await page.getByRole('button', { name: 'Teach it' }).click();
  await expect(page.locator('#teach-status')).toHaveText("Steps must be a whole number from 1 to 50, found '0'.");
  await page.getByLabel('Steps').fill('8');
  await page.getByRole('button', { name: 'Teach it' }).click();
  await expect(page.locator('#teach-status')).toContainText('Learned in', { timeout: 180_000 });
  console.log(await page.locator('#teach-status').textContent());
  await expect(page.getByRole('status'), 'after the lesson it reads the 1').toHaveText('1');
  await expect(page.getByRole('img', { name: 'A drawing taught as 1' })).toBeVisible();
  const accuracy = page.locator('#teach-accuracy');
  await expect(accuracy).toContainText(/before teaching, \d+\.\d% now/, { timeout: 120_000 });
  const before = Number(await accuracy.getAttribute('data-before'));
  const after = Number(await accuracy.getAttribute('data-after'));
  console.log(`test-subset accuracy: ${before} before teaching, ${after} after`);
  expect(before, 'the shipped classic model on the first 1,000 MNIST test images').toBeGreaterThan(0.98);
  expect(after, `accuracy after the lesson (before: ${before})`).toBeGreaterThanOrEqual(before - kAccuracyMargin);

  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(page.getByRole('status'), 'the shipped weights read a 7 again').toHaveText('7');
  await expect(page.locator('#taught canvas')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Reset' })).toBeDisabled();
  await expect(accuracy).toHaveText('');
  expect(errors).toEqual([]);
});
