/**
 * The layer-by-layer plan (the reference GPU path): one kernel per layer, each layer's output
 * in its own buffer, optionally a standalone activation kernel after each layer
 * (`fuseActivations: false`) writing into a further buffer, so no dispatch ever binds one
 * buffer as both input and output.
 */
import { activation as activationShader, kActivationWorkgroupSize } from '../../shaders/activation.js';
import { dispatchSize } from '../../shaders/common.js';
import { conv5x5, type KernelTarget } from '../../shaders/conv5x5.js';
import { dense } from '../../shaders/dense.js';
import { kRbfWorkgroupSize, rbf } from '../../shaders/rbf.js';
import { kScaleShiftWorkgroupSize, scaleShift } from '../../shaders/scale-shift.js';
import { kSoftmaxWorkgroupSize, softmax } from '../../shaders/softmax.js';
import { kSubsample2x2WorkgroupSize, subsample2x2 } from '../../shaders/subsample2x2.js';
import { InputError, ModelMismatchError } from '../errors.js';
import {
  layerActivation,
  layerInputSize,
  layerOutputSize,
  layerTensorNames,
  type Activation,
  type LayerName,
  type LayerSpec,
} from '../model/spec.js';
import { kernelTargetOf } from './device.js';
import { cachedPipeline, type KernelSource } from './pipeline-cache.js';
import type { Plan, PlanStep } from './plan.js';
import { checkMaxBatch, destroyOnError, PlanBuffers, scoped } from './plan-resources.js';

export interface LayeredPlanOptions {
  /** Largest batch one run takes; buffers are sized for it. */
  readonly maxBatch: number;
  /** True: activations inside each layer's kernel. False: a standalone activation kernel. */
  readonly fuseActivations: boolean;
  /**
   * A weight tensor's buffer where it is already on the GPU (snapshot-plan.ts: a trainer's
   * parameters, copied there); the plan binds it and does not own it. Where this is absent or
   * returns undefined, the tensor is uploaded from `tensors`.
   */
  readonly tensorBuffer?: (name: string) => GPUBuffer | undefined;
  /** What the conv and dense kernels size their blocks for; default `kernelTargetOf(device)`. */
  readonly kernelTarget?: KernelTarget;
}

/** A kernel instance before its pipeline exists. */
export interface PendingStep {
  readonly label: string;
  readonly source: KernelSource;
  /** Buffers in binding order 1, 2, …; binding 0 is always the batch uniform. */
  readonly bindings: readonly GPUBuffer[];
  /** The workgroup grid for `count` images, from the constants the shader was built with. */
  workgroups(count: number): [number, number, number];
}

