import { foldBatchNorms } from './fold.js';
import type { ModelWeights } from './model-weights.js';
import { Prng } from './prng.js';
import { kRbfBitmapsSource, rbfCentres } from './rbf-bitmaps.js';
import type { Activation, LayerSpec, ModelSpec, Preprocessing } from './spec.js';

export interface RandomWeightsOptions {
  /** Defaults to the spec's default preprocessing. */
  readonly preprocessing?: Preprocessing;
}

/**
 * Seeded random weights with PyTorch's default initialisation: every conv and dense weight
 * and bias ~ U(−1/√fanIn, 1/√fanIn) (what `kaiming_uniform_(a=√5)` and the bias rule of
 * `nn.Conv2d`/`nn.Linear` come to). A tabled conv kernel's fan-in is its own table size × 25.
 * The paper's trainable subsampling starts near average pooling (coefficient ~ U(1/8, 3/8))
 * with bias ~ U(−1/2, 1/2) (fan-in 4). RBF centres are the 7×12 bitmaps mapped into the
 * range of the activation feeding them: sigmoid → {0, 1}, otherwise {−1, +1}.
 *
 * Tensors are drawn in `spec.tensors` order from one Prng, so a seed fixes every value.
 *
 * @example
 * const weights = randomWeights(classicModel('sigmoid'), 1);
 * const engine = await createEngine(weights);
 */
export function randomWeights(spec: ModelSpec, seed: number, options: RandomWeightsOptions = {}): ModelWeights {
  const rng = new Prng(seed);
  const initOf = initialisers(spec.layers);
  // A batch norm starts as PyTorch's does: weight 1, bias 0, running mean 0, running variance 1.
  for (const bn of spec.batchNorms ?? []) {
    for (const [name, value] of [[bn.weight, 1], [bn.bias, 0], [bn.runningMean, 0], [bn.runningVar, 1]] as const) {
      initOf.set(name, (_rng, size) => new Float32Array(size).fill(value));
    }
  }
  const tensors = new Map<string, Float32Array>();
  const metadata: Record<string, string> = { 'lenet5.init': `randomWeights seed ${seed} (PyTorch default uniform)` };
  for (const tensor of spec.tensors) {
    const init = initOf.get(tensor.name);
    if (!init) throw new Error(`randomWeights: no layer of '${spec.id}' owns tensor '${tensor.name}'`);
    const size = tensor.shape.reduce((a, b) => a * b, 1);
    const data = init(rng, size);
    if (data.length !== size) throw new Error(`randomWeights: '${tensor.name}' made ${data.length} values, needs ${size}`);
    tensors.set(tensor.name, data);
  }
  if (spec.layers.some((l) => l.kind === 'rbf')) metadata['lenet5.rbf.centres'] = kRbfBitmapsSource;
  const folded = foldBatchNorms(spec, tensors);
  return { spec: folded.spec, preprocessing: options.preprocessing ?? spec.defaultPreprocessing, tensors: folded.tensors, metadata };
}

type Init = (rng: Prng, size: number) => Float32Array;

const uniform = (bound: (index: number) => number, centre = 0): Init => (rng, size) =>
  Float32Array.from({ length: size }, (_, i) => rng.uniform(centre - bound(i), centre + bound(i)));

/** For every tensor name, how to draw its values. */
function initialisers(layers: readonly LayerSpec[]): Map<string, Init> {
  const inits = new Map<string, Init>();
  let previousActivation: Activation = 'none';
  for (const layer of layers) {
    switch (layer.kind) {
      case 'conv5x5': {
        const table = layer.connectionTable;
        const fanInOfMap = (o: number) => (table ? table[o]!.length : layer.inChannels) * 25;
        // Weight element i belongs to the kernel i / 25; map each kernel back to its output map.
        const mapOfKernel = table
          ? table.flatMap((inputs, o) => inputs.map(() => o))
          : Array.from({ length: layer.outChannels * layer.inChannels }, (_, k) => Math.floor(k / layer.inChannels));
        inits.set(layer.weight, uniform((i) => 1 / Math.sqrt(fanInOfMap(mapOfKernel[Math.floor(i / 25)]!))));
        inits.set(layer.bias, uniform((o) => 1 / Math.sqrt(fanInOfMap(o))));
        break;
      }
      case 'subsample2x2':
        if (layer.trainable) {
          inits.set(layer.trainable.coefficient, uniform(() => 1 / 8, 1 / 4));
          inits.set(layer.trainable.bias, uniform(() => 1 / 2));
        }
        break;
      case 'dense': {
        const bound = 1 / Math.sqrt(layer.inFeatures);
        inits.set(layer.weight, uniform(() => bound));
        inits.set(layer.bias, uniform(() => bound));
        break;
      }
      case 'scale-shift':
        inits.set(layer.scale, (_rng, size) => new Float32Array(size).fill(1));
        inits.set(layer.shift, (_rng, size) => new Float32Array(size));
        break;
      case 'rbf': {
        const [low, high] = previousActivation === 'sigmoid' ? [0, 1] : [-1, 1];
        inits.set(layer.centres, () => rbfCentres(low, high));
        break;
      }
    }
    previousActivation = 'activation' in layer ? layer.activation : 'none';
  }
  return inits;
}
