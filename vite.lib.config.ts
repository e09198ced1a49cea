import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * The engine as an ES module library (`dist/lib/lenet5-webgpu.js`), what `package.json`
 * `exports` points at. Declarations come from `tsc -p tsconfig.lib.json`.
 */
export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist/lib',
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: true,
    lib: {
      entry: resolve(import.meta.dirname, 'src/index.ts'),
      formats: ['es'],
      fileName: () => 'lenet5-webgpu.js',
    },
  },
});
