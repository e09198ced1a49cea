/**
 * The dispatches of one training step, layer by layer, before their pipelines exist: each
 * layer's forward kernel (the inference plans' own, over the training plan's buffers) and its
 * backward kernels (shaders/*-backward.ts) in the order they run. The training plan
 * (training-plan.ts) owns the buffers and hands them in.
 */
import { activationBackward } from '../../shaders/activation-backward.js';
import { dispatchSize } from '../../shaders/common.js';
import { conv5x5, type KernelTarget } from '../../shaders/conv5x5.js';
import {
  conv5x5BackwardBiasPartial,
  conv5x5BackwardWeightPartial,
  conv5x5BackwardWeightRows,
  conv5x5FlipWeights,
  conv5x5InputGradientConv,
  conv5x5WrittenOutWeightRows,
} from '../../shaders/conv5x5-backward.js';
import { dense, denseBlocking } from '../../shaders/dense.js';
import { denseBackwardBias, denseBackwardInput, denseBackwardWeight } from '../../shaders/dense-backward.js';
import { batchSum, type TrainKernel } from '../../shaders/elementwise.js';
import { kRbfWorkgroupSize, rbf } from '../../shaders/rbf.js';
import { rbfBackward } from '../../shaders/rbf-backward.js';
import { kSubsample2x2WorkgroupSize, subsample2x2 } from '../../shaders/subsample2x2.js';
import { subsample2x2BackwardInput, subsample2x2BackwardParameter } from '../../shaders/subsample2x2-backward.js';
import { ModelMismatchError } from '../errors.js';
import { convKernelCount, layerActivation, layerOutputSize, type LayerSpec } from '../model/spec.js';

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

/** What a layer's backward dispatches read and write besides its own buffers. */
export interface BackwardContext {
  /** A tensor's binding (the trainable ones in the plan's parameter vector). */
  readonly tensor: (name: string) => GPUBufferBinding;
  /** A trainable tensor's gradient binding; null: a saliency pass wants only the input's. */
  readonly grad: ((name: string) => GPUBufferBinding) | null;
  /** What the forward-shaped kernels (the conv input gradient) size their blocks for. */
  readonly target: KernelTarget;
  /** Images the plan's buffers hold. */
  readonly maxBatch: number;
  /** A buffer of `floats` values the plan owns, for a step's intermediate values (zero at first). */
  readonly scratch: (label: string, floats: number) => GPUBuffer;
}

/**
 * One layer's backward dispatches: the activation's (outputGrad → preGrad), the parameter
 * gradients (none when `context.grad` is null), then the gradient at the layer's input (into
 * the previous layer's outputGrad, or the input gradient buffer, or nowhere for the first layer).
 */
export function backwardSteps(
  layer: LayerSpec,
  input: GPUBuffer,
  output: GPUBuffer,
  outputGrad: GPUBuffer,
  preGrad: GPUBuffer,
  inputGrad: GPUBuffer | null,
  context: BackwardContext,
): PendingStep[] {
  const { tensor, grad } = context;
  const b = (buffer: GPUBuffer): GPUBufferBinding => ({ buffer });
  const steps: PendingStep[] = [];
  const activation = layerActivation(layer);
  if (activation !== 'none') {
    steps.push({ label: `${layer.name}.${activation}.backward`, kernel: activationBackward({ perImage: layerOutputSize(layer), activation }), bindings: [b(output), b(outputGrad), b(preGrad)] });
  }
  switch (layer.kind) {
    case 'conv5x5': {
      const options = { inChannels: layer.inChannels, outChannels: layer.outChannels, inSize: layer.inSize, padding: layer.padding, ...(layer.connectionTable ? { connectionTable: layer.connectionTable } : {}) };
      const kernels = convKernelCount(layer.inChannels, layer.outChannels, layer.connectionTable);
      if (grad) {
        // Written out for a CPU implementation where the layer's code stays within the budget.
        const rows = conv5x5WrittenOutWeightRows(options, context.target);
        const weightPartial = context.scratch(`${layer.name}.weight.gradient.partial`, context.maxBatch * Math.max(rows, 1) * kernels * 25);
        const biasPartial = context.scratch(`${layer.name}.bias.gradient.partial`, context.maxBatch * layer.outChannels);
        steps.push({
          label: `${layer.name}.conv5x5.backward.weight.partial`,
          kernel: rows > 0 ? conv5x5BackwardWeightRows(options) : conv5x5BackwardWeightPartial(options),
          bindings: [b(input), b(preGrad), b(weightPartial)],
        });
        steps.push({ label: `${layer.name}.conv5x5.backward.weight.sum`, kernel: batchSum({ values: kernels * 25, rowsPerImage: Math.max(rows, 1) }), bindings: [b(weightPartial), grad(layer.weight)] });
        steps.push({ label: `${layer.name}.conv5x5.backward.bias.partial`, kernel: conv5x5BackwardBiasPartial(options), bindings: [b(preGrad), b(biasPartial)] });
        steps.push({ label: `${layer.name}.conv5x5.backward.bias.sum`, kernel: batchSum({ values: layer.outChannels }), bindings: [b(biasPartial), grad(layer.bias)] });
      }
      if (inputGrad) {
        const turned = context.scratch(`${layer.name}.weight.turned`, kernels * 25);
        const zeroBias = context.scratch(`${layer.name}.input.gradient.bias`, layer.inChannels);
        steps.push({ label: `${layer.name}.conv5x5.backward.turn`, kernel: conv5x5FlipWeights(options), bindings: [tensor(layer.weight), b(turned)] });
        const convOptions = conv5x5InputGradientConv(options, context.target);
        const { code, workgroups } = conv5x5(convOptions);
        steps.push({ label: `${layer.name}.conv5x5.backward.input`, kernel: { kernel: 'conv5x5', options: convOptions, code, workgroups }, bindings: [b(preGrad), b(turned), b(zeroBias), b(inputGrad)] });
      }
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
      // The backward blocks as wide as the forward's on CPU implementations' long runs; 4 × 4 otherwise.
      const options = { inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, block: context.target === 'cpu-unrolled' ? denseBlocking(layer.outFeatures, context.target).images : 4 };
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
