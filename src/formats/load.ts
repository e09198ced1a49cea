/**
 * Weights file → validated ModelWeights, and back. The first step of the engine's data flow:
 * the format is sniffed from the bytes (never the name), its reader (one per format, in this
 * folder) returns float32 tensors, the architecture is decided — the file's own (ONNX graph,
 * safetensors metadata), else the caller's `architecture` option, else the preset the
 * tensors' names and shapes fit (said in `origin.note`) — and every tensor is checked against
 * it before anything reaches the GPU.
 */
import { InputError, ModelMismatchError, WeightsFileError } from '../errors.js';
import { architectureJsonOf, buildArchitecture, describeArchitecture, labelsOf, parseArchitecture, type ArchitectureJson } from '../model/architecture.js';
import { foldBatchNorms } from '../model/fold.js';
import { normalizePreprocessing } from '../model/preprocess.js';
import type { ModelOrigin, ModelWeights } from '../model/model-weights.js';
import { classicModel, kPresetNames, presetModel, seedModel, type ClassicActivation, type PresetName } from '../model/presets.js';
import { checkOptions, either, ofType, stringList, type OptionChecks } from '../options.js';
import { kImageSize, layerOutputSize, type ModelSpec, type Preprocessing } from '../model/spec.js';
import { writeSafetensors, type TensorToWrite } from '../weights/safetensors.js';
import { matchTensors, tensorProblem, type TensorMatch } from './match.js';
import { looksLikeOnnx, readOnnx } from './onnx.js';
import { kStateDictPathKey, looksLikePth, readPth } from './pth.js';
import { kArchitectureKey, looksLikeSafetensors, readSafetensors } from './safetensors.js';
import type { IgnoredTensor, RawTensor, WeightsFileContents } from './types.js';

/** The `__metadata__` keys this engine reads and writes (docs/formats.md). */
export const kMetadataKeys = {
  architecture: kArchitectureKey,
  model: 'lenet5.model',
  activation: 'lenet5.activation',
  pad: 'lenet5.input.pad',
  background: 'lenet5.input.background',
  ink: 'lenet5.input.ink',
  rbfCentres: 'lenet5.rbf.centres',
  labels: 'lenet5.labels',
} as const;

/** The ONNX metadata_props key for class names (a JSON array, or names separated by commas). */
export const kOnnxLabelsKey = 'labels';

/**
 * How 28×28 images become the model's input, when the file does not say or says wrong:
 * `{ pad, background, ink }` (x = background + (ink − background)·p), or a PyTorch-style
 * `Normalize(mean, std)` applied to p in [0, 1].
 */
export type PreprocessingOption =
  | Partial<Preprocessing>
  | { readonly mean: number | readonly number[]; readonly std: number | readonly number[] };

export interface LoadOptions {
  /**
   * The network, for files that do not say (a PyTorch state_dict): a preset name
   * (`kPresetNames`: 'seed', 'pytorch-tutorial', 'classic', …), a JSON description, or its
   * text. Given for a file that does say, it must describe the same network.
   */
  readonly architecture?: PresetName | (string & {}) | ArchitectureJson;
  /** Overrides the preprocessing the file or the architecture declares. */
  readonly preprocessing?: PreprocessingOption;
  /**
   * Class names, one per class: win over the file's (`__metadata__['lenet5.labels']`, ONNX
   * metadata_props `labels`) and the architecture's (`engine.model.labels`).
   */
  readonly labels?: readonly string[];
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
  checkOptions(options, kLoadOptionChecks, 'loadWeights options');
  return modelWeightsFrom(readWeightsFile(bytes), options);
}

