/**
 * Moved into the library: `src/node/dawn.ts` (the package's `lenet5-webgpu/node` entry). This
 * re-export keeps `scripts/eval.ts` working until it uses the Node entry's createEngine.
 */
export { kSwiftShaderIcd, nodeGpuDevice, type NodeGpu } from '../src/node/dawn.js';
