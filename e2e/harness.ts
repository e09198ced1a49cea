/**
 * The test harness page's script: exposes the public API as `window.lenet5`, and as
 * `window.harness` the few test drivers that must run inside the page (GPU status, one
 * kernel against its reference, a model layer by layer). Comparisons run here so that only
 * reports, never large arrays, cross to the test process.
 */
import * as publicApi from '../src/index.js';
import * as referenceApi from '../src/reference.js';
import { activation as activationShader, kActivationWorkgroupSize } from '../shaders/activation.js';
import { dispatchSize, kBatchUniformBytes } from '../shaders/common.js';
import { acquireDevice, describeAdapter, type GpuContext } from '../src/gpu/device.js';
import { buildLayeredPlan } from '../src/gpu/layered-plan.js';
import type { KernelTarget } from '../shaders/conv5x5.js';
import { cachedPipeline } from '../src/gpu/pipeline-cache.js';
import type { Plan } from '../src/gpu/plan.js';
import { PlanRunner } from '../src/gpu/plan-runner.js';
import { Prng } from '../src/model/prng.js';
import {
  layerInputSize,
  layerOutputShape,
  layerTensorNames,
  type Activation,
  type LayerSpec,
  type ModelSpec,
} from '../src/model/spec.js';
import { compareClasses, compareFloats, type Comparison } from './compare.js';

/** The package's two entries as the tests use them: the public API and lenet5-webgpu/reference. */
const lenet5 = { ...publicApi, ...referenceApi };

/** The models the tests name. */
export type ModelName = 'seed' | 'classic-sigmoid' | 'classic-scaled-tanh';

function modelSpec(name: ModelName): ModelSpec {
  if (name === 'seed') return lenet5.seedModel;
  return lenet5.classicModel(name === 'classic-sigmoid' ? 'sigmoid' : 'scaled-tanh');
}

let shared: Promise<GpuContext> | undefined;
/** One device for the page's kernel tests (engines under test request their own). */
function device(): Promise<GPUDevice> {
  shared ??= acquireDevice();
  return shared.then((c) => c.device);
}

/** Whether WebGPU works here: the tests fail, never skip, when it does not. */
async function gpuStatus(): Promise<{ ok: boolean; adapter: string; reason: string }> {
  if (!navigator.gpu) return { ok: false, adapter: '', reason: 'navigator.gpu is missing in the launched browser' };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { ok: false, adapter: '', reason: 'navigator.gpu.requestAdapter() returned null' };
  return { ok: true, adapter: describeAdapter(adapter.info), reason: '' };
}

/** Seeded values in [low, high). */
function uniform(rng: Prng, length: number, low: number, high: number): Float32Array {
  return Float32Array.from({ length }, () => rng.uniform(low, high));
}

/** Seeded tensors for one layer: weights ~ U(±1/√fanIn), biases and coefficients ~ U(±1). */
function layerTensors(layer: LayerSpec, rng: Prng): Map<string, Float32Array> {
  const tensors = new Map<string, Float32Array>();
  switch (layer.kind) {
    case 'conv5x5': {
      const table = layer.connectionTable;
      const kernels = table ? table.reduce((s, t) => s + t.length, 0) : layer.inChannels * layer.outChannels;
      const bound = 1 / Math.sqrt(25 * (table ? kernels / layer.outChannels : layer.inChannels));
      tensors.set(layer.weight, uniform(rng, kernels * 25, -bound, bound));
      tensors.set(layer.bias, uniform(rng, layer.outChannels, -1, 1));
      break;
    }
    case 'subsample2x2':
      if (layer.trainable) {
        tensors.set(layer.trainable.coefficient, uniform(rng, layer.channels, -1, 1));
        tensors.set(layer.trainable.bias, uniform(rng, layer.channels, -1, 1));
      }
      break;
    case 'dense': {
      const bound = 1 / Math.sqrt(layer.inFeatures);
      tensors.set(layer.weight, uniform(rng, layer.outFeatures * layer.inFeatures, -bound, bound));
      tensors.set(layer.bias, uniform(rng, layer.outFeatures, -1, 1));
      break;
    }
    case 'scale-shift':
      tensors.set(layer.scale, uniform(rng, layer.channels, -2, 2));
      tensors.set(layer.shift, uniform(rng, layer.channels, -1, 1));
      break;
    case 'rbf':
      tensors.set(layer.centres, uniform(rng, layer.classes * layer.inFeatures, -1, 1));
      break;
    case 'softmax':
      break;
  }
  for (const name of layerTensorNames(layer)) if (!tensors.has(name)) throw new Error(`no random tensor for ${name}`);
  return tensors;
}

