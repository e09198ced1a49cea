/**
 * Where the package root runs, for errors that should point a Node user at the Node entry.
 * Reads `globalThis.process` (no Node module is imported: this file is in the browser bundle).
 */

/**
 * True in Node (and runtimes that imitate it, which also lack `navigator.gpu` and `file:` fetch).
 *
 * @example
 * if (runningInNode()) console.log('import lenet5-webgpu/node instead');
 */
export function runningInNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof process?.versions?.node === 'string';
}

/** What a Node user of the package root is told to do instead. */
export const kUseNodeEntry =
  "in Node, import createEngine from 'lenet5-webgpu/node': it reads file paths and file: URLs and runs on Dawn (the npm package 'webgpu')";
