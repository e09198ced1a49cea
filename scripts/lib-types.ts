/**
 * Writes the declaration files `package.json` `exports` names, beside the JavaScript under
 * `dist/lib/`, so that a strict project type-checks against them (`skipLibCheck` off) on
 * TypeScript 5 and 7, with the DOM library or a Node-only `lib`:
 *
 * - `dist/lib/<entry>.d.ts`: re-exports the declarations `tsc -p tsconfig.lib.json` wrote under
 *   `dist/lib/types/`, and references `webgpu-globals.d.ts`: an empty global interface for
 *   each WebGPU type those declarations name (GPUDevice, GPUBuffer, …). An interface merges
 *   with whatever else declares it (TypeScript 7's DOM library, `@webgpu/types`), and stands
 *   alone where nothing does (a Node-only `lib`), so the package brings no second copy of
 *   WebGPU's types: TypeScript 7's DOM library declares them itself, and `@webgpu/types` beside
 *   it is 182 "Duplicate identifier" errors; under a Node-only `lib` `@webgpu/types` cannot be
 *   read at all (it needs DOM's BufferSource and event types). A WebGPU type alias (a union
 *   such as GPUFeatureName) cannot be declared twice, so the declarations must name none: this
 *   script fails where they do.
 * - `dist/lib/ts5/<entry>.d.ts` (the `types@<7` condition) for the browser entries: the same,
 *   plus `/// <reference types="@webgpu/types" />`, so a browser project on TypeScript 5 (whose
 *   DOM library has no WebGPU) gets `navigator.gpu` and WebGPU's full types from the package.
 *   tsc cannot write that reference itself: since TypeScript 5.5 it keeps one only where a
 *   source file says `preserve="true"`, and the entries' sources are plain modules.
 *
 * Also checks that `package.json` `exports` names exactly the entries of scripts/lib-entries.ts.
 *
 *   npx tsx scripts/lib-types.ts      (run by `npm run build:lib`, after tsc)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { kLibEntries } from './lib-entries.js';

const kRoot = resolve(import.meta.dirname, '..');
const kLib = resolve(kRoot, 'dist/lib');
const kGlobals = 'webgpu-globals.d.ts';

type Conditions = Readonly<Record<string, string | undefined>>;
const exportsField = (JSON.parse(readFileSync(resolve(kRoot, 'package.json'), 'utf8')) as { exports: Record<string, Conditions | string> }).exports;

const problems: string[] = [];
for (const [entry, { subpath, source, webgpuTypesBefore7 }] of Object.entries(kLibEntries)) {
  const declared = exportsField[subpath];
  const expected: Conditions = {
    ...(webgpuTypesBefore7 ? { 'types@<7': `./dist/lib/ts5/${entry}.d.ts` } : {}),
    types: `./dist/lib/${entry}.d.ts`,
    default: `./dist/lib/${entry}.js`,
  };
  if (JSON.stringify(declared) !== JSON.stringify(expected)) {
    problems.push(`package.json exports['${subpath}'] should be ${JSON.stringify(expected)}, found ${JSON.stringify(declared)}`);
    continue;
  }
  const declarations = `types/${source.replace(/\.ts$/, '.d.ts')}`;
  if (!existsSync(resolve(kLib, `${entry}.js`))) problems.push(`dist/lib/${entry}.js is missing: run vite build --config vite.lib.config.ts first`);
  if (!existsSync(resolve(kLib, declarations))) problems.push(`dist/lib/${declarations} is missing: run tsc -p tsconfig.lib.json first`);
  if (problems.length) continue;
  const target = declarations.replace(/\.d\.ts$/, '.js');
  writeFileSync(resolve(kLib, `${entry}.d.ts`), `/// <reference path="./${kGlobals}" />\nexport * from './${target}';\n`);
  if (webgpuTypesBefore7) {
    mkdirSync(resolve(kLib, 'ts5'), { recursive: true });
    writeFileSync(
      resolve(kLib, `ts5/${entry}.d.ts`),
      `/// <reference types="@webgpu/types" />\n/// <reference path="../${kGlobals}" />\nexport * from '../${target}';\n`,
    );
  }
}
const built = new Set(Object.values(kLibEntries).map((e) => e.subpath));
for (const [subpath, target] of Object.entries(exportsField)) {
  if (typeof target === 'object' && target['default']?.startsWith('./dist/lib/') && !built.has(subpath)) {
    problems.push(`package.json exports['${subpath}'] points into dist/lib but scripts/lib-entries.ts has no such entry`);
  }
}
if (!problems.length) writeGlobals();
if (problems.length) {
  console.error(`lib-types: ${problems.join('\nlib-types: ')}`);
  process.exit(1);
}
console.log(`lib-types: wrote ${Object.keys(kLibEntries).map((e) => `dist/lib/${e}.d.ts`).join(', ')} and dist/lib/${kGlobals}`);

/**
 * `dist/lib/webgpu-globals.d.ts`: an empty interface for every WebGPU name the declarations
 * use, each checked to be an interface in `@webgpu/types` (so it merges, never clashes).
 */
function writeGlobals(): void {
  const webgpu = readFileSync(resolve(kRoot, 'node_modules/@webgpu/types/dist/index.d.ts'), 'utf8');
  const used = new Map<string, string>();
  for (const file of declarationFiles(resolve(kLib, 'types'))) {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const [name] of code.matchAll(/\bGPU[A-Za-z0-9]*\b/g)) if (!used.has(name)) used.set(name, relative(kLib, file));
  }
  const names = [...used.keys()].sort();
  for (const name of names) {
    if (!new RegExp(`^(declare )?interface ${name}\\b`, 'm').test(webgpu)) {
      problems.push(`${used.get(name)} names ${name}, which @webgpu/types does not declare as an interface: the package's declarations may name only WebGPU interfaces (write the type out, e.g. number for GPUBufferUsageFlags)`);
    }
  }
  const lines = names.map((name) => `interface ${name} {}`);
  writeFileSync(
    resolve(kLib, kGlobals),
    `// The WebGPU interfaces this package's declarations name, empty: each merges with the full\n` +
      `// declaration where the project has one (TypeScript 7's DOM library, @webgpu/types) and\n` +
      `// stands in for it where it has none (a Node-only lib). Written by scripts/lib-types.ts.\n` +
      `${lines.join('\n')}\n`,
  );
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    const path = join(dir, item.name);
    return item.isDirectory() ? declarationFiles(path) : path.endsWith('.d.ts') ? [path] : [];
  });
}
