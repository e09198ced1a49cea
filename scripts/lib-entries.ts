/**
 * The package's entries, one source for the library build (vite.lib.config.ts) and its
 * declarations (scripts/lib-types.ts): the name of the built `dist/lib/<name>.js` and
 * `<name>.d.ts`, the package subpath that exports it, and its source. To add an entry, add it
 * here and to `package.json` `exports` (lib-types checks the two agree) and `typedoc.json`.
 */
export interface LibEntry {
  /** Subpath in `package.json` `exports`. */
  readonly subpath: string;
  /** Source file, from the repository root. */
  readonly source: string;
  /**
   * A browser entry: on TypeScript before 7 (whose DOM library has no WebGPU) its declarations
   * bring `@webgpu/types` too (the `types@<7` condition; scripts/lib-types.ts).
   */
  readonly webgpuTypesBefore7: boolean;
}

export const kLibEntries: Readonly<Record<string, LibEntry>> = {
  'lenet5-webgpu': { subpath: '.', source: 'src/index.ts', webgpuTypesBefore7: true },
  node: { subpath: './node', source: 'src/node.ts', webgpuTypesBefore7: false },
  reference: { subpath: './reference', source: 'src/reference.ts', webgpuTypesBefore7: true },
};
