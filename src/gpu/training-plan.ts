/**
 * The training plan: what a model becomes on the GPU to be trained, beside the inference
 * plans (layered-plan.ts, fused-plan.ts) and built through the same resources helper.
 *
 * Buffers, allocated once for `maxBatch` images: the dataset (bytes, four to a u32) and its
 * labels, uploaded once; the epoch's order; every trainable tensor in one flat parameter
 * vector (each tensor at an offset the device can bind), a gradient vector of the same layout
 * and the optimizer's state; per layer its output (what backward needs is kept: every layer's
 * input and post-activation output) and the gradients at its output and pre-activation.
 *
 * One optimizer step is a fixed list of dispatches: gather the minibatch (shaders/gather-batch.ts),
 * forward with the inference kernels, the loss (cross-entropy.ts), loss totals, backward from
 * the last layer (the *-backward.ts kernels), the optimizer (optimizers.ts). Many steps go in
 * one submission: before each, a copy moves that step's record (batch size, first index in the
 * order, learning rate, Adam's bias corrections) into the step uniform every kernel reads at
 * binding 0. Nothing is read back unless asked.
 */
import type { KernelTarget } from '../../shaders/conv5x5.js';
import { crossEntropy, lossTotals } from '../../shaders/cross-entropy.js';
import { kStepUniformBytes, writeStep, type StepValues } from '../../shaders/elementwise.js';
import { gatherBatch } from '../../shaders/gather-batch.js';
import { adam, sgd } from '../../shaders/optimizers.js';
import { DataFileError, InputError, ModelMismatchError } from '../errors.js';
import { kClasses, kImageSize, layerActivation, layerInputSize, layerOutputSize, type ModelSpec, type Preprocessing } from '../model/spec.js';
import { kAffineValues } from '../train/augment.js';
import { refuseBatchNorm } from '../train/batch-norm.js';
import { cachedPipeline } from './pipeline-cache.js';
import { checkMaxBatch, destroyOnError, PlanBuffers, scoped } from './plan-resources.js';
import { backwardSteps, forwardStep, type PendingStep, type ReadyStep } from './training-steps.js';

