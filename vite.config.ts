import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * The pages (demo, benchmark, test harness) as a multi-page static site. `base: './'` keeps
 * every URL relative, so the built site works from any sub-path.
 */
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist/site',
    target: 'es2022',
    rollupOptions: {
      input: {
        harness: resolve(import.meta.dirname, 'e2e/harness.html'),
      },
    },
  },
  server: { host: '127.0.0.1' },
});
