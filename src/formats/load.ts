/**
 * Weights file → validated ModelWeights, and back. The first step of the engine's data flow:
 * the format is sniffed from the bytes (never the name), its reader (one per format, in this
 * folder) returns float32 tensors, the architecture is decided — the file's own (ONNX graph,
 * safetensors metadata), else the caller's `architecture` option, else the preset the
 * tensors' names and shapes fit (said in `origin.note`) — and every tensor is checked against
 * it before anything reaches the GPU.
 */
import { InputError, ModelMismatchError, WeightsFileError } from '../errors.js';
import { architectureJsonOf, buildArchitecture, denseShapeFits, describeArchitecture, parseArchitecture, type ArchitectureJson } from '../model/architecture.js';
import type { ModelOrigin, ModelWeights } from '../model/model-weights.js';
import { classicModel, kPresetNames, presetModel, seedModel, type ClassicActivation } from '../model/presets.js';
import { kImageSize, layerOutputShape, type ModelSpec, type Preprocessing } from '../model/spec.js';
import { writeSafetensors, type TensorToWrite } from '../weights/safetensors.js';
import { looksLikeOnnx, readOnnx } from './onnx.js';
import { looksLikePth, readPth } from './pth.js';
import { kArchitectureKey, looksLikeSafetensors, readSafetensors } from './safetensors.js';
import type { RawTensor, WeightsFileContents } from './types.js';

/** The `__metadata__` keys this engine reads and writes (docs/formats.md). */
export const kMetadataKeys = {
  architecture: kArchitectureKey,
  model: 'lenet5.model',
  activation: 'lenet5.activation',
  pad: 'lenet5.input.pad',
  background: 'lenet5.input.background',
  ink: 'lenet5.input.ink',
  rbfCentres: 'lenet5.rbf.centres',
} as const;

/**
 * How 28×28 images become the model's input, when the file does not say or says wrong:
 * `{ pad, background, ink }` (x = background + (ink − background)·p), or a PyTorch-style
 * `Normalize(mean, std)` applied to p in [0, 1].
 */
export type PreprocessingOption = Partial<Preprocessing> | { readonly mean: number; readonly std: number };

export interface LoadOptions {
  /**
   * The network, for files that do not say (a PyTorch state_dict): a preset name
   * (`kPresetNames`: 'seed', 'pytorch-tutorial', 'classic', …), a JSON description, or its
   * text. Given for a file that does say, it must describe the same network.
   */
  readonly architecture?: string | ArchitectureJson;
  /** Overrides the preprocessing the file or the architecture declares. */
  readonly preprocessing?: PreprocessingOption;
}

/**
 * Reads and validates a weights file of any supported format: safetensors, PyTorch
 * `.pth`/`.pt` (`torch.save(model.state_dict(), path)`) or ONNX. Throws WeightsFileError (a
 * bad file), ModelMismatchError (tensors that do not fit the architecture, or fit none) or
 * InputError (a bad option).
 *
 * @example
 * const weights = loadWeights(readFileSync('lenet.pth'), { architecture: 'pytorch-tutorial' });
 * weights.spec.inputSize; // 32
 */
export function loadWeights(bytes: Uint8Array, options: LoadOptions = {}): ModelWeights {
  return modelWeightsFrom(readWeightsFile(bytes), options);
}

/**
 * The contents of a weights file, read by the reader its first bytes call for.
 *
 * @example
 * readWeightsFile(onnxBytes).format; // 'onnx'
 */
export function readWeightsFile(bytes: Uint8Array): WeightsFileContents {
  if (!(bytes instanceof Uint8Array)) throw new InputError(`weights must be bytes (a Uint8Array), found ${typeof bytes}`);
  if (looksLikeSafetensors(bytes)) return readSafetensors(bytes);
  if (looksLikePth(bytes)) return readPth(bytes);
  if (looksLikeOnnx(bytes)) return readOnnx(bytes);
  throw new WeightsFileError(`not a weights file: expected safetensors, a PyTorch .pth/.pt (zip) or ONNX, found ${describeStart(bytes)}`, { byteOffset: 0 });
}

