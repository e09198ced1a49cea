// Type-checked (tsc 5 and 7, module nodenext, a Node-only `lib`, skipLibCheck off, no WebGPU
// types of its own) against the installed package: the Node entry's declarations, which name
// WebGPU interfaces (GPUDevice) that no Node library declares.
import {
  createEngine,
  kPresetNames,
  Lenet5Error,
  WeightsFileError,
  type InferenceEngine,
  type InferenceResult,
  type Lenet5ErrorCode,
  type PresetName,
} from 'lenet5-webgpu/node';

export async function classify(path: string, pixels: Uint8Array): Promise<number> {
  const engine: InferenceEngine = await createEngine(path, { backend: 'auto', architecture: 'seed' });
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

/** A device made elsewhere passes through as the engine's own type. */
export function onDevice(path: string, device: GPUDevice): Promise<InferenceEngine> {
  return createEngine(path, { device, plan: 'fused' });
}

/** Preset names and error codes are literal unions an editor completes. */
export function firstPreset(): PresetName {
  const seed: PresetName = 'seed';
  return kPresetNames[0] ?? seed;
}

export function isInputError(e: unknown): boolean {
  const code: Lenet5ErrorCode | undefined = e instanceof Lenet5Error ? e.code : undefined;
  return code === 'input';
}

// @ts-expect-error: not a preset name (the union is literal, not string)
export const misspeltPreset: PresetName = 'sead';
// @ts-expect-error: not an error code
export const misspeltCode: Lenet5ErrorCode = 'inputs';
