/**
 * The `wgsl` template tag of 'wgsl-preprocessor' (`#if ${cond}` … `#endif` over WGSL text).
 * Imported by file path because the package declares no `main` or `exports`, which Node and
 * Vite both need to resolve the bare name. Kernels import the tag from here.
 */
export { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