/**
 * The validation half of `loadWeights`, for contents already read.
 *
 * @example
 * const weights = modelWeightsFrom(readWeightsFile(bytes), { architecture: 'seed' });
 */
export function modelWeightsFrom(contents: WeightsFileContents, options: LoadOptions = {}): ModelWeights {
  const { spec, origin } = decideArchitecture(contents, options);
  const tensors = checkTensors(spec, contents.tensors);
  const preprocessing = decidePreprocessing(spec, contents.metadata, options.preprocessing);
  return { spec, preprocessing, tensors, metadata: contents.metadata, origin };
}

/** Which network the file holds, and how that was decided. */
function decideArchitecture(contents: WeightsFileContents, options: LoadOptions): { spec: ModelSpec; origin: ModelOrigin } {
  const { format, metadata } = contents;
  const asked = options.architecture === undefined ? undefined : architectureOption(options.architecture);
  const declared = declaredArchitecture(contents);
  if (declared) {
    if (asked && !sameNetwork(asked, declared)) {
      throw new ModelMismatchError(
        `the file declares its network (${format === 'onnx' ? 'ONNX graph' : `__metadata__['${kArchitectureKey}']`}: ${summary(declared)}); ` +
          `the architecture option describes another (${summary(asked)})`,
      );
    }
    return { spec: declared, origin: { format, architectureFrom: 'file' } };
  }
  if (asked) return { spec: asked, origin: { format, architectureFrom: 'option' } };
  const legacy = legacyModel(metadata);
  if (legacy) return { spec: legacy, origin: { format, architectureFrom: 'file' } };
  const fits = kPresetNames.filter((name) => !tensorProblem(presetModel(name)!, contents.tensors));
  const chosen = fits[0];
  if (!chosen) throw noPresetFits(contents.tensors);
  const others = fits.slice(1);
  const note =
    `the file does not say which network it holds; its tensors fit the '${chosen}' preset, assumed` +
    (others.length > 0 ? ` (they fit ${others.map((n) => `'${n}'`).join(', ')} as well)` : '') +
    `. If that is not the network, pass its architecture (a preset name or a JSON description; --arch in eval).`;
  // A classic file may say its activation (lenet5.activation) without naming its model.
  const spec = chosen === 'classic' ? legacyModel({ ...metadata, [kMetadataKeys.model]: 'classic' })! : presetModel(chosen)!;
  return { spec, origin: { format, architectureFrom: 'tensors', alsoFits: others, note } };
}

/**
 * The architecture a file declares: its graph (ONNX) or metadata description. A preset name
 * beside a description (`lenet5.model`, and `lenet5.activation` for the classic model) must
 * name the same network: a file that contradicts itself is refused, not half believed.
 */
function declaredArchitecture(contents: WeightsFileContents): ModelSpec | undefined {
  if (!contents.architecture) return undefined;
  let built: ModelSpec;
  try {
    built = buildArchitecture(contents.architecture);
  } catch (e) {
    if (e instanceof ModelMismatchError && contents.format === 'safetensors') {
      throw new WeightsFileError(`__metadata__['${kArchitectureKey}']: ${e.message}`);
    }
    throw e;
  }
  if (contents.format === 'onnx' && !contents.architecture.name) {
    const producer = contents.metadata['onnx.producer'];
    const opset = contents.metadata['onnx.opset'];
    built = { ...built, title: `ONNX model${producer ? ` from ${producer}` : ''}${opset ? `, opset ${opset}` : ''}` };
  }
  const named = legacyModel(contents.metadata);
  if (!named) return built;
  if (!sameNetwork(named, built)) {
    const [expected, found] = networkDifference(named, built);
    throw new ModelMismatchError(
      `__metadata__['${kMetadataKeys.model}'] names the '${named.id}' network, but __metadata__['${kArchitectureKey}'] describes another: ` +
        `expected ${expected}, found ${found}`,
    );
  }
  return { ...built, id: named.id };
}

