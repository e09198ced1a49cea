import { checkBatchNormsApplied } from '../model/fold.js';
import { tensorOf, type ModelWeights } from '../model/model-weights.js';
import { classIsSmallest, type LayerName, type LayerSpec, type OutputKind } from '../model/spec.js';
import {
  conv5x5Reference,
  denseReference,
  rbfReference,
  scaleShiftReference,
  softmaxReference,
  subsample2x2Reference,
  type Floats,
} from './layers.js';

/** One layer's reference output for a whole batch, float64. */
export function referenceLayer(weights: ModelWeights, layer: LayerSpec, input: Floats, count: number): Float64Array {
  const t = (name: string) => tensorOf(weights, name);
  switch (layer.kind) {
    case 'conv5x5':
      return conv5x5Reference(layer, input, count, t(layer.weight), t(layer.bias));
    case 'subsample2x2':
      return layer.trainable
        ? subsample2x2Reference(layer, input, count, t(layer.trainable.coefficient), t(layer.trainable.bias))
        : subsample2x2Reference(layer, input, count);
    case 'dense':
      return denseReference(layer, input, count, t(layer.weight), t(layer.bias));
    case 'scale-shift':
      return scaleShiftReference(layer, input, count, t(layer.scale), t(layer.shift));
    case 'rbf':
      return rbfReference(layer, input, count, t(layer.centres));
    case 'softmax':
      return softmaxReference(layer, input, count);
  }
}

/**
 * Runs a whole model on preprocessed input ([count, inputSize, inputSize]) and returns every
 * layer's activations, first to last, in float64.
 *
 * @example
 * const acts = referenceForward(weights, preprocess(pixels, 1, weights.preprocessing), 1);
 * acts.get(weights.spec.layers.at(-1)!.name); // 10 scores
 */
export function referenceForward(weights: ModelWeights, input: Floats, count: number): Map<LayerName, Float64Array> {
  checkBatchNormsApplied(weights.spec);
  const activations = new Map<LayerName, Float64Array>();
  let current: Floats = input;
  for (const layer of weights.spec.layers) {
    current = referenceLayer(weights, layer, current, count);
    activations.set(layer.name, current);
  }
  return activations;
}

/**
 * The whole model's output (its last layer's) on preprocessed input, float64.
 *
 * @example
 * const scores = referenceOutput(weights, preprocess(pixels, 3, weights.preprocessing), 3); // 3 × 10
 */
export function referenceOutput(weights: ModelWeights, input: Floats, count: number): Float64Array {
  const activations = referenceForward(weights, input, count);
  return activations.get(weights.spec.layers[weights.spec.layers.length - 1]!.name)!;
}

/**
 * Index of the winning class in each row of scores: argmin for RBF distances, argmax for
 * logits and (log-)probabilities.
 */
export function classify(scores: Floats, count: number, output: OutputKind): Uint8Array {
  const smallest = classIsSmallest(output);
  const classes = new Uint8Array(count);
  const classCount = scores.length / count;
  for (let n = 0; n < count; n++) {
    let best = 0;
    for (let k = 1; k < classCount; k++) {
      const s = scores[n * classCount + k]!;
      const b = scores[n * classCount + best]!;
      if (smallest ? s < b : s > b) best = k;
    }
    classes[n] = best;
  }
  return classes;
}
