/**
 * The pages under their Content-Security-Policy, in Chromium: each page (demo, benchmark, test
 * harness) is loaded and used; every request it makes must be same-origin, no
 * `securitypolicyviolation` event may fire, and the policy in force must be the page's meta
 * tag. Hostile text in a weights file (file name and metadata written as HTML) must show up as
 * text, never as markup. A deliberate inline script proves the policy and the listener work.
 */
import { expect, test, type Page } from '@playwright/test';
import { classicModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import { saveWeights } from '../src/formats/load.js';

interface Watch {
  readonly requests: string[];
  readonly foreign: string[];
  readonly consoleCsp: string[];
  readonly pageErrors: string[];
}

/** Records requests, CSP console messages and page errors, and the page's violation events. */
async function watch(page: Page, origin: string): Promise<Watch> {
  const w: Watch = { requests: [], foreign: [], consoleCsp: [], pageErrors: [] };
  page.on('request', (request) => {
    const url = request.url();
    w.requests.push(url);
    if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin) w.foreign.push(url);
  });
  page.on('console', (message) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(message.text())) w.consoleCsp.push(message.text());
  });
  page.on('pageerror', (e) => w.pageErrors.push(e.message));
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`));
  });
  return w;
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
}

async function expectClean(page: Page, w: Watch, what: string): Promise<void> {
  expect(w.requests.length, `${what}: no request recorded`).toBeGreaterThan(0);
  expect(w.foreign, `${what}: requests to other origins`).toEqual([]);
  expect(await violations(page), `${what}: CSP violations`).toEqual([]);
  expect(w.consoleCsp, `${what}: CSP messages in the console`).toEqual([]);
  expect(w.pageErrors, `${what}: uncaught errors`).toEqual([]);
  const policy = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
  expect(policy, `${what}: the policy meta tag`).toContain("default-src 'self'");
  console.log(`[reliability] ${what}: ${w.requests.length} requests, all same-origin; no CSP violation`);
}

test('demo page: same-origin only, no CSP violation, hostile file text shown as text', async ({ page, baseURL }) => {
  test.setTimeout(300_000);
  const w = await watch(page, new URL(baseURL!).origin);
  await page.goto('/');
  await expect(page.locator('#adapter')).not.toHaveText('–', { timeout: 120_000 });
  // Classify a shipped MNIST sample, then load a weights file whose name and metadata are HTML.
  await page.locator('#strip button').first().click();
  await expect(page.getByRole('status')).toHaveText(/^\d$/);
  const hostile = '<img src=x onerror="window.pwned=1"><b>bold</b>';
  const weights = randomWeights(classicModel('sigmoid'), 3);
  const bytes = saveWeights(weights, { 'lenet5.train.epochs': hostile, 'lenet5.train.test_accuracy': hostile });
  await page.locator('#weights-file').setInputFiles({ name: '<i>x</i>.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  await expect(page.locator('#file-name')).toHaveText('Your file: <i>x</i>.safetensors');
  await expect(page.locator('#model-facts')).toContainText(hostile);
  const injected = await page.evaluate(() => ({
    pwned: (window as unknown as { pwned?: number }).pwned,
    elements: document.querySelectorAll('#model-facts img, #model-facts b, #file-choice i').length,
  }));
  expect(injected).toEqual({ pwned: undefined, elements: 0 });
  await expectClean(page, w, 'demo page');
});

test('benchmark page: same-origin only, no CSP violation, tfjs (WebGPU and WASM) runs under the policy', async ({ page, baseURL }) => {
  test.setTimeout(300_000);
  const w = await watch(page, new URL(baseURL!).origin);
  await page.goto('/bench.html');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'idle');
  // The framework comparison is loaded on demand: load it as the page does and run both backends.
  const runFrameworks = () =>
    page.evaluate(async () => {
      const load = (path: string) => import(/* @vite-ignore */ path);
      const { tfSeedModel } = (await load('/pages/bench/frameworks.ts')) as typeof import('../pages/bench/frameworks.js');
      const lib = (await load('/src/index.ts')) as typeof import('../src/index.js');
      const reference = (await load('/src/reference.ts')) as typeof import('../src/reference.js');
      const weights = reference.randomWeights(lib.seedModel, 5);
      const input = new Uint8Array(784).fill(128);
      const results: number[] = [];
      for (const backend of ['wasm', 'webgpu'] as const) {
        const model = await tfSeedModel(weights, backend);
        results.push((await model.logits(input, 1)).length);
        model.dispose();
      }
      return results;
    });
  let outcome: number[];
  try {
    outcome = await runFrameworks();
  } catch (e) {
    // Vite's dev server reloads the page once when it first pre-bundles tfjs; then it is cached.
    if (!/Execution context was destroyed/.test((e as Error).message)) throw e;
    await expect(page.locator('body')).toHaveAttribute('data-state', 'idle');
    outcome = await runFrameworks();
  }
  expect(outcome).toEqual([10, 10]);
  await expectClean(page, w, 'benchmark page');
});

test('test harness page: same-origin only, no CSP violation, and the policy blocks an inline script', async ({ page, baseURL }) => {
  const w = await watch(page, new URL(baseURL!).origin);
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => document.body.dataset['ready'] === 'true');
  const count = await page.evaluate(async () => {
    const engine = await window.lenet5.createEngine(window.lenet5.randomWeights(window.lenet5.seedModel, 1), { backend: 'webgpu' });
    const { count } = await engine.infer(new Uint8Array(784 * 3), 3);
    engine.destroy();
    return count;
  });
  expect(count).toBe(3);
  await expectClean(page, w, 'test harness page');

  // A control: an inline script must be refused and reported, or the checks above prove nothing.
  const ran = await page.evaluate(async () => {
    const script = document.createElement('script');
    script.textContent = 'window.inlineRan = true';
    document.head.append(script);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return (window as unknown as { inlineRan?: boolean }).inlineRan ?? false;
  });
  expect(ran, 'an inline script ran despite the policy').toBe(false);
  expect(await violations(page)).toEqual([expect.stringMatching(/^script-src-elem blocked inline/)]);
});
