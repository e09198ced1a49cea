/**
 * The dispatches of one training step, layer by layer, before their pipelines exist: each
 * layer's forward kernel (the inference plans' own, over the training plan's buffers) and its
 * backward kernels (shaders/*-backward.ts) in the order they run. The training plan
 * (training-plan.ts) owns the buffers and hands them in.
 */
import { activationBackward } from '../../shaders/activation-backward.js';
import { dispatchSize } from '../../shaders/common.js';
import { conv5x5, type KernelTarget } from '../../shaders/conv5x5.js';
import { conv5x5BackwardBias, conv5x5BackwardInput, conv5x5BackwardWeight } from '../../shaders/conv5x5-backward.js';
import { dense } from '../../shaders/dense.js';
import { denseBackwardBias, denseBackwardInput, denseBackwardWeight } from '../../shaders/dense-backward.js';
import type { TrainKernel } from '../../shaders/elementwise.js';
import { kRbfWorkgroupSize, rbf } from '../../shaders/rbf.js';
import { rbfBackward } from '../../shaders/rbf-backward.js';
import { kSubsample2x2WorkgroupSize, subsample2x2 } from '../../shaders/subsample2x2.js';
import { subsample2x2BackwardInput, subsample2x2BackwardParameter } from '../../shaders/subsample2x2-backward.js';
import { ModelMismatchError } from '../errors.js';
import { layerActivation, layerOutputSize, type LayerSpec } from '../model/spec.js';

/** A dispatch before its pipeline and bind group exist. */
export interface PendingStep {
  readonly label: string;
  readonly kernel: TrainKernel;
  /** Bindings 1, 2, …; binding 0 is always the step uniform. */
  readonly bindings: readonly GPUBufferBinding[];
}

export interface ReadyStep {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly kernel: TrainKernel;
}

/** A forward kernel of the inference plans over the training plan's buffers. */
export function forwardStep(
  layer: LayerSpec,
  input: GPUBuffer,
  output: GPUBuffer,
  tensor: (name: string) => GPUBufferBinding,
  target: KernelTarget,
): PendingStep {
  const perImage = layerOutputSize(layer);
  const grid = (workgroupSize: number) => (count: number) => dispatchSize(count * perImage, workgroupSize);
  const kernel = (name: string, options: object, code: string, workgroupSize: number): TrainKernel => ({ kernel: name, options, code, workgroups: grid(workgroupSize) });
  switch (layer.kind) {
    case 'conv5x5': {
      const options = { inChannels: layer.inChannels, outChannels: layer.outChannels, inSize: layer.inSize, padding: layer.padding, connectionTable: layer.connectionTable, activation: layer.activation, target };
      const { code, workgroups } = conv5x5(options);
      return { label: `${layer.name}.conv5x5`, kernel: { kernel: 'conv5x5', options, code, workgroups }, bindings: [{ buffer: input }, tensor(layer.weight), tensor(layer.bias), { buffer: output }] };
    }
    case 'subsample2x2': {
      const options = { channels: layer.channels, inSize: layer.inSize, mode: layer.mode, activation: layer.activation };
      const trainable = layer.trainable ? [tensor(layer.trainable.coefficient), tensor(layer.trainable.bias)] : [];
      return { label: `${layer.name}.subsample2x2`, kernel: kernel('subsample2x2', options, subsample2x2(options), kSubsample2x2WorkgroupSize), bindings: [{ buffer: input }, { buffer: output }, ...trainable] };
    }
    case 'dense': {
      const options = { inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, activation: layer.activation, target };
      const { code, workgroups } = dense(options);
      return { label: `${layer.name}.dense`, kernel: { kernel: 'dense', options, code, workgroups }, bindings: [{ buffer: input }, tensor(layer.weight), tensor(layer.bias), { buffer: output }] };
    }
    case 'rbf': {
      const options = { inFeatures: layer.inFeatures, classes: layer.classes };
      return { label: `${layer.name}.rbf`, kernel: kernel('rbf', options, rbf(options), kRbfWorkgroupSize), bindings: [{ buffer: input }, tensor(layer.centres), { buffer: output }] };
    }
    case 'softmax':
    case 'scale-shift':
      throw new ModelMismatchError(`the GPU trainer cannot train layer '${layer.name}' (${layer.kind})`);
  }
}

