/**
 * lenet5-webgpu/reference: what the engine is built from, for tests, tools and the curious —
 * the CPU reference of every kernel and model (float64 accumulation; the tests' oracle and the
 * fallback without WebGPU), the two engine classes, preprocessing, seeded random weights, the
 * model description's helpers and the safetensors container. Applications need only the root
 * entry (`createEngine`).
 *
 * @example
 * import { referenceOutput, preprocess } from 'lenet5-webgpu/reference';
 * const scores = referenceOutput(weights, preprocess(pixels, 1, weights.preprocessing), 1);
 */
export { kAwaitFastPlanImages, WebGpuEngine, type WebGpuEngineOptions } from './gpu/engine.js';
export { CpuEngine } from './reference/cpu-engine.js';
export {
  activate,
  activationReference,
  conv5x5Reference,
  denseReference,
  rbfReference,
  scaleShiftReference,
  softmaxReference,
  subsample2x2Reference,
  type Floats,
} from './reference/layers.js';
export { classify, referenceForward, referenceLayer, referenceOutput } from './reference/forward.js';
export { checkPixels, modelInput, normalizePreprocessing, planarImages, preprocess } from './model/preprocess.js';
export { checkBatchNormsApplied, foldBatchNorms, scaleAndShift, type SpecAndTensors } from './model/fold.js';
export { randomWeights, type RandomWeightsOptions } from './model/random.js';
export { modelInfo, tensorOf } from './model/model-weights.js';
export { kC3ConnectionTable } from './model/presets.js';
export {
  classIsSmallest,
  connectionOffsets,
  denseTable,
  kActivations,
  kClasses,
  kImageSize,
  kScaledTanhA,
  kScaledTanhS,
  channelPreprocessing,
  layerActivation,
  layerInputSize,
  layerOutputShape,
  layerOutputSize,
  layerTensorNames,
  multiplyAdds,
  parameterCount,
} from './model/spec.js';
export { modelWeightsFrom } from './formats/load.js';
export { parseSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsTensor, type TensorToWrite } from './weights/safetensors.js';