/** The caller's architecture option as a spec: a preset name, JSON text or a description. */
/**
 * The spec an `architecture` option names: a preset's name, JSON text, or a description object.
 * Throws InputError for an unknown preset or text that is not JSON, ModelMismatchError for a
 * description the engine cannot run.
 *
 * @example
 * architectureOption('pytorch-tutorial').inputSize; // 32
 */
export function architectureOption(option: string | ArchitectureJson): ModelSpec {
  if (typeof option === 'string') {
    const text = option.trim();
    if (text.startsWith('{')) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new InputError(`architecture: expected a preset name or a JSON description, found text that is not JSON (${(e as Error).message})`);
      }
      return buildArchitecture(parseArchitecture(json));
    }
    const preset = presetModel(text);
    if (!preset) throw new InputError(`architecture: unknown preset '${text}'; presets: ${kPresetNames.join(', ')} (or pass a JSON description)`);
    return preset;
  }
  if (typeof option !== 'object' || option === null) {
    throw new InputError(`architecture: expected a preset name or a JSON description, found ${option === null ? 'null' : typeof option}`);
  }
  return buildArchitecture(parseArchitecture(option));
}

/** Files written before `lenet5.architecture` existed name their model and activation. */
function legacyModel(metadata: Readonly<Record<string, string>>): ModelSpec | undefined {
  const id = metadata[kMetadataKeys.model];
  const activation = metadata[kMetadataKeys.activation];
  if (id === undefined) return undefined;
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
  const preset = presetModel(id);
  if (preset) return preset;
  throw metadataError(kMetadataKeys.model, `a preset name (${kPresetNames.join(', ')}), or a '${kArchitectureKey}' description`, id);
}

/** Whether two specs are the same network: same layers, sizes and tensor names. */
function sameNetwork(a: ModelSpec, b: ModelSpec): boolean {
  return JSON.stringify(architectureJsonOf(a).layers) === JSON.stringify(architectureJsonOf(b).layers) && a.inputSize === b.inputSize;
}

/** How two networks differ, for an error: their one-line descriptions, else their first differing tensor names. */
function networkDifference(a: ModelSpec, b: ModelSpec): [string, string] {
  const [da, db] = [describeArchitecture(a), describeArchitecture(b)];
  if (da !== db) return [da, db];
  const i = a.tensors.findIndex((t, k) => t.name !== b.tensors[k]?.name);
  if (i >= 0) return [`tensor '${a.tensors[i]!.name}'`, `'${b.tensors[i]?.name ?? 'none'}'`];
  const j = a.layers.findIndex((l, k) => l.name !== b.layers[k]?.name);
  return j >= 0 ? [`layer '${a.layers[j]!.name}'`, `'${b.layers[j]?.name ?? 'none'}'`] : [da, db];
}

function summary(spec: ModelSpec): string {
  return spec.layers.map((l) => `${l.name}:${l.kind}`).join(' ');
}

/** A dense weight may be stored [out, in] or [out, c, h, w]; every other shape must match. */
function shapeFits(spec: ModelSpec, name: string, expected: readonly number[], found: readonly number[]): boolean {
  if (found.length === expected.length && found.every((d, i) => d === expected[i])) return true;
  const index = spec.layers.findIndex((l) => l.kind === 'dense' && l.weight === name);
  const layer = spec.layers[index];
  if (!layer || layer.kind !== 'dense') return false;
  const before = index > 0 ? layerOutputShape(spec.layers[index - 1]!) : [1, spec.inputSize, spec.inputSize];
  const map = before.length === 3 ? { channels: before[0]!, size: before[1]! } : undefined;
  return denseShapeFits(found, layer.outFeatures, layer.inFeatures, map);
}

/**
 * The error for tensors that fit no preset: what is wrong against the nearest preset (the one
 * sharing most tensor names), and every tensor found.
 */
