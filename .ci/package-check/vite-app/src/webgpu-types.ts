// Type-checked only (not imported by the page): the WebGPU types come with the package, the
// app's tsconfig lists no @webgpu/types of its own.
export async function storageLimit(): Promise<number | undefined> {
  const adapter: GPUAdapter | null = await navigator.gpu.requestAdapter();
  return adapter?.limits.maxStorageBufferBindingSize;
}
