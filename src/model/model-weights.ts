import { ModelMismatchError } from '../errors.js';
import { describeArchitecture } from './architecture.js';
import { modelInput, type ModelInput } from './preprocess.js';
import { parameterCount, type ModelSpec, type OutputKind, type Preprocessing } from './spec.js';

/** Where a model came from and how its architecture was decided (for people and tools). */
export interface ModelOrigin {
  readonly format: 'safetensors' | 'pth' | 'onnx';
  /**
   * 'file': the file said (ONNX graph, safetensors metadata). 'option': the caller's
   * `architecture`. 'tensors': assumed from the tensors' names and shapes (see `note`).
   */
  readonly architectureFrom: 'file' | 'option' | 'tensors';
  /** Other presets the tensors fit, when the architecture was assumed. */
  readonly alsoFits?: readonly string[];
  /** Says what was assumed and how to choose otherwise. */
  readonly note?: string;
}

/**
 * A model with its validated parameters: what the weights loader produces and what the CPU
 * reference, the GPU planner and the trainer consume. Every tensor in `spec.tensors` is
 * present with exactly its shape, as float32, finite. Its batch norms are applied
 * (src/model/fold.ts): `spec.batchNorms` is empty.
 */
export interface ModelWeights {
  readonly spec: ModelSpec;
  readonly preprocessing: Preprocessing;
  readonly tensors: ReadonlyMap<string, Float32Array>;
  /** The file's metadata (training record, centre source, …), as read. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Absent for weights made in memory (random weights, the trainer). */
  readonly origin?: ModelOrigin;
  /** Class names the file or the caller gave; they win over `spec.labels`. */
  readonly labels?: readonly string[];
}

/** The named tensor, or a ModelMismatchError naming it. */
export function tensorOf(weights: ModelWeights, name: string): Float32Array {
  const data = weights.tensors.get(name);
  if (!data) throw new ModelMismatchError(`model '${weights.spec.id}' needs a tensor that is missing`, name);
  return data;
}

/** What an engine says about the model it runs (`engine.model`). */
export interface ModelInfo {
  /** A preset's name, or 'custom'. */
  readonly id: string;
  readonly title: string;
  /** The architecture in one line: `28×28 → conv 1→6 5×5 pad 2, sigmoid → avg pool → …`. */
  readonly summary: string;
  readonly output: OutputKind;
  /** The layers' names, first to last (what `activations()` returns, in order). */
  readonly layers: readonly string[];
  /** Trainable parameters (fixed RBF centres not counted). */
  readonly parameters: number;
  readonly preprocessing: Preprocessing;
  /**
   * The raw image `infer` takes: `channels` planar maps of size×size per image (a grey
   * MNIST-style model: { channels: 1, size: 28 }; a colour one: { channels: 3, size: 32 }).
   */
  readonly input: ModelInput;
  /** Class names, one per class, where the model or its file has them. */
  readonly labels?: readonly string[];
  /** Absent for weights made in memory. */
  readonly origin?: ModelOrigin;
}

/**
 * The description of a loaded model, for people and tools.
 *
 * @example
 * const info = modelInfo(loadWeights(bytes));
 * if (info.origin?.note) console.warn(info.origin.note); // the architecture was assumed
 */
export function modelInfo(weights: ModelWeights): ModelInfo {
  const { spec } = weights;
  const labels = weights.labels ?? spec.labels;
  return {
    id: spec.id,
    title: spec.title,
    summary: describeArchitecture(spec),
    output: spec.output,
    layers: spec.layers.map((l) => l.name),
    parameters: parameterCount(spec),
    preprocessing: weights.preprocessing,
    input: modelInput(spec, weights.preprocessing),
    ...(labels ? { labels } : {}),
    ...(weights.origin ? { origin: weights.origin } : {}),
  };
}
