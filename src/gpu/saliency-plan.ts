/**
 * Saliency: "what the network looks at". The gradient of one class's score with respect to the
 * input image, computed on the GPU by the training plan's own kernels (training-steps.ts): the
 * forward kernels of the inference plans with every layer's output kept, then the backward
 * chain down to the input, seeded with a one-hot on the chosen class. No loss, no parameter
 * gradients, no optimizer step.
 *
 * The score of class c is the logit (the output before any softmax: a trailing softmax or
 * log-softmax layer is left out, so the gradient is the logit's), or, for an RBF output whose
 * class is the nearest centre, the negated distance −y_c (larger is better, as for logits).
 * "Why not class v?" is the gradient of score_v − score_c: the softmax depends on the scores'
 * differences only, so this is what moves the decision from c towards v; a single score's
 * gradient also carries what raises every class at once.
 *
 * The gradient is taken with respect to the raw image's intensities p ∈ [0, 1] (model.input:
 * 28×28 for MNIST models), through the model's preprocessing x = background + (ink − background)·p:
 * the plan computes d/dx at the padded input and crops and scales it, per channel.
 *
 * Buffers, allocated once for `maxBatch` images: the preprocessed input and its gradient, per
 * layer its output and the gradients at its output and pre-activation, the weights (read-only).
 */
import { kStepUniformBytes, writeStep } from '../../shaders/elementwise.js';
import { InputError, ModelMismatchError } from '../errors.js';
import type { ModelWeights } from '../model/model-weights.js';
import { channelPreprocessing, kClasses, layerActivation, layerInputSize, layerOutputSize, type LayerSpec, type ModelSpec } from '../model/spec.js';
import { modelInput, preprocess, type ModelInput, type Pixels } from '../model/preprocess.js';
import { kernelTargetOf } from './device.js';
import { checkMaxBatch, destroyOnError, PlanBuffers, scoped } from './plan-resources.js';
import { makeStep } from './training-plan.js';
import { backwardSteps, forwardStep, type PendingStep } from './training-steps.js';

/** Which score's gradient: class `class`'s, or, with `versus`, that of score_versus − score_class. */
export interface SaliencyTarget {
  readonly class: number;
  readonly versus?: number;
}

/** One image's saliency. */
export interface Saliency {
  /** d score / d p for every raw pixel, planar [channels, size, size] as `input` says. */
  readonly gradient: Float32Array;
  /** The 10 scores whose gradients these are: logits, or negated RBF distances. */
  readonly scores: Float32Array;
  readonly target: SaliencyTarget;
}

export interface SaliencyOptions {
  readonly device: GPUDevice;
  /** Most images one `inputGradients` call runs at once (larger calls are split). Default 8. */
  readonly maxBatch?: number;
}

export interface SaliencyPlan {
  readonly spec: ModelSpec;
  /** The raw image the gradients are over (as `engine.model.input`). */
  readonly input: ModelInput;
  /** What a score is: 'logits', or 'negated distances' for an RBF output. */
  readonly score: 'logits' | 'negated distances';
  /**
   * The saliency of `targets.length` images (planar pixels of `input`, bytes 0..255 or floats in
   * [0, 1], as `infer` takes them), one target each.
   */
  inputGradients(pixels: Pixels, targets: readonly SaliencyTarget[]): Promise<Saliency[]>;
  destroy(): void;
}

/** The layers whose output is the score vector: a trailing softmax is left out; the rest must have backward kernels. */
function scoreLayers(spec: ModelSpec): LayerSpec[] {
  const layers = spec.layers.filter((layer, index) => !(layer.kind === 'softmax' && index === spec.layers.length - 1));
  for (const layer of layers) {
    if (layer.kind === 'softmax') throw new ModelMismatchError(`saliency: the softmax layer '${layer.name}' is not the last layer; its gradient is not supported there`);
    if (layer.kind === 'scale-shift') {
      throw new ModelMismatchError(`saliency: layer '${layer.name}' (a batch norm that does not fold into a conv or dense layer) has no backward kernel yet`);
    }
    if (layer.kind === 'rbf' && layer !== layers[layers.length - 1]) throw new ModelMismatchError(`saliency: the RBF layer '${layer.name}' must be the last layer`);
  }
  const last = layers[layers.length - 1];
  if (!last || layerOutputSize(last) !== kClasses) throw new ModelMismatchError(`saliency needs ${kClasses} scores, found ${last ? layerOutputSize(last) : 0}`);
  return layers;
}

