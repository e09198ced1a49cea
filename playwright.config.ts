import { defineConfig } from '@playwright/test';
import { findChromium, kChromiumArgs } from './scripts/chromium.js';

const port = Number(process.env['PORT'] ?? 5187);

/**
 * Two projects: `unit` runs plain Node tests (no browser), `chromium` runs the engine in
 * headless Chromium against pages served by Vite on 127.0.0.1 (WebGPU needs a secure context).
 */
export default defineConfig({
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env['CI'],
  reporter: [['list']],
  use: { baseURL: `http://127.0.0.1:${port}` },
  webServer: {
    command: `npx vite --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}/e2e/harness.html`,
    reuseExistingServer: !process.env['CI'],
    timeout: 120_000,
  },
  projects: [
    { name: 'unit', testDir: 'tests' },
    {
      name: 'chromium',
      testDir: 'e2e',
      use: {
        browserName: 'chromium',
        launchOptions: { executablePath: findChromium(), args: kChromiumArgs },
      },
    },
  ],
});
