import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * The engine as an ES module library, what `package.json` `exports` points at:
 * `dist/lib/lenet5-webgpu.js` (the root, for browsers and bundlers) and `dist/lib/node.js`
 * (`lenet5-webgpu/node`), which share their common code through `dist/lib/chunks/`, so an
 * error class imported from either entry is the same class. Declarations come from
 * `tsc -p tsconfig.lib.json` and `scripts/lib-types.ts`.
 *
 * Not minified and without source maps: a library is minified by its user's bundler, and
 * unminified code keeps readable stack traces on its own (the maps doubled the package). `keepNames` keeps every class's `name` even where the bundler renames
 * a binding, so `new WeightsFileError('x').name` is 'WeightsFileError', not 't'.
 *
 * Everything in `dependencies` and `peerDependencies` stays an import (the user's package
 * manager installs it once); devDependencies such as wgsl-preprocessor are bundled.
 */
const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];

export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist/lib',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    minify: false,
    lib: {
      entry: {
        'lenet5-webgpu': resolve(import.meta.dirname, 'src/index.ts'),
        node: resolve(import.meta.dirname, 'src/node.ts'),
      },
      formats: ['es'],
    },
    rolldownOptions: {
      external: (id) =>
        id.startsWith('node:') ||
        builtinModules.includes(id) ||
        external.some((name) => id === name || id.startsWith(`${name}/`)),
      output: {
        keepNames: true,
        entryFileNames: '[name].js',
        chunkFileNames: 'chunks/[name]-[hash].js',
      },
    },
  },
});