/** Run-time checks of LoadOptions (src/options.ts); their values are checked in depth where used. */
export const kLoadOptionChecks: OptionChecks<LoadOptions> = {
  architecture: either(ofType('string'), ofType('object'), 'a preset name, a JSON description or its text'),
  preprocessing: ofType('object', 'an object ({ pad, background, ink } or { mean, std })'),
  labels: stringList,
};

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
  const { spec, origin, matched, fileNames } = decideArchitecture(contents, options);
  let tensors: Map<string, Float32Array>;
  let folded: ReturnType<typeof foldBatchNorms>;
  try {
    tensors = checkTensors(spec, matched);
    folded = foldBatchNorms(spec, tensors);
  } catch (e) {
    throw inFileTerms(e, fileNames);
  }
  const preprocessing = decidePreprocessing(spec, contents.metadata, options.preprocessing);
  const labels = decideLabels(spec, contents, options.labels);
  return { spec: folded.spec, preprocessing, tensors: folded.tensors, metadata: contents.metadata, origin, ...(labels ? { labels } : {}) };
}

/**
 * An error about a tensor the network names, said with the file's own name for it too (a
 * tensor matched by order is `bn2.running_var` to the network and `5.running_var` in the file).
 */
function inFileTerms(e: unknown, fileNames: ReadonlyMap<string, string> | undefined): unknown {
  if (!(e instanceof WeightsFileError || e instanceof ModelMismatchError) || e.tensor === undefined) return e;
  const fileName = fileNames?.get(e.tensor);
  if (fileName === undefined || fileName === e.tensor) return e;
  const suffix = ` (tensor '${e.tensor}'${e instanceof WeightsFileError && e.byteOffset !== undefined ? `, byte ${e.byteOffset}` : ''})`;
  const base = e.message.endsWith(suffix) ? e.message.slice(0, -suffix.length) : e.message;
  const message = `${base} (the network's '${e.tensor}')`;
  return e instanceof WeightsFileError
    ? new WeightsFileError(message, { tensor: fileName, ...(e.byteOffset !== undefined ? { byteOffset: e.byteOffset } : {}) })
    : new ModelMismatchError(message, fileName);
}

/**
 * The class names: the caller's, else the file's (`lenet5.labels`, or an ONNX model's
 * metadata_props `labels`), else none here (the architecture's `spec.labels` apply); one per
 * class. A bad option is an InputError, a bad file a WeightsFileError.
 */
function decideLabels(spec: ModelSpec, contents: WeightsFileContents, option: readonly string[] | undefined): readonly string[] | undefined {
  const last = spec.layers[spec.layers.length - 1];
  const classes = last ? layerOutputSize(last) : 0;
  const checked = (value: unknown, what: string, error: (message: string) => Error): string[] => {
    let labels: string[];
    try {
      labels = labelsOf(value, what);
    } catch (e) {
      throw e instanceof ModelMismatchError ? error(e.message) : e;
    }
    if (labels.length !== classes) throw error(`${what}: expected one class name per class (${classes}), found ${labels.length}`);
    return labels;
  };
  if (option !== undefined) return checked(option, 'labels', (m) => new InputError(m));
  const fileError = (m: string) => new WeightsFileError(m);
  const own = contents.metadata[kMetadataKeys.labels];
  if (own !== undefined) return checked(labelsText(own, `__metadata__['${kMetadataKeys.labels}']`, true), `__metadata__['${kMetadataKeys.labels}']`, fileError);
  const onnx = contents.format === 'onnx' ? contents.metadata[kOnnxLabelsKey] : undefined;
  if (onnx !== undefined) return checked(labelsText(onnx, `metadata_props['${kOnnxLabelsKey}']`, false), `metadata_props['${kOnnxLabelsKey}']`, fileError);
  return undefined;
}

/** Class names as a file writes them: a JSON array of strings, or (ONNX) names separated by commas. */
function labelsText(text: string, what: string, jsonOnly: boolean): unknown {
  if (jsonOnly || text.trimStart().startsWith('[')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new WeightsFileError(`${what}: expected a JSON array of class names, found text that is not JSON (${(e as Error).message})`);
    }
  }
  return text.split(',').map((name) => name.trim());
}