/**
 * One layer's backward dispatches: the activation's (outputGrad → preGrad), the parameter
 * gradients (none when `grad` is null: a saliency pass wants only the input's), then the
 * gradient at the layer's input (into the previous layer's outputGrad, or the input gradient
 * buffer, or nowhere for the first layer).
 */
export function backwardSteps(
  layer: LayerSpec,
  input: GPUBuffer,
  output: GPUBuffer,
  outputGrad: GPUBuffer,
  preGrad: GPUBuffer,
  inputGrad: GPUBuffer | null,
  tensor: (name: string) => GPUBufferBinding,
  grad: ((name: string) => GPUBufferBinding) | null,
): PendingStep[] {
  const b = (buffer: GPUBuffer): GPUBufferBinding => ({ buffer });
  const steps: PendingStep[] = [];
  const activation = layerActivation(layer);
  if (activation !== 'none') {
    steps.push({ label: `${layer.name}.${activation}.backward`, kernel: activationBackward({ perImage: layerOutputSize(layer), activation }), bindings: [b(output), b(outputGrad), b(preGrad)] });
  }
  switch (layer.kind) {
    case 'conv5x5': {
      const options = { inChannels: layer.inChannels, outChannels: layer.outChannels, inSize: layer.inSize, padding: layer.padding, ...(layer.connectionTable ? { connectionTable: layer.connectionTable } : {}) };
      if (grad) {
        steps.push({ label: `${layer.name}.conv5x5.backward.weight`, kernel: conv5x5BackwardWeight(options), bindings: [b(input), b(preGrad), grad(layer.weight)] });
        steps.push({ label: `${layer.name}.conv5x5.backward.bias`, kernel: conv5x5BackwardBias(options), bindings: [b(preGrad), grad(layer.bias)] });
      }
      if (inputGrad) steps.push({ label: `${layer.name}.conv5x5.backward.input`, kernel: conv5x5BackwardInput(options), bindings: [tensor(layer.weight), b(preGrad), b(inputGrad)] });
      return steps;
    }
    case 'subsample2x2': {
      const options = { channels: layer.channels, inSize: layer.inSize, mode: layer.mode };
      if (layer.trainable && grad) {
        steps.push({ label: `${layer.name}.subsample2x2.backward.coefficient`, kernel: subsample2x2BackwardParameter(options, 'coefficient'), bindings: [b(input), b(preGrad), grad(layer.trainable.coefficient)] });
        steps.push({ label: `${layer.name}.subsample2x2.backward.bias`, kernel: subsample2x2BackwardParameter(options, 'bias'), bindings: [b(preGrad), grad(layer.trainable.bias)] });
      }
      if (inputGrad) {
        const extra = layer.mode === 'max' ? [b(input)] : layer.trainable ? [tensor(layer.trainable.coefficient)] : [];
        steps.push({ label: `${layer.name}.subsample2x2.backward.input`, kernel: subsample2x2BackwardInput(options), bindings: [b(preGrad), b(inputGrad), ...extra] });
      }
      return steps;
    }
    case 'dense': {
      const options = { inFeatures: layer.inFeatures, outFeatures: layer.outFeatures };
      if (grad) {
        steps.push({ label: `${layer.name}.dense.backward.weight`, kernel: denseBackwardWeight(options), bindings: [b(input), b(preGrad), grad(layer.weight)] });
        steps.push({ label: `${layer.name}.dense.backward.bias`, kernel: denseBackwardBias(options), bindings: [b(preGrad), grad(layer.bias)] });
      }
      if (inputGrad) steps.push({ label: `${layer.name}.dense.backward.input`, kernel: denseBackwardInput(options), bindings: [tensor(layer.weight), b(preGrad), b(inputGrad)] });
      return steps;
    }
    case 'rbf':
      if (inputGrad) steps.push({ label: `${layer.name}.rbf.backward`, kernel: rbfBackward({ inFeatures: layer.inFeatures, classes: layer.classes }), bindings: [b(input), tensor(layer.centres), b(outputGrad), b(inputGrad)] });
      return steps;
    case 'softmax':
    case 'scale-shift':
      throw new ModelMismatchError(`the GPU trainer cannot train layer '${layer.name}' (${layer.kind})`);
  }
}
