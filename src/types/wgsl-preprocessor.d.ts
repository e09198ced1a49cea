declare module 'wgsl-preprocessor' {
  /** Template tag: `#if ${cond}` / `#elif` / `#else` / `#endif` blocks over WGSL text. */
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}