function checkTargets(targets: readonly SaliencyTarget[]): void {
  if (!Array.isArray(targets) || targets.length < 1) throw new InputError(`targets: expected a list of one { class, versus? } per image, found ${targets?.length ?? String(targets)}`);
  targets.forEach((target, n) => {
    const isClass = (c: unknown) => Number.isInteger(c) && (c as number) >= 0 && (c as number) < kClasses;
    if (!isClass(target?.class)) throw new InputError(`targets[${n}].class: expected a class 0 … ${kClasses - 1}, found ${String(target?.class)}`);
    if (target.versus !== undefined && (!isClass(target.versus) || target.versus === target.class)) {
      throw new InputError(`targets[${n}].versus: expected a class 0 … ${kClasses - 1} other than ${target.class}, found ${String(target.versus)}`);
    }
  });
}

/**
 * A saliency plan for `weights` on `options.device`: the gradient of a class's score with
 * respect to each input pixel, from the GPU backward kernels.
 *
 * @example
 * const saliency = await createSaliency(weights, { device });
 * const [s] = await saliency.inputGradients(pixels, [{ class: 4, versus: 9 }]); // why a 4 and not a 9?
 * s.gradient; // 784 values: d(score₉ − score₄)/d pixel
 * saliency.destroy();
 */