function noPresetFits(tensors: ReadonlyMap<string, RawTensor>): ModelMismatchError {
  const found = [...tensors].map(([name, t]) => `${name} [${t.shape.join(', ')}]`);
  const shown = found.slice(0, 12).join(', ') + (found.length > 12 ? `, … (${found.length} in all)` : '');
  const shared = (name: string) => presetModel(name)!.tensors.filter((t) => tensors.has(t.name)).length;
  const nearest = [...kPresetNames].sort((a, b) => shared(b) - shared(a))[0]!;
  const problem = shared(nearest) > 0 ? tensorProblem(presetModel(nearest)!, tensors) : undefined;
  return new ModelMismatchError(
    `the file does not say which network it holds: expected the tensors of a preset (${kPresetNames.join(', ')}) ` +
      `or an architecture option (a JSON description, docs/formats.md), found ${found.length === 0 ? 'no tensors' : shown}` +
      (problem ? `; against the nearest preset, ${problem.message}` : ''),
    problem?.tensor,
  );
}

/** What is wrong with the tensors for a spec: the first problem, with the tensor it is in. */
interface TensorProblem {
  readonly message: string;
  readonly tensor?: string;
}

/** Names and shapes against the spec: missing, unknown, or misshapen tensors. */
function tensorProblem(spec: ModelSpec, tensors: ReadonlyMap<string, RawTensor>): TensorProblem | undefined {
  const missing = spec.tensors.filter((t) => !tensors.has(t.name));
  if (missing.length > 0) {
    const all = missing.map((t) => t.name).join(', ');
    return {
      message:
        `model '${spec.id}' needs ${spec.tensors.length} tensors; ${missing.length} missing (${all}): ` +
        `expected shape [${missing[0]!.shape.join(', ')}], found no tensor` +
        (tensors.size > 0 ? `; the file has ${[...tensors.keys()].slice(0, 8).join(', ')}${tensors.size > 8 ? ', …' : ''}` : ''),
      tensor: missing[0]!.name,
    };
  }
  const known = new Set(spec.tensors.map((t) => t.name));
  const unknown = [...tensors.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    return {
      message:
        `model '${spec.id}' has no tensor of this name: expected only ${[...known].join(', ')}; ` +
        `found ${unknown.length} unknown (${unknown.slice(0, 8).join(', ')})`,
      tensor: unknown[0]!,
    };
  }
  for (const expected of spec.tensors) {
    const found = tensors.get(expected.name)!;
    if (!shapeFits(spec, expected.name, expected.shape, found.shape)) {
      return {
        message: `wrong shape for model '${spec.id}': expected [${expected.shape.join(', ')}], found [${found.shape.join(', ')}]`,
        tensor: expected.name,
      };
    }
  }
  return undefined;
}

/** Every tensor of the spec, present with its shape and finite values; nothing else. */
function checkTensors(spec: ModelSpec, tensors: ReadonlyMap<string, RawTensor>): Map<string, Float32Array> {
  const problem = tensorProblem(spec, tensors);
  if (problem) throw new ModelMismatchError(problem.message, problem.tensor);
  const checked = new Map<string, Float32Array>();
  for (const expected of spec.tensors) {
    const found = tensors.get(expected.name)!;
    const bad = found.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new WeightsFileError(`value ${bad} is ${found.data[bad]}: weights must be finite`, { tensor: expected.name });
    checked.set(expected.name, found.data);
  }
  return checked;
}

/**
 * Preprocessing: the caller's option, else the file's metadata, else the architecture's
 * default; the padding must take a 28×28 image to the model's input size.
 */
