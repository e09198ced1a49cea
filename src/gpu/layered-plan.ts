/**
 * The layer-by-layer plan (the reference GPU path): one kernel per layer, each layer's output
 * in its own buffer, optionally a standalone activation kernel after each layer
 * (`fuseActivations: false`) writing into a further buffer, so no dispatch ever binds one
 * buffer as both input and output.
 */
import { activation as activationShader, kActivationWorkgroupSize } from '../../shaders/activation.js';
import { dispatchSize, kBatchUniformBytes } from '../../shaders/common.js';
import { conv5x5, kConv5x5WorkgroupSize } from '../../shaders/conv5x5.js';
import { dense, kDenseWorkgroupSize } from '../../shaders/dense.js';
import { kRbfWorkgroupSize, rbf } from '../../shaders/rbf.js';
import { kSoftmaxWorkgroupSize, softmax } from '../../shaders/softmax.js';
import { kSubsample2x2WorkgroupSize, subsample2x2 } from '../../shaders/subsample2x2.js';
import { GpuError, InputError, ModelMismatchError } from '../errors.js';
import {
  layerActivation,
  layerInputSize,
  layerOutputSize,
  layerTensorNames,
  type Activation,
  type LayerName,
  type LayerSpec,
} from '../model/spec.js';
import { cachedPipeline, type KernelSource } from './pipeline-cache.js';
import type { Plan, PlanStep } from './plan.js';

export interface LayeredPlanOptions {
  /** Largest batch one run takes; buffers are sized for it. */
  readonly maxBatch: number;
  /** True: activations inside each layer's kernel. False: a standalone activation kernel. */
  readonly fuseActivations: boolean;
}

/** A kernel instance before its pipeline exists. */
interface PendingStep {
  readonly label: string;
  readonly source: KernelSource;
  /** Buffers in binding order 1, 2, …; binding 0 is always the batch uniform. */
  readonly bindings: readonly GPUBuffer[];
  readonly invocationsPerImage: number;
  readonly workgroupSize: number;
}

/**
 * Builds the layered plan for `layers` (a whole model, or any run of consecutive layers:
 * the kernel tests plan a single layer). The first layer's input is the plan's input.
 *
 * @example
 * const plan = await buildLayeredPlan(device, weights.spec.layers, weights.tensors, { maxBatch: 256, fuseActivations: true });
 */
