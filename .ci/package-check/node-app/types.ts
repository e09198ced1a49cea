// Type-checked (tsc, module nodenext, no `types` of its own) against the installed package:
// the Node entry's declarations, and the WebGPU types they bring.
import { createEngine, WeightsFileError, type InferenceEngine, type InferenceResult } from 'lenet5-webgpu/node';

export async function classify(path: string, pixels: Uint8Array): Promise<number> {
  const engine: InferenceEngine = await createEngine(path, { backend: 'auto' });
  try {
    const result: InferenceResult = await engine.infer(pixels, 1);
    return result.classes[0] ?? -1;
  } catch (e) {
    if (e instanceof WeightsFileError) console.error(e.byteOffset);
    throw e;
  } finally {
    engine.destroy();
  }
}

export function usesWebGpuTypes(device: GPUDevice): number {
  return device.limits.maxStorageBufferBindingSize;
}
