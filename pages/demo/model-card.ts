/**
 * The Model card's read-outs: what the current model is (title, architecture in one line,
 * layer names, format, how its architecture was identified, parameters, training record),
 * the loader's note when the architecture was assumed from the tensors, and the preset
 * picker for files that do not say which network they hold. All text goes in as textContent.
 */
import { kPresetNames, presetModel, type InferenceEngine, type ModelInfo, type ModelOrigin } from '../../src/index.js';
import { parameterCount } from '../../src/reference.js';

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: element #${id} is missing`);
  return element as T;
}

/** The formats, as people call them. */
const kFormatNames: Record<ModelOrigin['format'], string> = {
  safetensors: 'safetensors',
  pth: 'PyTorch .pth (state_dict)',
  onnx: 'ONNX',
};

/**
 * How the architecture was identified, in words.
 *
 * @example
 * identifiedBy({ format: 'onnx', architectureFrom: 'file' }, 'custom'); // 'read from the file (its ONNX graph)'
 */
export function identifiedBy(origin: ModelOrigin | undefined, id: string): string {
  if (!origin) return 'made in memory';
  switch (origin.architectureFrom) {
    case 'file':
      return origin.format === 'onnx' ? 'read from the file (its ONNX graph)' : 'read from the file (its metadata)';
    case 'option':
      return `chosen: the '${id}' preset`;
    case 'tensors':
      return `assumed from the tensors’ names and shapes: the '${id}' preset`;
  }
}

/**
 * The raw image a model takes, in words.
 *
 * @example
 * describeInput({ channels: 3, size: 32 }); // 'colour pictures, 3×32×32 (RGB)'
 */
export function describeInput(input: ModelInfo['input']): string {
  if (input.channels === 1) return `grey digits, ${input.size}×${input.size}`;
  return `${input.channels === 3 ? 'colour pictures' : 'pictures'}, ${input.channels}×${input.size}×${input.size}${input.channels === 3 ? ' (RGB)' : ''}`;
}

/** '0.9912' → '99.12%' (the training record stores a fraction); other text as it is. */
function asPercent(text: string): string {
  const value = Number(text);
  return /^\s*0?\.\d+\s*$/.test(text) && value <= 1 ? `${(value * 100).toFixed(2)}%` : text;
}

/** What the picker applies to, for the hint beneath it. */
export type PickerState = 'no-file' | 'file-declares' | 'file-assumed' | 'file-chosen';

const kHints: Record<PickerState, string> = {
  'no-file': 'Used for the next file you load. A file that declares its network (ONNX, or safetensors with the architecture in its metadata) runs as it says.',
  'file-declares': 'Your file declares its network and runs as it says; this choice applies to the next state_dict you load.',
  'file-assumed': 'Not the network you trained? Pick it here: your file runs again as that preset.',
  'file-chosen': 'Your file runs as the preset chosen here; pick another to run it again.',
};

/**
 * The facts list, the origin note and the preset picker.
 *
 * @example
 * const card = new ModelCard((preset) => reload(preset));
 * card.show(engine, 'file-assumed');
 */
export class ModelCard {
  private readonly facts = byId('model-facts');
  private readonly note = byId('origin-note');
  private readonly picker = byId<HTMLSelectElement>('architecture');
  private readonly hint = byId('architecture-hint');
  private readonly labels = new Map<string, string>();
  /** The picker's value the visitor's file was loaded with, to go back to when a choice fails. */
  private applied = '';

  constructor(onPick: (preset: string | undefined) => void) {
    for (const name of kPresetNames) {
      const option = document.createElement('option');
      option.value = name;
      const label = `${name}: ${presetModel(name)?.title ?? name}`;
      option.textContent = label;
      this.labels.set(name, label);
      this.picker.append(option);
    }
    this.picker.addEventListener('change', () => onPick(this.preset));
  }

  /** The preset picked for files that do not say, or undefined to recognise it from the tensors. */
  get preset(): string | undefined {
    return this.picker.value || undefined;
  }

  /** Records the preset the visitor's file now runs with (undefined: recognised from its tensors). */
  fileLoaded(preset: string | undefined): void {
    this.applied = preset ?? '';
  }

  /** Puts the picker back to what the visitor's file runs with (a choice failed). */
  revertPicker(): void {
    this.picker.value = this.applied;
  }

  /** Describes `engine`'s model; `state` says what the picker would act on. */
  show(engine: InferenceEngine, state: PickerState): void {
    const { model } = engine;
    const rows: Array<[string, string, string]> = [
      ['model', 'Model', model.title],
      ['architecture', 'Architecture', model.summary],
      ['layers', 'Layers', model.layers.join(', ')],
      ['input', 'Input', describeInput(model.input)],
    ];
    if (model.labels) rows.push(['classes', 'Classes', model.labels.join(', ')]);
    if (model.origin) {
      rows.push(['format', 'Format', kFormatNames[model.origin.format]]);
      rows.push(['identified', 'Identified', identifiedBy(model.origin, model.id)]);
    }
    rows.push(['parameters', 'Parameters', parameterCount(engine.spec).toLocaleString('en')]);
    const meta = engine.weights.metadata;
    const accuracy = meta['lenet5.train.test_accuracy'];
    if (accuracy) rows.push(['accuracy', 'Test accuracy', asPercent(accuracy)]);
    if (meta['lenet5.train.epochs']) rows.push(['epochs', 'Epochs', meta['lenet5.train.epochs']]);
    if (meta['lenet5.rbf.centres']) rows.push(['centres', 'RBF centres', meta['lenet5.rbf.centres']]);
    this.facts.replaceChildren(
      ...rows.flatMap(([key, term, value]) => {
        const dt = document.createElement('dt');
        dt.textContent = term;
        const dd = document.createElement('dd');
        dd.dataset['fact'] = key;
        dd.textContent = value;
        return [dt, dd];
      }),
    );
    const note = model.origin?.architectureFrom === 'tensors' ? (model.origin.note ?? '') : '';
    this.note.textContent = note;
    this.note.hidden = !note;
    this.markFits(model.origin?.architectureFrom === 'tensors' ? [model.id, ...(model.origin.alsoFits ?? [])] : []);
    this.hint.textContent = kHints[state];
  }

  /** Marks the presets the loaded file's tensors fit, when its network was assumed. */
  private markFits(fits: readonly string[]): void {
    for (const option of this.picker.options) {
      const label = this.labels.get(option.value);
      if (label) option.textContent = fits.includes(option.value) ? `${label} (fits this file)` : label;
    }
  }
}