/** The reference for one layer, from the tensors in a map. */
function layerReference(layer: LayerSpec, tensors: Map<string, Float32Array>, input: Float32Array, count: number): Float64Array {
  const weights = { spec: { id: 'seed', layers: [layer] } as unknown as ModelSpec, preprocessing: lenet5.seedModel.defaultPreprocessing, tensors, metadata: {} };
  return lenet5.referenceLayer(weights, layer, input, count);
}

export interface KernelCase {
  readonly layer: LayerSpec;
  /** False: the kernel without activation, then the standalone activation kernel. */
  readonly fuseActivations: boolean;
  /** The conv and dense kernels' block sizes; default: the device's own. */
  readonly kernelTarget?: KernelTarget;
  readonly batches: readonly number[];
  readonly seed: number;
}

/**
 * One layer's kernel (plan of that layer alone, maxBatch = the largest batch) against the
 * reference, for each batch size, on seeded random input in [−1, 1).
 */
async function kernelCase(c: KernelCase): Promise<Comparison[]> {
  const gpu = await device();
  const rng = new Prng(c.seed);
  const tensors = layerTensors(c.layer, rng);
  const maxBatch = Math.max(...c.batches);
  const plan = await buildLayeredPlan(gpu, [c.layer], tensors, { maxBatch, fuseActivations: c.fuseActivations, ...(c.kernelTarget ? { kernelTarget: c.kernelTarget } : {}) });
  const runner = new PlanRunner(gpu, plan);
  try {
    const reports: Comparison[] = [];
    for (const count of c.batches) {
      const input = uniform(rng, count * layerInputSize(c.layer), -1, 1);
      const got = await runner.run(input, count);
      const expected = layerReference(c.layer, tensors, input, count);
      reports.push(compareFloats(`${c.layer.name} batch ${count}`, got, expected, layerOutputShape(c.layer)));
    }
    return reports;
  } finally {
    runner.destroy();
    plan.destroy();
  }
}