/** Which network the file holds, how that was decided, and the file's tensors under the network's names. */
function decideArchitecture(
  contents: WeightsFileContents,
  options: LoadOptions,
): { spec: ModelSpec; origin: ModelOrigin; matched: ReadonlyMap<string, RawTensor>; fileNames?: ReadonlyMap<string, string> } {
  const { format, metadata } = contents;
  const asked = options.architecture === undefined ? undefined : architectureOption(options.architecture);
  const declared = declaredArchitecture(contents);
  const ignored = [checkpointNote(metadata), ignoredNote(contents.ignored)].filter((p) => p !== undefined).join(' ') || undefined;
  if (declared) {
    if (asked && !sameNetwork(asked, declared)) {
      throw new ModelMismatchError(
        `the file declares its network (${format === 'onnx' ? 'ONNX graph' : `__metadata__['${kArchitectureKey}']`}: ${summary(declared)}); ` +
          `the architecture option describes another (${summary(asked)})`,
      );
    }
    return { spec: declared, origin: withNote({ format, architectureFrom: 'file' }, ignored), matched: contents.tensors };
  }
  const given = asked ?? legacyModel(metadata);
  if (given) {
    const match = matchTensors(given, contents.tensors);
    if (!('how' in match)) throw new ModelMismatchError(match.message, match.tensor);
    const said = match.said ? `the file's tensors were ${match.said}` : undefined;
    return {
      spec: given,
      origin: withNote({ format, architectureFrom: asked ? 'option' : 'file' }, sentence(said), ignored),
      matched: match.tensors,
      ...(match.fileNames ? { fileNames: match.fileNames } : {}),
    };
  }
  const fits = kPresetNames
    .map((name) => ({ name, match: matchTensors(presetModel(name)!, contents.tensors) }))
    .filter((f): f is { name: (typeof kPresetNames)[number]; match: TensorMatch } => 'how' in f.match);
  // A file whose names are a preset's fits it before one whose order and shapes do.
  const rank = { names: 0, prefix: 1, order: 2 } as const;
  fits.sort((a, b) => rank[a.match.how] - rank[b.match.how]);
  const chosen = fits[0];
  if (!chosen) throw noPresetFits(contents.tensors);
  const others = fits.slice(1).map((f) => f.name);
  const note =
    `the file does not say which network it holds; its tensors fit the '${chosen.name}' preset` +
    (chosen.match.said ? ` (${chosen.match.said})` : '') +
    `, assumed` +
    (others.length > 0 ? ` (they fit ${others.map((n) => `'${n}'`).join(', ')} as well)` : '') +
    `. If that is not the network, pass its architecture (a preset name or a JSON description; --arch in eval).`;
  // A classic file may say its activation (lenet5.activation) without naming its model.
  const spec = chosen.name === 'classic' ? legacyModel({ ...metadata, [kMetadataKeys.model]: 'classic' })! : presetModel(chosen.name)!;
  return {
    spec,
    origin: withNote({ format, architectureFrom: 'tensors', alsoFits: others }, note, ignored),
    matched: chosen.match.tensors,
    ...(chosen.match.fileNames ? { fileNames: chosen.match.fileNames } : {}),
  };
}

/** Where in a checkpoint the reader found the state_dict, for the note. */
function checkpointNote(metadata: Readonly<Record<string, string>>): string | undefined {
  const path = metadata[kStateDictPathKey];
  return path === undefined ? undefined : `The state_dict was read from ${path}.`;
}

/** The reader's set-aside integer buffers, for the note. */
function ignoredNote(ignored: readonly IgnoredTensor[] | undefined): string | undefined {
  if (!ignored || ignored.length === 0) return undefined;
  const shown = ignored.slice(0, 6).map((t) => `${t.name} (${t.dtype})`).join(', ') + (ignored.length > 6 ? `, … (${ignored.length} in all)` : '');
  return `Integer buffers read and ignored (the engine has no integer parameters): ${shown}.`;
}

