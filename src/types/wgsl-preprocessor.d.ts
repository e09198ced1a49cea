declare module 'wgsl-preprocessor' {
  /** Template tag: `#if ${cond}` / `#elif` / `#else` / `#endif` blocks over WGSL text. */
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}

/** The same module by its file path: the package has no `main`/`exports`, so Node and Vite need it. */
declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  export { wgsl } from 'wgsl-preprocessor';
}