export async function createSaliency(weights: ModelWeights, options: SaliencyOptions): Promise<SaliencyPlan> {
  const device = options?.device as GPUDevice | undefined;
  if (!device || typeof device.createBuffer !== 'function') throw new InputError(`options.device: expected a GPUDevice, found ${device === undefined ? 'nothing' : typeof device}`);
  const { spec, preprocessing } = weights;
  for (const t of spec.tensors) {
    const data = weights.tensors.get(t.name);
    const length = t.shape.reduce((a, b) => a * b, 1);
    if (!data) throw new ModelMismatchError(`model '${spec.id}' needs a tensor that is missing`, t.name);
    if (data.length !== length) throw new ModelMismatchError(`tensor holds ${data.length} values, the model needs ${length}`, t.name);
  }
  const layers = scoreLayers(spec);
  const maxBatch = options.maxBatch ?? 8;
  const target = kernelTargetOf(device);
  checkMaxBatch(device, maxBatch, Math.max(...layers.map((l) => Math.max(layerInputSize(l), layerOutputSize(l)))) * 4);
  const input = modelInput(spec, preprocessing);
  const negate = layers[layers.length - 1]!.kind === 'rbf';
  const side = spec.inputSize;
  const perImage = spec.inputChannels * side * side;

  const buffers = new PlanBuffers(device);
  const storage = GPUBufferUsage.STORAGE;
  const floats = (label: string, count: number, usage: GPUBufferUsageFlags = storage) => buffers.create(label, count * 4, usage);
  return destroyOnError(buffers, async () => {
    const made = await scoped(device, 'saliency plan buffers', () => {
      const uniform = buffers.create('saliency.step.uniform', kStepUniformBytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      const tensors = new Map(spec.tensors.map((t) => [t.name, buffers.upload(`saliency.${t.name}`, weights.tensors.get(t.name)!)]));
      const inputBuffer = floats('saliency.input', maxBatch * perImage, storage | GPUBufferUsage.COPY_DST);
      const inputGrad = floats('saliency.input.gradient', maxBatch * perImage, storage | GPUBufferUsage.COPY_SRC);
      const kept = layers.map((layer, l) => {
        const values = maxBatch * layerOutputSize(layer);
        const last = l === layers.length - 1;
        const output = floats(`${layer.name}.output`, values, last ? storage | GPUBufferUsage.COPY_SRC : storage);
        const outputGrad = floats(`${layer.name}.output.gradient`, values, last ? storage | GPUBufferUsage.COPY_DST : storage);
        const preGrad = layerActivation(layer) === 'none' ? outputGrad : floats(`${layer.name}.preactivation.gradient`, values);
        return { layer, output, outputGrad, preGrad };
      });
      return { uniform, tensors, inputBuffer, inputGrad, kept };
    });
    const { kept } = made;
    const tensor = (name: string): GPUBufferBinding => ({ buffer: made.tensors.get(name)! });
    const pending: PendingStep[] = kept.map(({ layer, output }, l) => forwardStep(layer, l === 0 ? made.inputBuffer : kept[l - 1]!.output, output, tensor, target));
    for (let l = kept.length - 1; l >= 0; l--) {
      const { layer, output, outputGrad, preGrad } = kept[l]!;
      const layerInput = l === 0 ? made.inputBuffer : kept[l - 1]!.output;
      pending.push(...backwardSteps(layer, layerInput, output, outputGrad, preGrad, l > 0 ? kept[l - 1]!.outputGrad : made.inputGrad, { tensor, grad: null, target, maxBatch, scratch: (label, count) => floats(label, count) }));
    }
    const steps = await Promise.all(pending.map((step) => makeStep(device, step, made.uniform)));
    const scoresBuffer = kept[kept.length - 1]!.output;
    const seedBuffer = kept[kept.length - 1]!.outputGrad;

    /** One run of ≤ maxBatch images: forward, seed, backward, read the input gradient and the scores. */
    const run = async (x: Float32Array<ArrayBuffer>, targets: readonly SaliencyTarget[]): Promise<Saliency[]> => {
      const count = targets.length;
      const uniform = new ArrayBuffer(kStepUniformBytes);
      writeStep(uniform, 0, { count, first: 0, learningRate: 0, correction1: 1, correction2Sqrt: 1 });
      device.queue.writeBuffer(made.uniform, 0, uniform);
      device.queue.writeBuffer(made.inputBuffer, 0, x);
      // The output gradient is d(score)/d(output): +1 on the class (−1 where the output is a distance), −1 on it and +1 on `versus` for a difference.
      const seed = new Float32Array(count * kClasses);
      const sign = negate ? -1 : 1;
      targets.forEach((t, n) => {
        if (t.versus === undefined) seed[n * kClasses + t.class] = sign;
        else {
          seed[n * kClasses + t.versus] = sign;
          seed[n * kClasses + t.class] = -sign;
        }
      });
      device.queue.writeBuffer(seedBuffer, 0, seed);
      const gradBytes = count * perImage * 4;
      const scoreBytes = count * kClasses * 4;
      const staging = device.createBuffer({ label: 'saliency.readback', size: gradBytes + scoreBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      try {
        const encoder = device.createCommandEncoder({ label: 'saliency.encoder' });
        // Forward, then backward from the seed (written before this submission), in one pass.
        const pass = encoder.beginComputePass({ label: 'saliency.pass' });
        for (const step of steps) {
          pass.setPipeline(step.pipeline);
          pass.setBindGroup(0, step.bindGroup);
          pass.dispatchWorkgroups(...step.kernel.workgroups(count));
        }
        pass.end();
        encoder.copyBufferToBuffer(made.inputGrad, 0, staging, 0, gradBytes);
        encoder.copyBufferToBuffer(scoresBuffer, 0, staging, gradBytes, scoreBytes);
        device.queue.submit([encoder.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        const all = new Float32Array(staging.getMappedRange().slice(0));
        return targets.map((target, n) => ({
          gradient: rawGradient(all.subarray(n * perImage, (n + 1) * perImage)),
          scores: Float32Array.from(all.subarray(count * perImage + n * kClasses, count * perImage + (n + 1) * kClasses), (v) => (negate ? -v : v)),
          target,
        }));
      } finally {
        staging.destroy();
      }
    };

    /** d/dx over the padded, normalised input → d/dp over the raw image: crop the padding, times (ink − background) per channel. */
    const rawGradient = (padded: Float32Array): Float32Array => {
      const { channels, size } = input;
      const pad = preprocessing.pad;
      const out = new Float32Array(channels * size * size);
      for (let c = 0; c < channels; c++) {
        const { background, ink } = channelPreprocessing(preprocessing, c);
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) out[(c * size + y) * size + x] = (ink - background) * padded[(c * side + y + pad) * side + x + pad]!;
        }
      }
      return out;
    };

    let destroyed = false;
    let queue: Promise<unknown> = Promise.resolve();
    return {
      spec,
      input,
      score: negate ? 'negated distances' : 'logits',
      inputGradients(pixels, targets) {
        if (destroyed) return Promise.reject(new InputError('this saliency plan was destroyed'));
        try {
          checkTargets(targets);
        } catch (e) {
          return Promise.reject(e);
        }
        const count = targets.length;
        // Runs share the plan's buffers: one at a time.
        const next = queue.then(async () => {
          const x = new Float32Array(count * perImage);
          preprocess(pixels, count, preprocessing, x, input);
          const results: Saliency[] = [];
          for (let first = 0; first < count; first += maxBatch) {
            const n = Math.min(maxBatch, count - first);
            results.push(...(await run(x.subarray(first * perImage, (first + n) * perImage), targets.slice(first, first + n))));
          }
          return results;
        });
        queue = next.catch(() => undefined);
        return next;
      },
      destroy() {
        destroyed = true;
        void queue.finally(() => buffers.destroy());
      },
    };
  });
}