/** The grid of a one-invocation-per-output kernel: `perImage` invocations per image. */
function perOutputGrid(perImage: number, workgroupSize: number): (count: number) => [number, number, number] {
  return (count) => dispatchSize(count * perImage, workgroupSize);
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
  // Every buffer of a maxBatch plan must fit the device's binding limits.
  checkMaxBatch(device, maxBatch, Math.max(...layers.map((l) => Math.max(layerInputSize(l), layerOutputSize(l)))) * 4);
  // Check every tensor before any GPU work, so a missing one is a ModelMismatchError, not a GPU error.
  for (const layer of layers) {
    for (const name of layerTensorNames(layer)) {
      if (!tensors.has(name) && !options.tensorBuffer?.(name)) throw new ModelMismatchError(`layer ${layer.name} needs a tensor that is missing`, name);
    }
  }
  const buffers = new PlanBuffers(device);
  const values = (label: string, count: number, usage: number) => buffers.create(label, count * 4, usage);
  const tensor = (layer: LayerSpec, name: string): GPUBuffer =>
    options.tensorBuffer?.(name) ?? buffers.upload(`${layer.name}.${name}`, tensors.get(name)!);
  const inputValues = layerInputSize(first);
  const target = options.kernelTarget ?? kernelTargetOf(device);

  return destroyOnError(buffers, async () => {
    const { batchBuffer, inputBuffer, pending, layerBuffers, outputBuffer } = await scoped(device, 'layered plan buffers', () => {
      const batchBuffer = buffers.batchUniform('batch.uniform');
      const inputBuffer = values('input', maxBatch * inputValues, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      const pending: PendingStep[] = [];
      const layerBuffers = new Map<LayerName, { buffer: GPUBuffer; values: number }>();
      let current = inputBuffer;
      for (const layer of layers) {
        const perImage = layerOutputSize(layer);
        const act: Activation = layerActivation(layer);
        const separate = !options.fuseActivations && act !== 'none';
        const output = values(`${layer.name}.output`, maxBatch * perImage, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
        const kernelOutput = separate ? values(`${layer.name}.preactivation`, maxBatch * perImage, GPUBufferUsage.STORAGE) : output;
        pending.push(layerStep(layer, separate ? 'none' : act, current, kernelOutput, (name) => tensor(layer, name), target));
        if (separate) {
          const options = { perImage, activation: act };
          pending.push({
            label: `${layer.name}.${act}`,
            source: { kernel: 'activation', options, code: activationShader(options) },
            bindings: [kernelOutput, output],
            workgroups: perOutputGrid(perImage, kActivationWorkgroupSize),
          });
        }
        layerBuffers.set(layer.name, { buffer: output, values: perImage });
        current = output;
      }
      return { batchBuffer, inputBuffer, pending, layerBuffers, outputBuffer: current };
    });
    const steps = await Promise.all(pending.map((step) => makeStep(device, step, batchBuffer)));
    return {
      // Blocked kernels (GPU-sized) or one output per invocation: what `WebGpuEngine.planDetail` reports.
      kind: target === 'cpu' ? 'layered' : 'layered-blocked',
      maxBatch,
      steps,
      batchBuffer,
      inputBuffer,
      inputValues,
      outputBuffer,
      outputValues: layerOutputSize(last),
      layerBuffers,
      destroy: () => buffers.destroy(),
    };
  });
}

/**
 * The kernel for one layer, its activation fused (or 'none'). Exported for
 * scripts/probe-layered.ts, which times each layer's kernel on its own.
 *
 * `target`: what the conv and dense kernels size their blocks for (`kernelTargetOf(device)`).
 *
 * @example
 * const step = layerStep(layer, 'relu', inputBuffer, outputBuffer, (name) => weightBuffers.get(name)!, kernelTargetOf(device));
 */
export function layerStep(
  layer: LayerSpec,
  activation: Activation,
  input: GPUBuffer,
  output: GPUBuffer,
  tensor: (name: string) => GPUBuffer,
  target: KernelTarget,
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
        target,
      };
      const kernel = conv5x5(options);
      return {
        label: `${layer.name}.conv5x5`,
        source: { kernel: 'conv5x5', options, code: kernel.code },
        bindings: [input, tensor(layer.weight), tensor(layer.bias), output],
        workgroups: kernel.workgroups,
      };
    }
    case 'subsample2x2': {
      const options = { channels: layer.channels, inSize: layer.inSize, mode: layer.mode, activation };
      const trainable = layer.trainable ? [tensor(layer.trainable.coefficient), tensor(layer.trainable.bias)] : [];
      return {
        label: `${layer.name}.subsample2x2`,
        source: { kernel: 'subsample2x2', options, code: subsample2x2(options) },
        bindings: [input, output, ...trainable],
        workgroups: perOutputGrid(invocationsPerImage, kSubsample2x2WorkgroupSize),
      };
    }
    case 'dense': {
      const options = { inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, activation, target };
      const kernel = dense(options);
      return {
        label: `${layer.name}.dense`,
        source: { kernel: 'dense', options, code: kernel.code },
        bindings: [input, tensor(layer.weight), tensor(layer.bias), output],
        workgroups: kernel.workgroups,
      };
    }
    case 'scale-shift': {
      const options = { channels: layer.channels, perChannel: layer.size === undefined ? 1 : layer.size * layer.size, activation };
      return {
        label: `${layer.name}.scale-shift`,
        source: { kernel: 'scale-shift', options, code: scaleShift(options) },
        bindings: [input, tensor(layer.scale), tensor(layer.shift), output],
        workgroups: perOutputGrid(invocationsPerImage, kScaleShiftWorkgroupSize),
      };
    }
    case 'rbf': {
      const options = { inFeatures: layer.inFeatures, classes: layer.classes };
      return {
        label: `${layer.name}.rbf`,
        source: { kernel: 'rbf', options, code: rbf(options) },
        bindings: [input, tensor(layer.centres), output],
        workgroups: perOutputGrid(invocationsPerImage, kRbfWorkgroupSize),
      };
    }
    case 'softmax': {
      const options = { features: layer.features, log: layer.log };
      return {
        label: `${layer.name}.softmax`,
        source: { kernel: 'softmax', options, code: softmax(options) },
        bindings: [input, output],
        workgroups: perOutputGrid(1, kSoftmaxWorkgroupSize),
      };
    }
  }
}

async function makeStep(device: GPUDevice, step: PendingStep, batchBuffer: GPUBuffer): Promise<PlanStep> {
  const pipeline = await cachedPipeline(device, step.label, step.source);
  const bindGroup = await scoped(device, `${step.label}.bindgroup`, () =>
    device.createBindGroup({
      label: `${step.label}.bindgroup`,
      layout: pipeline.getBindGroupLayout(0),
      entries: [batchBuffer, ...step.bindings].map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  return { label: step.label, pipeline, bindGroup, workgroups: step.workgroups };
}