/** Labelled 28×28 images as bytes (MNIST's layout). */
export interface LabelledImages {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** The optimizer and its constant hyper-parameters (the learning rate comes per step). */
export type OptimizerOptions =
  | { readonly kind: 'sgd'; readonly momentum: number; readonly weightDecay: number }
  | { readonly kind: 'adam'; readonly beta1: number; readonly beta2: number; readonly epsilon: number; readonly weightDecay: number };

export interface TrainingPlanOptions {
  readonly maxBatch: number;
  readonly optimizer: OptimizerOptions;
  readonly preprocessing: Preprocessing;
  /** Most optimizer steps one submission encodes (default 64). */
  readonly maxStepsPerSubmit?: number;
  /** Also compute the gradient at the network's input (tests compare it with PyTorch's). */
  readonly inputGradient?: boolean;
  /** Warp each training image by its affine distortion (`setAffine`) as it is drawn. */
  readonly augment?: boolean;
  /**
   * What the conv and dense kernels size their blocks for; default 'gpu' on every device. A
   * training plan runs thousands of steps, so the blocked kernels' longer build on a CPU
   * implementation (about a second on SwiftShader) pays for itself in the first few steps.
   */
  readonly kernelTarget?: KernelTarget;
}

/** Where one trainable tensor lives in the flat parameter and gradient vectors (floats). */
export interface TensorSlot {
  readonly offset: number;
  readonly length: number;
}

/** Running totals since the last read: summed per-image loss, correct answers, images. */
export interface LossTotals {
  readonly lossSum: number;
  readonly correct: number;
  readonly images: number;
}

export interface TrainingPlan {
  readonly spec: ModelSpec;
  readonly maxBatch: number;
  readonly maxStepsPerSubmit: number;
  /** Trainable tensors by name. */
  readonly slots: ReadonlyMap<string, TensorSlot>;
  /** Sets the order the next steps draw training images in (a permutation of 0 … count − 1). */
  setOrder(order: Uint32Array<ArrayBuffer>): void;
  /** With `augment`: each position's distortion (src/train/augment.ts), [count, 6]. */
  setAffine(affine: Float32Array<ArrayBuffer>): void;
  /** Encodes and submits up to maxStepsPerSubmit optimizer steps on the training set. */
  train(steps: readonly StepValues[]): void;
  /**
   * Encodes and submits forward passes (no update) over `count` test images in batches of
   * maxBatch; their totals go to the evaluation totals.
   */
  evaluate(): Promise<LossTotals>;
  /** Reads and clears the training totals. */
  readTrainingTotals(): Promise<LossTotals>;
  /** Reads every trainable tensor. */
  readParameters(): Promise<Map<string, Float32Array>>;
  /**
   * Queues a copy of every trainable tensor, as the steps submitted so far leave it, into
   * `targets` (one COPY_DST buffer per tensor name, at least its size): GPU to GPU, nothing
   * read back, nothing waited for.
   */
  copyParameters(targets: ReadonlyMap<string, GPUBuffer>): void;
  /** Reads the last step's gradient of every trainable tensor (of the batch's mean loss). */
  readGradients(): Promise<Map<string, Float32Array>>;
  /** The last step's gradient at the input, [N, inputSize²] (when built with inputGradient). */
  readInputGradient(count: number): Promise<Float32Array>;
  /**
   * Times each dispatch of one optimizer step alone (`record`'s batch; one dispatch per
   * submission, waited for, `rounds` times): what `npm run probe:train` prints. The
   * parameters change as the optimizer dispatch runs; profile a plan you will not train on.
   */
  profileStep(record: StepValues, rounds: number): Promise<Array<{ label: string; ms: number[] }>>;
  destroy(): void;
}

/** The layer kinds this plan trains; anything else is refused by name. */
function checkTrainable(spec: ModelSpec): void {
  refuseBatchNorm(spec, 'the GPU trainer');
  if (spec.inputChannels !== 1) {
    throw new ModelMismatchError(`the GPU trainer trains grey (1-channel) models on MNIST; '${spec.title}' takes ${spec.inputChannels} input channels`);
  }
  spec.layers.forEach((layer, index) => {
    const kind = (layer as { kind: string }).kind;
    if (kind === 'softmax') {
      throw new ModelMismatchError(
        `the GPU trainer cannot train layer '${layer.name}' (a softmax output): the loss applies its own softmax to the logits; train the model without it`,
      );
    }
    if (kind === 'batchnorm' || kind === 'scale-shift') {
      throw new ModelMismatchError(`the GPU trainer does not train batch norm layers; expected conv, pool, dense and RBF layers only, found '${layer.name}' (a per-channel scale and shift)`);
    }
    if (kind !== 'conv5x5' && kind !== 'subsample2x2' && kind !== 'dense' && kind !== 'rbf') {
      throw new ModelMismatchError(`the GPU trainer does not know layer kind '${kind}' (layer '${layer.name}'); it trains conv, pool, dense and RBF layers`);
    }
    if (kind === 'rbf' && index !== spec.layers.length - 1) {
      throw new ModelMismatchError(`the RBF layer '${layer.name}' must be the last layer to be trained`);
    }
  });
  const last = spec.layers[spec.layers.length - 1];
  if (!last || layerOutputSize(last) !== kClasses) {
    throw new ModelMismatchError(`the GPU trainer needs ${kClasses} output scores, found ${last ? layerOutputSize(last) : 0}`);
  }
}

/** Packs bytes four to a u32 (little-endian), as the gather kernel reads them. */
function packedBytes(bytes: Uint8Array): Uint32Array<ArrayBuffer> {
  const words = new Uint32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(words.buffer).set(bytes);
  return words;
}

function checkImages(what: string, set: LabelledImages): void {
  if (!Number.isInteger(set.count) || set.count < 1) throw new InputError(`${what}: image count must be a positive integer, found ${set.count}`);
  if (set.images.length !== set.count * kImageSize * kImageSize) {
    throw new InputError(`${what}: expected ${set.count * kImageSize * kImageSize} bytes (${set.count} images of 28×28), found ${set.images.length}`);
  }
  if (set.labels.length !== set.count) throw new InputError(`${what}: expected ${set.count} labels, found ${set.labels.length}`);
  const bad = set.labels.findIndex((label) => label >= kClasses);
  if (bad >= 0) throw new DataFileError(`${what}: label ${bad} is ${set.labels[bad]}, expected 0 … ${kClasses - 1}`);
}

/**
 * Builds the training plan of `spec` from `tensors` (every tensor the spec names: the trainable
 * ones are the starting point, the RBF centres stay fixed) over a training set and an optional
 * test set, both uploaded here once.
 *
 * @example
 * const plan = await buildTrainingPlan(device, spec, weights.tensors, trainSet, testSet, {
 *   maxBatch: 64, optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 }, preprocessing: spec.defaultPreprocessing,
 * });
 * plan.setOrder(order);
 * plan.train([{ count: 64, first: 0, learningRate: 0.1, correction1: 1, correction2Sqrt: 1 }]);
 */
export async function buildTrainingPlan(
  device: GPUDevice,
  spec: ModelSpec,
  tensors: ReadonlyMap<string, Float32Array>,
  trainSet: LabelledImages,
  testSet: LabelledImages | null,
  options: TrainingPlanOptions,
): Promise<TrainingPlan> {
  checkTrainable(spec);
  const { maxBatch, preprocessing } = options;
  const maxStepsPerSubmit = options.maxStepsPerSubmit ?? 64;
  const target = options.kernelTarget ?? 'gpu';
  if (!Number.isInteger(maxStepsPerSubmit) || maxStepsPerSubmit < 1) throw new InputError(`maxStepsPerSubmit must be a positive integer, found ${maxStepsPerSubmit}`);
  const side = kImageSize + 2 * preprocessing.pad;
  if (side !== spec.inputSize) {
    throw new InputError(`preprocessing pads 28×28 images to ${side}×${side}, the model reads ${spec.inputSize}×${spec.inputSize}`);
  }
  checkImages('training set', trainSet);
  if (testSet) checkImages('test set', testSet);
  const bindable = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  for (const [what, set] of [['training set', trainSet], ['test set', testSet]] as const) {
    if (set && set.images.length > bindable) {
      throw new InputError(`${what}: ${set.images.length} bytes of images; this device binds at most ${bindable} bytes in one buffer (${Math.floor(bindable / 784)} images)`);
    }
  }
  checkMaxBatch(device, maxBatch, Math.max(...spec.layers.map((l) => Math.max(layerInputSize(l), layerOutputSize(l)))) * 4);
  for (const t of spec.tensors) {
    const data = tensors.get(t.name);
    const length = t.shape.reduce((a, b) => a * b, 1);
    if (!data) throw new ModelMismatchError(`model '${spec.id}' needs a tensor that is missing`, t.name);
    if (data.length !== length) throw new ModelMismatchError(`tensor holds ${data.length} values, the model needs ${length}`, t.name);
  }

  // Trainable tensors end to end, each at an offset the device can bind.
  const align = device.limits.minStorageBufferOffsetAlignment / 4;
  const slots = new Map<string, TensorSlot>();
  let parameterCount = 0;
  for (const t of spec.tensors) {
    if (!t.trainable) continue;
    const length = tensors.get(t.name)!.length;
    slots.set(t.name, { offset: parameterCount, length });
    parameterCount = Math.ceil((parameterCount + length) / align) * align;
  }
  const initial = new Float32Array(Math.max(1, parameterCount));
  for (const [name, slot] of slots) initial.set(tensors.get(name)!, slot.offset);

  const buffers = new PlanBuffers(device);
  const storage = GPUBufferUsage.STORAGE;
  const floats = (label: string, count: number, usage: GPUBufferUsageFlags = storage) => buffers.create(label, count * 4, usage);
  const uploadWords = (label: string, words: Uint32Array<ArrayBuffer>) => {
    const buffer = buffers.create(label, words.byteLength, storage | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(buffer, 0, words);
    return buffer;
  };

  return destroyOnError(buffers, async () => {
    const made = await scoped(device, 'training plan buffers', () => {
      const stepUniform = buffers.create('train.step.uniform', kStepUniformBytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      const records = buffers.create('train.step.records', maxStepsPerSubmit * kStepUniformBytes, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
      const params = floats('train.parameters', initial.length, storage | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(params, 0, initial);
      const grads = floats('train.gradients', initial.length, storage | GPUBufferUsage.COPY_SRC);
      const state = options.optimizer.kind === 'adam' ? [floats('train.adam.m', initial.length), floats('train.adam.v', initial.length)] : options.optimizer.momentum !== 0 ? [floats('train.sgd.velocity', initial.length)] : [];
      const fixed = new Map<string, GPUBuffer>();
      for (const t of spec.tensors) if (!t.trainable) fixed.set(t.name, buffers.upload(`train.${t.name}`, tensors.get(t.name)!));
      const dataset = (name: string, set: LabelledImages) => ({
        images: uploadWords(`train.${name}.images`, packedBytes(set.images)),
        labels: uploadWords(`train.${name}.labels`, Uint32Array.from(set.labels)),
        order: buffers.create(`train.${name}.order`, set.count * 4, storage | GPUBufferUsage.COPY_DST),
      });
      const train = dataset('train', trainSet);
      const affine = options.augment ? buffers.create('train.affine', trainSet.count * kAffineValues * 4, storage | GPUBufferUsage.COPY_DST) : null;
      device.queue.writeBuffer(train.order, 0, Uint32Array.from({ length: trainSet.count }, (_, i) => i));
      const test = testSet ? dataset('test', testSet) : null;
      if (test && testSet) device.queue.writeBuffer(test.order, 0, Uint32Array.from({ length: testSet.count }, (_, i) => i));
      const input = floats('train.batch.input', maxBatch * spec.inputSize * spec.inputSize);
      const inputGrad = options.inputGradient ? floats('train.batch.input.gradient', maxBatch * spec.inputSize * spec.inputSize, storage | GPUBufferUsage.COPY_SRC) : null;
      const labels = buffers.create('train.batch.labels', maxBatch * 4, storage);
      const layers = spec.layers.map((layer) => {
        const values = maxBatch * layerOutputSize(layer);
        const output = floats(`${layer.name}.output`, values);
        const outputGrad = floats(`${layer.name}.output.gradient`, values);
        const preGrad = layerActivation(layer) === 'none' ? outputGrad : floats(`${layer.name}.preactivation.gradient`, values);
        return { layer, output, outputGrad, preGrad };
      });
      const results = floats('train.loss.results', maxBatch * 2);
      const totals = { train: floats('train.totals', 3, storage | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST), test: floats('test.totals', 3, storage | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST) };
      return { stepUniform, records, params, grads, state, fixed, train, affine, test, input, inputGrad, labels, layers, results, totals };
    });
    const { params, grads, layers, input, labels, results, totals } = made;

    const slot = (buffer: GPUBuffer, name: string): GPUBufferBinding => {
      const at = slots.get(name)!;
      return { buffer, offset: at.offset * 4, size: at.length * 4 };
    };
    const tensor = (name: string): GPUBufferBinding => (slots.has(name) ? slot(params, name) : { buffer: made.fixed.get(name)! });
    const whole = (buffer: GPUBuffer): GPUBufferBinding => ({ buffer });

    const gather = (name: string, set: { images: GPUBuffer; labels: GPUBuffer; order: GPUBuffer }, affine: GPUBuffer | null): PendingStep => ({
      label: `${name}.gather`,
      kernel: gatherBatch({ ...preprocessing, augment: affine !== null }),
      bindings: [set.images, set.labels, set.order, input, labels, ...(affine ? [affine] : [])].map(whole),
    });
    const forward: PendingStep[] = layers.map(({ layer, output }, l) => forwardStep(layer, l === 0 ? input : layers[l - 1]!.output, output, tensor, target));
    const negate = spec.output === 'distances';
    const loss: PendingStep = {
      label: 'loss.cross-entropy',
      kernel: crossEntropy({ classes: kClasses, negate }),
      bindings: [layers[layers.length - 1]!.output, labels, layers[layers.length - 1]!.outputGrad, results].map(whole),
    };
    const totalsStep = (buffer: GPUBuffer): PendingStep => ({ label: 'loss.totals', kernel: lossTotals(), bindings: [results, buffer].map(whole) });
    const backward: PendingStep[] = [];
    for (let l = layers.length - 1; l >= 0; l--) {
      const { layer, output, outputGrad, preGrad } = layers[l]!;
      const layerInput = l === 0 ? input : layers[l - 1]!.output;
      const inputGradTarget = l > 0 ? layers[l - 1]!.outputGrad : made.inputGrad;
      backward.push(...backwardSteps(layer, layerInput, output, outputGrad, preGrad, inputGradTarget, { tensor, grad: (name) => slot(grads, name), target, maxBatch, scratch: (label, count) => floats(label, count) }));
    }
    const optimizerStep: PendingStep =
      options.optimizer.kind === 'adam'
        ? { label: 'optimizer.adam', kernel: adam({ parameters: initial.length, ...options.optimizer }), bindings: [params, grads, ...made.state].map(whole) }
        : { label: 'optimizer.sgd', kernel: sgd({ parameters: initial.length, momentum: options.optimizer.momentum, weightDecay: options.optimizer.weightDecay }), bindings: [params, grads, ...made.state].map(whole) };

    const ready = (step: PendingStep) => makeStep(device, step, made.stepUniform);
    const trainSteps = await Promise.all([gather('train', made.train, made.affine), ...forward, loss, totalsStep(totals.train), ...backward, optimizerStep].map(ready));
    const testSteps = made.test ? await Promise.all([gather('test', made.test, null), ...forward, loss, totalsStep(totals.test)].map(ready)) : null;

    const submit = (records: readonly StepValues[], steps: readonly ReadyStep[]): void => {
      if (records.length > maxStepsPerSubmit) throw new InputError(`at most ${maxStepsPerSubmit} steps per submission, found ${records.length}`);
      const bytes = new ArrayBuffer(records.length * kStepUniformBytes);
      records.forEach((record, k) => {
        if (!Number.isInteger(record.count) || record.count < 1 || record.count > maxBatch) {
          throw new InputError(`a step's batch must hold 1 … ${maxBatch} images, found ${record.count}`);
        }
        writeStep(bytes, k * kStepUniformBytes, record);
      });
      device.queue.writeBuffer(made.records, 0, bytes);
      const encoder = device.createCommandEncoder({ label: 'train.encoder' });
      records.forEach((record, k) => {
        encoder.copyBufferToBuffer(made.records, k * kStepUniformBytes, made.stepUniform, 0, kStepUniformBytes);
        const pass = encoder.beginComputePass({ label: 'train.step' });
        for (const step of steps) {
          pass.setPipeline(step.pipeline);
          pass.setBindGroup(0, step.bindGroup);
          pass.dispatchWorkgroups(...step.kernel.workgroups(record.count));
        }
        pass.end();
      });
      device.queue.submit([encoder.finish()]);
    };

    const read = async (buffer: GPUBuffer, byteOffset: number, bytes: number): Promise<Float32Array> => {
      const staging = device.createBuffer({ label: 'train.readback', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      try {
        const encoder = device.createCommandEncoder();
        encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, bytes);
        device.queue.submit([encoder.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        return new Float32Array(staging.getMappedRange().slice(0));
      } finally {
        staging.destroy();
      }
    };
    const readTotals = async (buffer: GPUBuffer): Promise<LossTotals> => {
      const [lossSum, correct, images] = await read(buffer, 0, 12);
      const encoder = device.createCommandEncoder();
      encoder.clearBuffer(buffer);
      device.queue.submit([encoder.finish()]);
      return { lossSum: lossSum!, correct: correct!, images: images! };
    };
    const readSlots = async (buffer: GPUBuffer): Promise<Map<string, Float32Array>> => {
      const all = await read(buffer, 0, initial.byteLength);
      return new Map([...slots].map(([name, at]) => [name, all.slice(at.offset, at.offset + at.length)]));
    };

    return {
      spec,
      maxBatch,
      maxStepsPerSubmit,
      slots,
      setOrder(order) {
        if (order.length !== trainSet.count) throw new InputError(`an order must list all ${trainSet.count} training images, found ${order.length}`);
        device.queue.writeBuffer(made.train.order, 0, order);
      },
      setAffine(affine) {
        if (!made.affine) throw new InputError('this training plan was built without augment');
        if (affine.length !== trainSet.count * kAffineValues) {
          throw new InputError(`expected ${trainSet.count * kAffineValues} distortion values (${kAffineValues} per training image), found ${affine.length}`);
        }
        device.queue.writeBuffer(made.affine, 0, affine);
      },
      train(records) {
        for (const record of records) {
          if (record.first + record.count > trainSet.count) {
            throw new InputError(`a step reads images ${record.first} … ${record.first + record.count - 1}, the training set has ${trainSet.count}`);
          }
        }
        submit(records, trainSteps);
      },
      async evaluate() {
        if (!testSteps || !testSet) throw new InputError('this training plan was built without a test set');
        await readTotals(totals.test);
        const records: StepValues[] = [];
        for (let first = 0; first < testSet.count; first += maxBatch) {
          records.push({ count: Math.min(maxBatch, testSet.count - first), first, learningRate: 0, correction1: 1, correction2Sqrt: 1 });
        }
        for (let k = 0; k < records.length; k += maxStepsPerSubmit) submit(records.slice(k, k + maxStepsPerSubmit), testSteps);
        return readTotals(totals.test);
      },
      readTrainingTotals: () => readTotals(totals.train),
      readParameters: () => readSlots(params),
      readGradients: () => readSlots(grads),
      copyParameters(targets) {
        const encoder = device.createCommandEncoder({ label: 'train.parameters.copy' });
        for (const [name, at] of slots) {
          const target = targets.get(name);
          if (!target) throw new InputError(`copyParameters: no target buffer for trainable tensor '${name}'`);
          encoder.copyBufferToBuffer(params, at.offset * 4, target, 0, at.length * 4);
        }
        device.queue.submit([encoder.finish()]);
      },
      async readInputGradient(count) {
        if (!made.inputGrad) throw new InputError('this training plan was built without inputGradient');
        return read(made.inputGrad, 0, count * spec.inputSize * spec.inputSize * 4);
      },
      async profileStep(record, rounds) {
        submit([record], trainSteps);
        const times = trainSteps.map((step) => ({ label: step.label, ms: [] as number[] }));
        for (let round = 0; round < rounds; round++) {
          for (const [k, step] of trainSteps.entries()) {
            const start = performance.now();
            submit([record], [step]);
            await device.queue.onSubmittedWorkDone();
            times[k]!.ms.push(performance.now() - start);
          }
        }
        return times;
      },
      destroy: () => buffers.destroy(),
    };
  });
}

/** A pending dispatch with its pipeline (from the cache) and bind group (the step uniform at binding 0). */
export async function makeStep(device: GPUDevice, step: PendingStep, stepUniform: GPUBuffer): Promise<ReadyStep> {
  const pipeline = await cachedPipeline(device, step.label, step.kernel);
  const bindGroup = await scoped(device, `${step.label}.bindgroup`, () =>
    device.createBindGroup({
      label: `${step.label}.bindgroup`,
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ buffer: stepUniform }, ...step.bindings].map((resource, binding) => ({ binding, resource })),
    }),
  );
  return { label: step.label, pipeline, bindGroup, kernel: step.kernel };
}