export async function buildLayeredPlan(
  device: GPUDevice,
  layers: readonly LayerSpec[],
  tensors: ReadonlyMap<string, Float32Array>,
  options: LayeredPlanOptions,
): Promise<Plan> {
  const first = layers[0];
  const last = layers[layers.length - 1];
  if (!first || !last) throw new InputError('a plan needs at least one layer, found none');
  const { maxBatch } = options;
  checkBatchFits(device, layers, maxBatch);

  const owned: GPUBuffer[] = [];
  const buffer = (label: string, values: number, usage: GPUBufferUsageFlags): GPUBuffer => {
    const b = device.createBuffer({ label, size: Math.max(4, values * 4), usage });
    owned.push(b);
    return b;
  };
  const upload = (label: string, data: Float32Array): GPUBuffer => {
    // mappedAtCreation lets a STORAGE-only buffer be filled once: no COPY_DST needed.
    const b = device.createBuffer({ label, size: Math.max(4, data.byteLength), usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
    new Float32Array(b.getMappedRange()).set(data);
    b.unmap();
    owned.push(b);
    return b;
  };
  // Check every tensor before any GPU work, so nothing below throws between scope push and pop.
  for (const layer of layers) {
    for (const name of layerTensorNames(layer)) {
      if (!tensors.has(name)) throw new ModelMismatchError(`layer ${layer.name} needs a tensor that is missing`, name);
    }
  }
  const tensor = (layer: LayerSpec, name: string): GPUBuffer => upload(`${layer.name}.${name}`, tensors.get(name)!);

  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const batchBuffer = device.createBuffer({
    label: 'batch.uniform',
    size: kBatchUniformBytes,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  owned.push(batchBuffer);
  const inputValues = layerInputSize(first);
  const inputBuffer = buffer('input', maxBatch * inputValues, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);

  const pending: PendingStep[] = [];
  const layerBuffers = new Map<LayerName, { buffer: GPUBuffer; values: number }>();
  let current = inputBuffer;
  for (const layer of layers) {
    const values = layerOutputSize(layer);
    const act: Activation = layerActivation(layer);
    const separate = !options.fuseActivations && act !== 'none';
    const output = buffer(`${layer.name}.output`, maxBatch * values, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const kernelOutput = separate ? buffer(`${layer.name}.preactivation`, maxBatch * values, GPUBufferUsage.STORAGE) : output;
    pending.push(layerStep(layer, separate ? 'none' : act, current, kernelOutput, (name) => tensor(layer, name)));
    if (separate) {
      const options = { perImage: values, activation: act };
      pending.push({
        label: `${layer.name}.${act}`,
        source: { kernel: 'activation', options, code: activationShader(options) },
        bindings: [kernelOutput, output],
        invocationsPerImage: values,
        workgroupSize: kActivationWorkgroupSize,
      });
    }
    layerBuffers.set(layer.name, { buffer: output, values });
    current = output;
  }
  // Both pops before any await: another build may push scopes of its own meanwhile.
  const [creationError, memoryError] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
  const destroy = () => {
    for (const b of owned.splice(0)) b.destroy();
  };
  if (creationError || memoryError) {
    destroy();
    throw new GpuError(`building the layered plan failed: ${(creationError ?? memoryError)!.message}`);
  }

  let steps: PlanStep[];
  try {
    steps = await Promise.all(pending.map((step) => makeStep(device, step, batchBuffer)));
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    kind: 'layered',
    maxBatch,
    steps,
    batchBuffer,
    inputBuffer,
    inputValues,
    outputBuffer: current,
    outputValues: layerOutputSize(last),
    layerBuffers,
    destroy,
  };
}

/** The kernel for one layer, its activation fused (or 'none'). */
function layerStep(
  layer: LayerSpec,
  activation: Activation,
  input: GPUBuffer,
  output: GPUBuffer,
  tensor: (name: string) => GPUBuffer,
): PendingStep {
  const invocationsPerImage = layerOutputSize(layer);
  switch (layer.kind) {
    case 'conv5x5': {
      const options = {
        inChannels: layer.inChannels,
        outChannels: layer.outChannels,
        inSize: layer.inSize,
        padding: layer.padding,
        connectionTable: layer.connectionTable,
        activation,
      };
      return {
        label: `${layer.name}.conv5x5`,
        source: { kernel: 'conv5x5', options, code: conv5x5(options) },
        bindings: [input, tensor(layer.weight), tensor(layer.bias), output],
        invocationsPerImage,
        workgroupSize: kConv5x5WorkgroupSize,
      };
    }
    case 'subsample2x2': {
      const options = { channels: layer.channels, inSize: layer.inSize, mode: layer.mode, activation };
      const trainable = layer.trainable ? [tensor(layer.trainable.coefficient), tensor(layer.trainable.bias)] : [];
      return {
        label: `${layer.name}.subsample2x2`,
        source: { kernel: 'subsample2x2', options, code: subsample2x2(options) },
        bindings: [input, output, ...trainable],
        invocationsPerImage,
        workgroupSize: kSubsample2x2WorkgroupSize,
      };
    }
    case 'dense': {
      const options = { inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, activation };
      return {
        label: `${layer.name}.dense`,
        source: { kernel: 'dense', options, code: dense(options) },
        bindings: [input, tensor(layer.weight), tensor(layer.bias), output],
        invocationsPerImage,
        workgroupSize: kDenseWorkgroupSize,
      };
    }
    case 'rbf': {
      const options = { inFeatures: layer.inFeatures, classes: layer.classes };
      return {
        label: `${layer.name}.rbf`,
        source: { kernel: 'rbf', options, code: rbf(options) },
        bindings: [input, tensor(layer.centres), output],
        invocationsPerImage,
        workgroupSize: kRbfWorkgroupSize,
      };
    }
    case 'softmax': {
      const options = { features: layer.features, log: layer.log };
      return {
        label: `${layer.name}.softmax`,
        source: { kernel: 'softmax', options, code: softmax(options) },
        bindings: [input, output],
        invocationsPerImage: 1,
        workgroupSize: kSoftmaxWorkgroupSize,
      };
    }
  }
}

async function makeStep(device: GPUDevice, step: PendingStep, batchBuffer: GPUBuffer): Promise<PlanStep> {
  const pipeline = await cachedPipeline(device, step.label, step.source);
  device.pushErrorScope('validation');
  const bindGroup = device.createBindGroup({
    label: `${step.label}.bindgroup`,
    layout: pipeline.getBindGroupLayout(0),
    entries: [batchBuffer, ...step.bindings].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const error = await device.popErrorScope(); // popped before any other await
  if (error) throw new GpuError(`${step.label}.bindgroup: ${error.message}`);
  const { invocationsPerImage, workgroupSize } = step;
  return {
    label: step.label,
    pipeline,
    bindGroup,
    workgroups: (count) => dispatchSize(count * invocationsPerImage, workgroupSize),
  };
}

/** Every buffer of a maxBatch plan must fit the device's binding limits. */
function checkBatchFits(device: GPUDevice, layers: readonly LayerSpec[], maxBatch: number): void {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new InputError(`maxBatch must be a positive integer, found ${maxBatch}`);
  }
  const perImage = Math.max(...layers.map((l) => Math.max(layerInputSize(l), layerOutputSize(l)))) * 4;
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (perImage * maxBatch > limit) {
    throw new InputError(
      `maxBatch ${maxBatch} needs ${perImage * maxBatch}-byte buffers; this device binds at most ${limit} bytes, so maxBatch ≤ ${Math.floor(limit / perImage)}`,
    );
  }
}
