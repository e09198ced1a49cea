/**
 * Playwright helpers shared by the GPU specs: one harness page per file, checked for WebGPU
 * (a missing WebGPU fails the tests, it never skips them), and assertions over the in-page
 * comparison reports.
 */
import { expect, type Browser, type Page } from '@playwright/test';
import type { Comparison } from './compare.js';

/** Opens the harness page and fails unless WebGPU works in it. */
export async function openHarness(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => document.body.dataset['ready'] === 'true', undefined, { timeout: 60_000 }).catch(() => {
    throw new Error(`the harness page did not start: ${errors.join('; ') || 'no error reported'}`);
  });
  const status = await page.evaluate(() => window.harness.gpuStatus());
  expect(status.ok, `WebGPU is unavailable in the launched browser: ${status.reason}`).toBe(true);
  return page;
}

/** Every comparison passed; the failure message lists each failing one's mismatches. */
export function expectAllWithin(reports: readonly Comparison[]): void {
  expect(reports.length, 'no comparison was made').toBeGreaterThan(0);
  for (const r of reports) expect(r.checked, `${r.label}: nothing compared`).toBeGreaterThan(0);
  const failed = reports.filter((r) => r.mismatchCount > 0);
  expect(failed.length, failed.map((r) => r.message).join('\n')).toBe(0);
}
