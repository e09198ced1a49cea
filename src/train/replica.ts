/**
 * What one thread does: runs a slice of a mini-batch (or of an evaluation set) through its own
 * Network, reading the shared parameters and adding gradients into its own gradient vector.
 * The main thread owns the parameters and the optimiser; replicas only read them.
 */
import { preprocess } from '../model/preprocess.js';
import { classIsSmallest, kImageSize, type ModelSpec, type OutputKind, type Preprocessing } from '../model/spec.js';
import { kAffineValues, warpImage } from './augment.js';
import { Network } from './network.js';

/** A labelled image set as raw bytes (28×28 per image). */
export interface ImageSet {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** Loss and accuracy over a slice. */
export interface SliceResult {
  lossSum: number;
  correct: number;
}

const kPixels = kImageSize * kImageSize;

/**
 * @example
 * const replica = new Replica(spec, prep, params, grads, fixed);
 * replica.gradients(train, order, 0, 32, null); // adds 32 images' gradients into grads
 */
export class Replica {
  readonly network: Network;
  private readonly input: Float32Array;
  private readonly warped = new Float32Array(kPixels);

  constructor(
    readonly spec: ModelSpec,
    readonly preprocessing: Preprocessing,
    params: Float32Array,
    readonly grads: Float32Array,
    fixed: ReadonlyMap<string, Float32Array>,
  ) {
    this.network = new Network(spec, params, grads, fixed);
    this.input = new Float32Array(spec.inputSize * spec.inputSize);
  }

  /**
   * Zeroes the gradient vector, then adds the loss gradient of images order[from..to) (each
   * distorted by its matrix in `affine` when given) and returns the summed loss and hits.
   */
  gradients(set: ImageSet, order: Int32Array, from: number, to: number, affine: Float32Array | null): SliceResult {
    this.grads.fill(0);
    const result: SliceResult = { lossSum: 0, correct: 0 };
    for (let i = from; i < to; i++) {
      const index = order[i]!;
      const scores = this.load(set, index, affine, i);
      const label = set.labels[index]!;
      if (predict(scores, this.spec.output) === label) result.correct++;
      result.lossSum += this.network.backward(label);
    }
    return result;
  }

  /** Classifies images [from, to) of a set, writing each prediction into `predictions`. */
  evaluate(set: ImageSet, from: number, to: number, predictions: Uint8Array): number {
    let correct = 0;
    for (let index = from; index < to; index++) {
      const predicted = predict(this.load(set, index, null, 0), this.spec.output);
      predictions[index] = predicted;
      if (predicted === set.labels[index]) correct++;
    }
    return correct;
  }

  /** The network's output for image `index` of a set (undistorted). */
  scores(set: ImageSet, index: number): Float32Array {
    return this.load(set, index, null, 0);
  }

  private load(set: ImageSet, index: number, affine: Float32Array | null, slot: number): Float32Array {
    const raw = set.images.subarray(index * kPixels, (index + 1) * kPixels);
    if (affine) {
      warpImage(raw, affine, slot * kAffineValues, this.warped);
      preprocess(this.warped, 1, this.preprocessing, this.input);
    } else {
      preprocess(raw, 1, this.preprocessing, this.input);
    }
    return this.network.forward(this.input);
  }
}

/** Argmax of logits, argmin of distances. */
export function predict(scores: Float32Array, output: OutputKind): number {
  const smallest = classIsSmallest(output);
  let best = 0;
  for (let k = 1; k < scores.length; k++) {
    if (smallest ? scores[k]! < scores[best]! : scores[k]! > scores[best]!) best = k;
  }
  return best;
}
