/**
 * Weights file → validated ModelWeights, and back. The first step of the engine's data flow:
 * nothing reaches the GPU before this has checked every tensor against the model's spec.
 */
import { ModelMismatchError, WeightsFileError } from '../errors.js';
import { classicModel, type ClassicActivation } from '../model/classic.js';
import type { ModelWeights } from '../model/model-weights.js';
import { seedModel } from '../model/seed.js';
import { kImageSize, type ModelSpec, type Preprocessing } from '../model/spec.js';
import { parseSafetensors, writeSafetensors, type SafetensorsFile, type TensorToWrite } from './safetensors.js';

/** The `__metadata__` keys this engine reads and writes (docs/weights-format.md). */
export const kMetadataKeys = {
  model: 'lenet5.model',
  activation: 'lenet5.activation',
  pad: 'lenet5.input.pad',
  background: 'lenet5.input.background',
  ink: 'lenet5.input.ink',
  rbfCentres: 'lenet5.rbf.centres',
} as const;

/**
 * Parses a safetensors file and validates it against the model it holds: which model comes
 * from `__metadata__['lenet5.model']`, or, for a file without it (PyTorch's `save_file`
 * writes none), from the tensor names. Throws WeightsFileError (bad file or metadata) or
 * ModelMismatchError (a missing, unknown or misshapen tensor).
 *
 * @example
 * const weights = loadWeights(readFileSync('weights/seed.safetensors'));
 * weights.spec.id; // 'seed'
 */
export function loadWeights(bytes: Uint8Array): ModelWeights {
  return modelWeightsFrom(parseSafetensors(bytes));
}

/**
 * The validation half of `loadWeights`, for an already parsed file.
 *
 * @example
 * const file = parseSafetensors(bytes);
 * const weights = modelWeightsFrom(file); // throws ModelMismatchError on a wrong tensor
 */
export function modelWeightsFrom(file: SafetensorsFile): ModelWeights {
  const spec = identifyModel(file);
  checkTensors(spec, file);
  const tensors = new Map(spec.tensors.map((t) => [t.name, file.tensors.get(t.name)!.data] as const));
  return { spec, preprocessing: readPreprocessing(spec, file.metadata), tensors, metadata: file.metadata };
}

/**
 * The model a file holds: from its metadata, else from its tensor names.
 *
 * @example
 * identifyModel(parseSafetensors(pytorchStateDictBytes)).id; // 'seed'
 */
export function identifyModel(file: SafetensorsFile): ModelSpec {
  const { metadata } = file;
  const declared = metadata[kMetadataKeys.model];
  const activation = metadata[kMetadataKeys.activation];
  const id = declared ?? guessModelId(file);
  if (id === 'seed') {
    if (activation !== undefined && activation !== 'sigmoid') {
      throw metadataError(kMetadataKeys.activation, "'sigmoid' (the seed model's only activation)", activation);
    }
    return seedModel;
  }
  if (id === 'classic') {
    if (activation !== undefined && activation !== 'sigmoid' && activation !== 'scaled-tanh') {
      throw metadataError(kMetadataKeys.activation, "'sigmoid' or 'scaled-tanh'", activation);
    }
    return classicModel((activation ?? 'sigmoid') as ClassicActivation);
  }
  throw metadataError(kMetadataKeys.model, "'classic' or 'seed'", id);
}

function guessModelId(file: SafetensorsFile): string {
  const names = [...file.tensors.keys()];
  for (const spec of [seedModel, classicModel()]) {
    if (spec.tensors.some((t) => file.tensors.has(t.name))) return spec.id;
  }
  throw new ModelMismatchError(
    `cannot tell the model: expected __metadata__['${kMetadataKeys.model}'] or a seed ('conv1.weight', …) ` +
      `or classic ('c1.weight', …) tensor, found neither: no such metadata key, and ${names.length} other tensors ` +
      `(${names.slice(0, 4).join(', ') || 'none'}${names.length > 4 ? ', …' : ''})`,
  );
}

