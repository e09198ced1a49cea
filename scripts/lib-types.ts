/**
 * Writes one declaration file per package entry beside its JavaScript (`dist/lib/<entry>.d.ts`,
 * what `package.json` `exports` names under `types`). Each re-exports the declarations `tsc -p
 * tsconfig.lib.json` wrote under `dist/lib/types/`, and references `@webgpu/types` (a
 * dependency of the package), so GPUDevice and the other WebGPU types resolve for users on
 * TypeScript before 7 without a `types` entry of their own. tsc cannot write the reference
 * itself: since TypeScript 5.5 it keeps a `/// <reference types>` only where a source file
 * says `preserve="true"`, and the entries' sources are plain modules.
 *
 *   npx tsx scripts/lib-types.ts      (run by `npm run build:lib`, after tsc)
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const kLib = resolve(import.meta.dirname, '../dist/lib');

/** Entry name (the built `<name>.js`) → its source's declaration file under dist/lib/types. */
const kEntries: Readonly<Record<string, string>> = {
  'lenet5-webgpu': 'types/src/index.d.ts',
  node: 'types/src/node.d.ts',
};

for (const [entry, declarations] of Object.entries(kEntries)) {
  if (!existsSync(resolve(kLib, `${entry}.js`))) throw new Error(`lib-types: dist/lib/${entry}.js is missing: run vite build --config vite.lib.config.ts first`);
  if (!existsSync(resolve(kLib, declarations))) throw new Error(`lib-types: dist/lib/${declarations} is missing: run tsc -p tsconfig.lib.json first`);
  const target = `./${declarations.replace(/\.d\.ts$/, '.js')}`;
  writeFileSync(resolve(kLib, `${entry}.d.ts`), `/// <reference types="@webgpu/types" />\nexport * from '${target}';\n`);
}
console.log(`lib-types: wrote ${Object.keys(kEntries).map((e) => `dist/lib/${e}.d.ts`).join(', ')}`);
