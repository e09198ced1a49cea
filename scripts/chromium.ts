/**
 * Finds a Chromium with WebGPU for Playwright, the eval and the bench commands:
 * $CHROMIUM_PATH, then Debian's /usr/bin/chromium, then Playwright's own download.
 */
import { existsSync } from 'node:fs';
import { chromium } from '@playwright/test';

/** Flags that expose WebGPU in headless Chromium (SwiftShader where no GPU is present). */
export const kChromiumArgs = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function findChromium(): string {
  const fromEnv = process.env['CHROMIUM_PATH'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  const bundled = chromium.executablePath();
  if (bundled && existsSync(bundled)) return bundled;
  throw new Error(
    'No Chromium found: set CHROMIUM_PATH, or `apt-get install chromium` (Debian), or `npx playwright install chromium`.',
  );
}