/** A plan of the standalone activation kernel alone (it has no layer of its own). */
async function activationPlan(gpu: GPUDevice, perImage: number, activation: Activation, maxBatch: number): Promise<Plan> {
  const options = { perImage, activation };
  const label = `test.${activation}`;
  const pipeline = await cachedPipeline(gpu, label, { kernel: 'activation', options, code: activationShader(options) });
  const batchBuffer = gpu.createBuffer({ label: `${label}.batch`, size: kBatchUniformBytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const inputBuffer = gpu.createBuffer({ label: `${label}.input`, size: maxBatch * perImage * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const outputBuffer = gpu.createBuffer({ label: `${label}.output`, size: maxBatch * perImage * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const bindGroup = gpu.createBindGroup({
    label: `${label}.bindgroup`,
    layout: pipeline.getBindGroupLayout(0),
    entries: [batchBuffer, inputBuffer, outputBuffer].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return {
    kind: 'activation-test',
    maxBatch,
    steps: [{ label, pipeline, bindGroup, workgroups: (count) => dispatchSize(count * perImage, kActivationWorkgroupSize) }],
    batchBuffer,
    inputBuffer,
    inputValues: perImage,
    outputBuffer,
    outputValues: perImage,
    destroy: () => [batchBuffer, inputBuffer, outputBuffer].forEach((b) => b.destroy()),
  };
}

/** The standalone activation kernel against `activationReference`, inputs in [−8, 8). */
async function activationCase(c: { activation: Activation; perImage: number; batches: readonly number[]; seed: number }): Promise<Comparison[]> {
  const gpu = await device();
  const rng = new Prng(c.seed);
  const plan = await activationPlan(gpu, c.perImage, c.activation, Math.max(...c.batches));
  const runner = new PlanRunner(gpu, plan);
  try {
    const reports: Comparison[] = [];
    for (const count of c.batches) {
      const input = uniform(rng, count * c.perImage, -8, 8);
      const got = await runner.run(input, count);
      reports.push(compareFloats(`${c.activation} batch ${count}`, got, lenet5.activationReference(c.activation, input), [c.perImage]));
    }
    return reports;
  } finally {
    runner.destroy();
    plan.destroy();
  }
}

/** Seeded raw images: bytes 0..255 (or intensities in [0, 1) when `floats`). */
function randomPixels(rng: Prng, count: number, floats = false): Uint8Array | Float32Array {
  const n = count * 28 * 28;
  return floats ? uniform(rng, n, 0, 1) : Uint8Array.from({ length: n }, () => rng.integer(256));
}

export interface ModelCase {
  readonly model: ModelName;
  readonly fuseActivations: boolean;
  readonly batches: readonly number[];
  readonly seed: number;
}

/**
 * A whole model with random weights, layer by layer: the layered plan's every buffer for
 * each batch, then the engine's `infer` (scores and classes) and `activations`, all against
 * `referenceForward`.
 */
async function modelCase(c: ModelCase): Promise<Comparison[]> {
  const spec = modelSpec(c.model);
  const weights = lenet5.randomWeights(spec, c.seed);
  const rng = new Prng(c.seed + 1);
  const maxBatch = Math.max(...c.batches);
  const gpu = await device();
  const plan = await buildLayeredPlan(gpu, spec.layers, weights.tensors, { maxBatch, fuseActivations: c.fuseActivations });
  const runner = new PlanRunner(gpu, plan);
  const engine = await lenet5.createEngine(weights, { backend: 'webgpu', maxBatch, fuseActivations: c.fuseActivations });
  const reports: Comparison[] = [];
  try {
    for (const count of c.batches) {
      const pixels = randomPixels(rng, count, count % 2 === 0);
      const input = lenet5.preprocess(pixels, count, weights.preprocessing);
      const reference = lenet5.referenceForward(weights, input, count);
      const layers = await runner.runLayers(input, count);
      for (const layer of spec.layers) {
        reports.push(compareFloats(`${layer.name} batch ${count}`, layers.get(layer.name)!, reference.get(layer.name)!, layerOutputShape(layer)));
      }
      const result = await engine.infer(pixels, count);
      const scores = reference.get(spec.layers[spec.layers.length - 1]!.name)!;
      reports.push(compareFloats(`infer scores batch ${count}`, result.scores, scores, [10]));
      reports.push(compareClasses(`infer classes batch ${count}`, result.classes, lenet5.classify(scores, count, spec.output), scores, 10));
    }
    const one = randomPixels(rng, 1);
    const reference = lenet5.referenceForward(weights, lenet5.preprocess(one, 1, weights.preprocessing), 1);
    for (const { name, shape, data } of await engine.activations(one)) {
      reports.push(compareFloats(`activations ${name}`, data, reference.get(name)!, shape));
    }
    return reports;
  } finally {
    engine.destroy();
    runner.destroy();
    plan.destroy();
  }
}

/** `infer` with batches larger than maxBatch (split into runs) against the reference. */
async function splitCase(c: { model: ModelName; maxBatch: number; count: number; seed: number }): Promise<Comparison[]> {
  const spec = modelSpec(c.model);
  const weights = lenet5.randomWeights(spec, c.seed);
  const pixels = randomPixels(new Prng(c.seed + 1), c.count);
  const engine = await lenet5.createEngine(weights, { backend: 'webgpu', maxBatch: c.maxBatch });
  try {
    const result = await engine.infer(pixels, c.count);
    const scores = lenet5.referenceOutput(weights, lenet5.preprocess(pixels, c.count, weights.preprocessing), c.count);
    const label = `${c.count} images, maxBatch ${c.maxBatch}`;
    return [
      compareFloats(`${label} scores`, result.scores, scores, [10]),
      compareClasses(`${label} classes`, result.classes, lenet5.classify(scores, c.count, spec.output), scores, 10),
    ];
  } finally {
    engine.destroy();
  }
}

const harness = { gpuStatus, kernelCase, activationCase, modelCase, splitCase, randomPixels, modelSpec, Prng };
export type Harness = typeof harness;

declare global {
  interface Window {
    lenet5: typeof lenet5;
    harness: Harness;
  }
}
window.lenet5 = lenet5;
window.harness = harness;
document.body.dataset['ready'] = 'true';
