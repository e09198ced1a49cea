/**
 * Opens the package check's built Vite app in headless Chromium (WebGPU on SwiftShader where
 * there is no GPU) and checks that it classified its digit on WebGPU.
 *
 *   npx tsx .ci/package-check/browser-check.ts URL EXPECTED_DIGIT
 */
import { chromium } from '@playwright/test';
import { findChromium, kChromiumArgs } from '../../scripts/chromium.js';

const [url, expected] = process.argv.slice(2);
if (!url || !expected) throw new Error('usage: browser-check.ts URL EXPECTED_DIGIT');

const browser = await chromium.launch({ executablePath: findChromium(), args: kChromiumArgs });
try {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Chromium asks every page for /favicon.ico, which this app, like many, does not have.
  const isFavicon = (url: string) => new URL(url).pathname === '/favicon.ico';
  page.on('console', (m) => {
    if (m.type() === 'error' && !isFavicon(m.location().url || url)) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !isFavicon(r.url())) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  await page.goto(url);
  const result = page.locator('#result');
  await result.and(page.locator('[data-digit], [data-error]')).waitFor({ timeout: 60_000 });
  const { digit, backend, adapter, error } = await result.evaluate((e: HTMLElement) => ({ ...e.dataset }));
  if (error) throw new Error(`the app failed: ${error}`);
  if (backend !== 'webgpu') throw new Error(`the app ran on '${backend}', not WebGPU`);
  if (digit !== expected) throw new Error(`the app read a ${expected} as ${digit}`);
  if (problems.length) throw new Error(problems.join('; '));
  console.log(`vite: the built app read a ${digit} on ${adapter} in ${await browser.version()}`);
} finally {
  await browser.close();
}
