/**
 * Writes one declaration file per package entry beside its JavaScript (`dist/lib/<entry>.d.ts`,
 * what `package.json` `exports` names under `types`). Each re-exports the declarations `tsc -p
 * tsconfig.lib.json` wrote under `dist/lib/types/`, and references `@webgpu/types` (a
 * dependency of the package), so GPUDevice and the other WebGPU types resolve for users on
 * TypeScript before 7 without a `types` entry of their own. tsc cannot write the reference
 * itself: since TypeScript 5.5 it keeps a `/// <reference types>` only where a source file
 * says `preserve="true"`, and the entries' sources are plain modules.
 *
 * Also checks that `package.json` `exports` names exactly the entries of scripts/lib-entries.ts.
 *
 *   npx tsx scripts/lib-types.ts      (run by `npm run build:lib`, after tsc)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { kLibEntries } from './lib-entries.js';

const kRoot = resolve(import.meta.dirname, '..');
const kLib = resolve(kRoot, 'dist/lib');

type Conditions = { readonly types?: string; readonly default?: string };
const exportsField = (JSON.parse(readFileSync(resolve(kRoot, 'package.json'), 'utf8')) as { exports: Record<string, Conditions | string> }).exports;

const problems: string[] = [];
for (const [entry, { subpath, source }] of Object.entries(kLibEntries)) {
  const declared = exportsField[subpath];
  const expected = { types: `./dist/lib/${entry}.d.ts`, default: `./dist/lib/${entry}.js` };
  if (typeof declared !== 'object' || declared.types !== expected.types || declared.default !== expected.default) {
    problems.push(`package.json exports['${subpath}'] should be ${JSON.stringify(expected)}, found ${JSON.stringify(declared)}`);
    continue;
  }
  const declarations = `types/${source.replace(/\.ts$/, '.d.ts')}`;
  if (!existsSync(resolve(kLib, `${entry}.js`))) problems.push(`dist/lib/${entry}.js is missing: run vite build --config vite.lib.config.ts first`);
  if (!existsSync(resolve(kLib, declarations))) problems.push(`dist/lib/${declarations} is missing: run tsc -p tsconfig.lib.json first`);
  if (problems.length) continue;
  writeFileSync(resolve(kLib, `${entry}.d.ts`), `/// <reference types="@webgpu/types" />\nexport * from './${declarations.replace(/\.d\.ts$/, '.js')}';\n`);
}
const built = new Set(Object.values(kLibEntries).map((e) => e.subpath));
for (const [subpath, target] of Object.entries(exportsField)) {
  if (typeof target === 'object' && target.default?.startsWith('./dist/lib/') && !built.has(subpath)) {
    problems.push(`package.json exports['${subpath}'] points into dist/lib but scripts/lib-entries.ts has no such entry`);
  }
}
if (problems.length) {
  console.error(`lib-types: ${problems.join('\nlib-types: ')}`);
  process.exit(1);
}
console.log(`lib-types: wrote ${Object.keys(kLibEntries).map((e) => `dist/lib/${e}.d.ts`).join(', ')}`);