function sentence(text: string | undefined): string | undefined {
  return text === undefined ? undefined : `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** The origin with the parts of its note that apply, joined. */
function withNote(origin: ModelOrigin, ...parts: (string | undefined)[]): ModelOrigin {
  const note = parts.filter((p): p is string => p !== undefined).join(' ');
  return note ? { ...origin, note } : origin;
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
function architectureOption(option: string | ArchitectureJson): ModelSpec {
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
  // A description's per-channel values hold unless the file's metadata sets one background and ink for all.
  const perChannel = metadata[kMetadataKeys.background] === undefined && metadata[kMetadataKeys.ink] === undefined ? defaults.perChannel : undefined;
  const fromFile: Preprocessing = {
    ...(perChannel ? { perChannel } : {}),
    pad: readNumber(metadata, kMetadataKeys.pad, defaults.pad),
    background: readNumber(metadata, kMetadataKeys.background, defaults.background),
    ink: readNumber(metadata, kMetadataKeys.ink, defaults.ink),
  };
  const chosen: Preprocessing = option === undefined ? fromFile : { ...fromFile, ...preprocessingOption(option, spec.inputChannels) };
  // A grey model takes 28×28 images padded to its input; a colour model its input's size.
  const expectedPad = spec.inputChannels === 1 ? (spec.inputSize - kImageSize) / 2 : 0;
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
      `${where('pad', kMetadataKeys.pad)}: expected ${expectedPad} (${spec.inputChannels === 1 ? '28×28' : `${spec.inputSize}×${spec.inputSize}`} images into a ${spec.inputSize}×${spec.inputSize} input), found ${shown('pad', kMetadataKeys.pad)}`,
    );
  }
  if (chosen.ink === chosen.background) {
    throw new WeightsFileError(
      `${where('ink', kMetadataKeys.ink)}: expected a value different from the background (${chosen.background}), found ${shown('ink', kMetadataKeys.ink)}`,
    );
  }
  return chosen;
}

function preprocessingOption(option: PreprocessingOption, channels: number): Partial<Preprocessing> {
  const finite = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`preprocessing.${what}: expected a finite number, found ${String(v)}`);
    return v;
  };
  if ('mean' in option || 'std' in option) {
    const { mean, std } = option as { mean: number | number[]; std: number | number[] };
    // The per-channel form replaces any per-channel values the file had.
    return { perChannel: undefined, ...normalizePreprocessing(mean, std, channels, (message) => new InputError(`preprocessing.${message}`)) };
  }
  const p = option as Partial<Preprocessing>;
  return {
    // One background and ink from the caller replace a description's per-channel values.
    ...(p.background !== undefined || p.ink !== undefined ? { perChannel: undefined } : {}),
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
  // The architecture carries the weights' preprocessing: per-channel values have no metadata keys.
  metadata[kMetadataKeys.architecture] = JSON.stringify({ ...architectureJsonOf(spec), preprocessing });
  // A preset with batch norms is saved folded: the file holds another network than the preset's.
  if (spec.id === 'custom' || presetModel(spec.id)?.batchNorms) delete metadata[kMetadataKeys.model];
  else metadata[kMetadataKeys.model] = spec.id;
  if (spec.id === 'classic') metadata[kMetadataKeys.activation] = classicActivation(spec);
  else delete metadata[kMetadataKeys.activation];
  if (weights.labels) metadata[kMetadataKeys.labels] = JSON.stringify(weights.labels);
  metadata[kMetadataKeys.pad] = String(preprocessing.pad);
  if (preprocessing.perChannel) {
    delete metadata[kMetadataKeys.background];
    delete metadata[kMetadataKeys.ink];
  } else {
    metadata[kMetadataKeys.background] = String(preprocessing.background);
    metadata[kMetadataKeys.ink] = String(preprocessing.ink);
  }

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
