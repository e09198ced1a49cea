import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { kLibEntries } from './scripts/lib-entries.js';

/**
 * The engine as an ES module library, what `package.json` `exports` points at: one
 * `dist/lib/<name>.js` per entry of scripts/lib-entries.ts (`lenet5-webgpu.js`, the root, for
 * browsers and bundlers; `node.js`, `lenet5-webgpu/node`), sharing their common code through
 * `dist/lib/chunks/`, so an error class imported from either entry is the same class. Declarations come from
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
      entry: Object.fromEntries(Object.entries(kLibEntries).map(([name, { source }]) => [name, resolve(import.meta.dirname, source)])),
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
