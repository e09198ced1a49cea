import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { serveMnist } from './pages/demo/serve-mnist.js';

/**
 * The pages as a multi-page static site: the demo, the benchmark and the training page. The test harness
 * (e2e/harness.html) is served by the dev server the tests start, and left out of the build.
 * `base: './'` keeps every URL relative, so the built site works from any sub-path.
 */
export default defineConfig({
  base: './',
  plugins: [serveMnist()],
  build: {
    outDir: 'dist/site',
    target: 'es2022',
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        bench: resolve(import.meta.dirname, 'bench.html'),
        train: resolve(import.meta.dirname, 'train.html'),
      },
    },
  },
  // The training page's worker imports modules: an ES module worker.
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
  // Scan the test harness too, so its dependencies are pre-bundled when the server starts: a
  // dependency found later makes Vite reload the page in the middle of a test.
  // The training bench page (pages/bench/train-page-parts.ts) imports tfjs-core's gradients
  // and tfjs-layers beside tfjs-core: pre-bundled together they share one tfjs-core (two copies fail on its
  // flag registry), and never found mid-run.
  optimizeDeps: {
    entries: ['index.html', 'bench.html', 'train.html', 'pages/train/worker.ts', 'e2e/harness.html'],
    include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu'],
  },
});