function checkTensors(spec: ModelSpec, file: SafetensorsFile): void {
  const missing = spec.tensors.filter((t) => !file.tensors.has(t.name));
  if (missing.length > 0) {
    const all = missing.map((t) => t.name).join(', ');
    throw new ModelMismatchError(
      `model '${spec.id}' needs ${spec.tensors.length} tensors; ${missing.length} missing (${all}): ` +
        `expected shape [${missing[0]!.shape.join(', ')}], found no tensor`,
      missing[0]!.name,
    );
  }
  const known = new Set(spec.tensors.map((t) => t.name));
  const unknown = [...file.tensors.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ModelMismatchError(
      `model '${spec.id}' has no tensor of this name: expected only ${[...known].join(', ')}; ` +
        `found ${unknown.length} unknown (${unknown.slice(0, 8).join(', ')})`,
      unknown[0],
    );
  }
  for (const expected of spec.tensors) {
    const found = file.tensors.get(expected.name)!;
    if (found.shape.length !== expected.shape.length || found.shape.some((d, i) => d !== expected.shape[i])) {
      throw new ModelMismatchError(
        `wrong shape for model '${spec.id}': expected [${expected.shape.join(', ')}], found [${found.shape.join(', ')}]`,
        expected.name,
      );
    }
  }
}

/** Preprocessing from the metadata; each key defaults to the spec's. */
function readPreprocessing(spec: ModelSpec, metadata: Readonly<Record<string, string>>): Preprocessing {
  const defaults = spec.defaultPreprocessing;
  const pad = readNumber(metadata, kMetadataKeys.pad, defaults.pad);
  const expectedPad = (spec.inputSize - kImageSize) / 2;
  if (pad !== expectedPad) {
    throw metadataError(kMetadataKeys.pad, `${expectedPad} (28×28 images into a ${spec.inputSize}×${spec.inputSize} input)`, metadata[kMetadataKeys.pad]!);
  }
  const background = readNumber(metadata, kMetadataKeys.background, defaults.background);
  const ink = readNumber(metadata, kMetadataKeys.ink, defaults.ink);
  if (ink === background) {
    throw metadataError(kMetadataKeys.ink, `a value different from the background (${background})`, metadata[kMetadataKeys.ink] ?? String(ink));
  }
  return { pad, background, ink };
}

const kDecimal = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function readNumber(metadata: Readonly<Record<string, string>>, key: string, fallback: number): number {
  const text = metadata[key];
  if (text === undefined) return fallback;
  const value = kDecimal.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(value)) throw metadataError(key, 'a finite decimal number', text);
  return value;
}

function metadataError(key: string, expected: string, found: string): WeightsFileError {
  const shown = found.length > 60 ? `${found.slice(0, 57)}…` : found;
  return new WeightsFileError(`__metadata__['${key}']: expected ${expected}, found '${shown}'`);
}

/**
 * Writes weights as safetensors with the metadata `loadWeights` reads back: model,
 * activation (classic), preprocessing, plus the weights' own metadata and `extraMetadata`
 * (e.g. the trainer's `lenet5.train.*` record). Loading the result gives the same weights.
 *
 * @example
 * writeFileSync('weights/classic.safetensors', saveWeights(weights, { 'lenet5.train.epochs': '20' }));
 */
export function saveWeights(weights: ModelWeights, extraMetadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const { spec, preprocessing } = weights;
  const metadata: Record<string, string> = { ...weights.metadata, ...extraMetadata };
  metadata[kMetadataKeys.model] = spec.id;
  if (spec.id === 'classic') metadata[kMetadataKeys.activation] = classicActivation(spec);
  else delete metadata[kMetadataKeys.activation];
  metadata[kMetadataKeys.pad] = String(preprocessing.pad);
  metadata[kMetadataKeys.background] = String(preprocessing.background);
  metadata[kMetadataKeys.ink] = String(preprocessing.ink);

  const tensors = new Map<string, TensorToWrite>();
  for (const t of spec.tensors) {
    const data = weights.tensors.get(t.name);
    if (!data) throw new ModelMismatchError(`saveWeights: model '${spec.id}' needs this tensor; it is missing`, t.name);
    tensors.set(t.name, { shape: t.shape, data });
  }
  return writeSafetensors(tensors, metadata);
}

function classicActivation(spec: ModelSpec): ClassicActivation {
  const first = spec.layers[0];
  return first && 'activation' in first && first.activation !== 'none' ? first.activation : 'sigmoid';
}