function decidePreprocessing(
  spec: ModelSpec,
  metadata: Readonly<Record<string, string>>,
  option: PreprocessingOption | undefined,
): Preprocessing {
  const defaults = spec.defaultPreprocessing;
  const fromFile: Preprocessing = {
    pad: readNumber(metadata, kMetadataKeys.pad, defaults.pad),
    background: readNumber(metadata, kMetadataKeys.background, defaults.background),
    ink: readNumber(metadata, kMetadataKeys.ink, defaults.ink),
  };
  const chosen = option === undefined ? fromFile : { ...fromFile, ...preprocessingOption(option) };
  const expectedPad = (spec.inputSize - kImageSize) / 2;
  if (!Number.isInteger(expectedPad) || expectedPad < 0) {
    throw new ModelMismatchError(
      `the network's input is ${spec.inputSize}×${spec.inputSize}: a 28×28 image reaches it only by padding an equal whole number of pixels on every side (28, 30, 32, …)`,
    );
  }
  const fromOption = (key: keyof Preprocessing) => !!option && key in option && (option as Partial<Preprocessing>)[key] !== undefined;
  const where = (key: keyof Preprocessing, metadataKey: string) =>
    fromOption(key) ? `preprocessing.${key}` : `__metadata__['${metadataKey}']`;
  const shown = (key: keyof Preprocessing, metadataKey: string) =>
    fromOption(key) || metadata[metadataKey] === undefined ? String(chosen[key]) : `'${metadata[metadataKey]}'`;
  if (chosen.pad !== expectedPad) {
    throw new WeightsFileError(
      `${where('pad', kMetadataKeys.pad)}: expected ${expectedPad} (28×28 images into a ${spec.inputSize}×${spec.inputSize} input), found ${shown('pad', kMetadataKeys.pad)}`,
    );
  }
  if (chosen.ink === chosen.background) {
    throw new WeightsFileError(
      `${where('ink', kMetadataKeys.ink)}: expected a value different from the background (${chosen.background}), found ${shown('ink', kMetadataKeys.ink)}`,
    );
  }
  return chosen;
}

function preprocessingOption(option: PreprocessingOption): Partial<Preprocessing> {
  const finite = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`preprocessing.${what}: expected a finite number, found ${String(v)}`);
    return v;
  };
  if ('mean' in option || 'std' in option) {
    const { mean, std } = option as { mean: number; std: number };
    finite(mean, 'mean');
    if (finite(std, 'std') <= 0) throw new InputError(`preprocessing.std: expected a positive number, found ${std}`);
    return { background: -mean / std, ink: (1 - mean) / std };
  }
  const p = option as Partial<Preprocessing>;
  return {
    ...(p.pad !== undefined ? { pad: finite(p.pad, 'pad') } : {}),
    ...(p.background !== undefined ? { background: finite(p.background, 'background') } : {}),
    ...(p.ink !== undefined ? { ink: finite(p.ink, 'ink') } : {}),
  };
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

/** What the first bytes of an unknown file look like, for the error. */
function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 64));
  const text = head.trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<')) {
    return `an HTML page (starts '${head.trimStart().slice(0, 20)}…'): the URL served a web page, not the weights file — check its path`;
  }
  if (text.startsWith('{') || text.startsWith('[')) return 'JSON text, not a weights file';
  const hex = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `${bytes.length} bytes starting ${hex}`;
}

/**
 * Writes weights as safetensors with the metadata `loadWeights` reads back: the architecture
 * as a JSON description, the preset's name, the preprocessing, plus the weights' own metadata
 * and `extraMetadata` (e.g. the trainer's `lenet5.train.*` record). Loading the result gives
 * the same weights.
 *
 * @example
 * writeFileSync('weights/classic.safetensors', saveWeights(weights, { 'lenet5.train.epochs': '20' }));
 */
export function saveWeights(weights: ModelWeights, extraMetadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const { spec, preprocessing } = weights;
  const metadata: Record<string, string> = { ...weights.metadata, ...extraMetadata };
  metadata[kMetadataKeys.architecture] = JSON.stringify(architectureJsonOf(spec));
  if (spec.id === 'custom') delete metadata[kMetadataKeys.model];
  else metadata[kMetadataKeys.model] = spec.id;
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
