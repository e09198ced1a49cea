/**
 * The page's result panels: the image the network sees, the ten scores as bars (with the RBF
 * centres beside them when the model has 7×12 ones), and every layer of whatever model is
 * loaded, following its layer list: conv and pool layers as grids of maps, dense layers as
 * strips of units (the paper's 7×12 picture beside its closest centre when an 84-unit layer
 * feeds an RBF), the output named and pointed to the scores. Each panel builds its elements
 * once per model and repaints them per prediction; all text goes in as textContent.
 */
import { type Activation, type InferenceEngine, type InferenceResult, type LayerActivation, type LayerSpec, type ModelSpec, type OutputKind, type RbfLayer } from '../../src/index.js';
import { channelPreprocessing, kScaledTanhA } from '../../src/reference.js';
import { kFieldSize, padField } from './digitize.js';
import { paintFeatureMaps, paintGray, paintRgb, paintStrip, pictureCanvas, rangeOf, softmax, type Range } from './viz.js';

const kClasses = 10;
/** An 84-unit layer is pictured as the paper does: 7 wide, 12 tall. */
const kBitmapWidth = 7;
const kBitmapHeight = 12;
const kBitmapSize = kBitmapWidth * kBitmapHeight;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: element #${id} is missing`);
  return element as T;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

/** The model's RBF layer, if it has one. */
function rbfLayer(spec: ModelSpec): RbfLayer | undefined {
  return spec.layers.find((layer): layer is RbfLayer => layer.kind === 'rbf');
}

/** The RBF layer's centres ([classes, 84]) when the model has one whose centres are 7×12 pictures. */
export function rbfCentres(engine: InferenceEngine): Float32Array | null {
  const rbf = rbfLayer(engine.spec);
  if (!rbf || rbf.inFeatures !== kBitmapSize) return null;
  return engine.weights.tensors.get(rbf.centres) ?? null;
}

/** The values an activation can take, so a layer is drawn on its own natural scale. */
function activationRange(activation: Activation, values: Float32Array): Range {
  switch (activation) {
    case 'sigmoid':
      return { low: 0, high: 1 };
    case 'tanh':
      return { low: -1, high: 1 };
    case 'scaled-tanh':
      return { low: -kScaledTanhA, high: kScaledTanhA };
    case 'relu':
      return { low: 0, high: Math.max(rangeOf(values).high, 1e-6) };
    case 'none':
      return rangeOf(values);
  }
}

/** A number for people: at most 3 decimals, no trailing zeros. */
function short(value: number): string {
  return String(Number(value.toFixed(3)));
}

/**
 * The input the model reads: a grey digit padded as the model pads it (32×32 for a 32×32
 * model), or a colour model's picture at its input size.
 */
export class SeenView {
  private readonly canvas = byId<HTMLCanvasElement>('seen');
  private readonly caption = byId('seen-caption');
  private readonly how = byId('how');
  /** The note on how a drawing is prepared, as the page's HTML has it. */
  private readonly drawingHow = this.how.textContent ?? '';

  /** Says how the input is prepared for `engine`'s model: a drawing, MNIST's way, or a picture. */
  useModel(engine: InferenceEngine): void {
    const { channels, size } = engine.model.input;
    if (channels === 1) {
      this.how.textContent = this.drawingHow;
      return;
    }
    const preprocessing = engine.weights.preprocessing;
    const ranges = Array.from({ length: channels }, (_, c) => {
      const { background, ink } = channelPreprocessing(preprocessing, c);
      return `${short(background)}..${short(ink)}`;
    });
    const same = ranges.every((r) => r === ranges[0]);
    this.how.textContent =
      `Before the network sees it, your picture is cropped to the largest square at its centre and scaled to ${size}×${size}, ` +
      `each pixel the mean of the part of the picture it covers. Then each colour channel’s 0..1 is mapped to ` +
      `${same ? ranges[0] : ranges.join(', ')}, as the model’s training normalised it.`;
  }

  show(field: Float32Array | null, engine: InferenceEngine): void {
    const { channels, size: side } = engine.model.input;
    if (channels > 1) {
      paintRgb(this.canvas, field ?? new Float32Array(channels * side * side), side, side);
      this.caption.textContent = `The ${side}×${side} colour picture the network sees (${channels} channels, before its normalisation)`;
      return;
    }
    const { pad, background, ink } = engine.weights.preprocessing;
    const size = kFieldSize + 2 * pad;
    paintGray(this.canvas, field ? padField(field, pad) : new Float32Array(size * size), size, size, { low: 0, high: 1 });
    const levels = `background ${short(background)}, ink ${short(ink)}`;
    this.caption.textContent =
      pad > 0
        ? `The ${size}×${size} input the network sees: the 28×28 digit padded by ${pad} px (${levels})`
        : `The ${size}×${size} image the network sees (${levels})`;
  }
}

/** What the score bars show for each kind of output, naming the output layer; `what` is 'digit' or 'class' (a model with class names). */
function scoresCaption(output: OutputKind, layerName: string, bitmaps: boolean, what: 'digit' | 'class'): string {
  switch (output) {
    case 'logits':
      return `Softmax probability of each ${what} (from ${layerName}’s logits)`;
    case 'probabilities':
      return `Probability of each ${what} (${layerName}, the model’s softmax)`;
    case 'log-probabilities':
      return `Probability of each ${what} (exp of ${layerName}, the model’s log-softmax)`;
    case 'distances':
      return bitmaps
        ? `RBF distance to each ${what}’s 7×12 centre (${layerName}; smaller is closer)`
        : `RBF distance to each ${what}’s centre (${layerName}; smaller is closer)`;
  }
}

/**
 * Probabilities for the bars, or null when the scores are distances.
 *
 * @example
 * probabilitiesOf('log-probabilities', scores); // exp of each score
 */
export function probabilitiesOf(output: OutputKind, scores: Float32Array): Float64Array | null {
  switch (output) {
    case 'logits':
      return softmax(scores);
    case 'probabilities':
      return Float64Array.from(scores);
    case 'log-probabilities':
      return Float64Array.from(scores, Math.exp);
    case 'distances':
      return null;
  }
}

/** Ten rows: digit, centre bitmap (RBF models with 7×12 centres), bar, value. */
export class ScoresPanel {
  private readonly list = byId<HTMLOListElement>('scores');
  private readonly caption = byId('scores-caption');
  private readonly rows: Array<{ row: HTMLLIElement; centre: HTMLCanvasElement; bar: HTMLElement; value: HTMLElement }> = [];

  private readonly labels: HTMLElement[] = [];

  constructor() {
    for (let digit = 0; digit < kClasses; digit++) {
      const row = element('li', 'score');
      const label = element('span', 'label', String(digit));
      this.labels.push(label);
      const centre = pictureCanvas('centre', `RBF centre of ${digit}`);
      const track = element('span', 'track');
      const bar = element('span', 'bar');
      track.append(bar);
      const value = element('span', 'value');
      row.append(label, centre, track, value);
      this.list.append(row);
      this.rows.push({ row, centre, bar, value });
    }
  }

  /** Sets the caption, the class names (or digits) and centre bitmaps for a model; empties the bars. */
  useModel(engine: InferenceEngine): void {
    const centres = rbfCentres(engine);
    const last = engine.model.layers[engine.model.layers.length - 1] ?? 'output';
    const names = engine.model.labels;
    this.caption.textContent = scoresCaption(engine.model.output, last, !!centres, names ? 'class' : 'digit');
    this.list.setAttribute('aria-label', names ? 'Scores for each class' : 'Scores for each digit');
    this.labels.forEach((label, k) => (label.textContent = names?.[k] ?? String(k)));
    this.list.classList.toggle('named', !!names);
    this.list.classList.toggle('no-centres', !centres);
    const range = centres ? rangeOf(centres) : { low: 0, high: 1 };
    this.rows.forEach(({ centre }, digit) => {
      centre.hidden = !centres;
      if (centres) {
        paintGray(centre, centres.subarray(digit * kBitmapSize, (digit + 1) * kBitmapSize), kBitmapWidth, kBitmapHeight, range);
      }
    });
    this.show(null);
  }

  /** Bars for one image's scores, the winner highlighted; null empties them. */
  show(result: InferenceResult | null): void {
    if (!result) {
      for (const { row, bar, value } of this.rows) {
        row.classList.remove('win');
        bar.style.setProperty('--fill', '0%');
        value.textContent = '';
      }
      return;
    }
    const scores = result.scores.subarray(0, kClasses);
    const winner = result.classes[0];
    const probabilities = probabilitiesOf(result.output, scores);
    const largest = Math.max(...scores);
    this.rows.forEach(({ row, bar, value }, digit) => {
      row.classList.toggle('win', digit === winner);
      if (probabilities) {
        const p = probabilities[digit]!;
        bar.style.setProperty('--fill', `${(p * 100).toFixed(1)}%`);
        value.textContent = `${(p * 100).toFixed(1)}%`;
      } else {
        const d = scores[digit]!;
        bar.style.setProperty('--fill', `${largest > 0 ? ((d / largest) * 100).toFixed(1) : 0}%`);
        value.textContent = d.toFixed(1);
      }
    });
  }
}

/** One layer's block in the "Inside the network" panel. */
interface LayerView {
  readonly block: HTMLElement;
  /** Repaints from this image's activations (null: blank). */
  paint(activations: readonly LayerActivation[] | null): void;
}

/** A block with a header: the layer's name, then what it is. */
function layerBlock(name: string, what: string, className = 'layer'): HTMLElement {
  const block = element('div', className);
  block.dataset['layer'] = name;
  const header = element('h3', undefined, `${name} `);
  header.append(element('span', undefined, what));
  block.append(header);
  return block;
}

function activationText(activation: Activation): string {
  return activation === 'none' ? '' : `, ${activation}`;
}

/** A conv, pool or scale-shift (batch norm) layer over maps: its maps as a grid, all on the layer's range. */
function mapsView(layer: LayerSpec & { kind: 'conv5x5' | 'subsample2x2' | 'scale-shift' }): LayerView {
  const count = layer.kind === 'conv5x5' ? layer.outChannels : layer.channels;
  const size = layer.kind === 'scale-shift' ? (layer.size ?? 1) : layer.outSize;
  const operation =
    layer.kind === 'conv5x5'
      ? `5×5 convolution${layer.connectionTable ? ' (connection table)' : ''}`
      : layer.kind === 'scale-shift'
        ? 'batch norm (per-channel scale and shift)'
        : layer.mode === 'trainable'
          ? '2×2 subsampling'
          : `2×2 ${layer.mode === 'max' ? 'max' : 'average'} pooling`;
  const block = layerBlock(layer.name, `${count} maps of ${size}×${size}, ${operation}${activationText(layer.activation)}`);
  const grid = element('div', layer.kind === 'subsample2x2' ? 'maps maps-pool' : 'maps');
  grid.id = `maps-${layer.name}`;
  block.append(grid);
  const shape = [count, size, size];
  const blank = new Float32Array(count * size * size);
  return {
    block,
    paint(activations) {
      const found = activations?.find((a) => a.name === layer.name);
      paintFeatureMaps(grid, layer.name, found?.shape ?? shape, found?.data ?? blank);
    },
  };
}

/** A dense layer, or a scale-shift (batch norm) over its units: the units as a strip of cells. */
function stripView(layer: LayerSpec & { kind: 'dense' | 'scale-shift' }): LayerView {
  const units = layer.kind === 'dense' ? layer.outFeatures : layer.channels;
  const operation = layer.kind === 'dense' ? `dense ${layer.inFeatures}→${layer.outFeatures}` : 'batch norm (per-unit scale and shift)';
  const block = layerBlock(layer.name, `${units} units, ${operation}${activationText(layer.activation)}`);
  const canvas = pictureCanvas('units', `${layer.name}: ${units} units`);
  block.append(canvas);
  const blank = new Float32Array(units);
  return {
    block,
    paint(activations) {
      const data = activations?.find((a) => a.name === layer.name)?.data;
      paintStrip(canvas, data ?? blank, data ? activationRange(layer.activation, data) : { low: 0, high: 1 });
    },
  };
}

/** An 84-unit layer that feeds an RBF: the paper's 7×12 picture beside its closest centre. */
function bitmapView(layer: LayerSpec & { kind: 'dense' }, rbf: RbfLayer, centres: Float32Array): LayerView {
  const block = layerBlock(layer.name, `${layer.outFeatures} units as a 7×12 picture${activationText(layer.activation)}`, 'layer f6');
  const pair = element('div', 'f6-pair');
  const figure = (id: string, label: string, caption: string) => {
    const made = element('figure');
    const canvas = pictureCanvas('bitmap', label);
    canvas.id = id;
    const figcaption = element('figcaption', undefined, caption);
    made.append(canvas, figcaption);
    return { made, canvas, figcaption };
  };
  const units = figure('f6', `${layer.name} activations as a 7×12 picture`, layer.name);
  const closest = figure('closest', 'The closest RBF centre', 'closest centre');
  closest.figcaption.id = 'closest-caption';
  pair.append(units.made, closest.made);
  const note = element('p', 'note');
  note.id = 'f6-note';
  block.append(pair, note);
  const range = rangeOf(centres);
  return {
    block,
    paint(activations) {
      const values = activations?.find((a) => a.name === layer.name)?.data ?? new Float32Array(kBitmapSize);
      paintGray(units.canvas, values, kBitmapWidth, kBitmapHeight, range);
      const distances = activations?.find((a) => a.name === rbf.name)?.data;
      let nearest = 0;
      if (distances) {
        for (let digit = 1; digit < rbf.classes; digit++) if (distances[digit]! < distances[nearest]!) nearest = digit;
      }
      const centre = distances ? centres.subarray(nearest * kBitmapSize, (nearest + 1) * kBitmapSize) : new Float32Array(kBitmapSize);
      paintGray(closest.canvas, centre, kBitmapWidth, kBitmapHeight, range);
      closest.figcaption.textContent = distances ? `closest centre: ${nearest}` : 'closest centre';
      note.textContent = distances
        ? `Squared distance from ${layer.name} to the centre of ${nearest}: ${distances[nearest]!.toFixed(2)}.`
        : '';
    },
  };
}

/** The last layer: named here, drawn as the scores under Prediction. */
function outputView(layer: LayerSpec, output: OutputKind): LayerView {
  const count = layer.kind === 'rbf' ? layer.classes : layer.kind === 'softmax' ? layer.features : layer.kind === 'dense' ? layer.outFeatures : kClasses;
  const what =
    layer.kind === 'rbf'
      ? `RBF ${layer.inFeatures}→${layer.classes}: ${count} distances`
      : layer.kind === 'softmax'
        ? `${layer.log ? 'log-softmax' : 'softmax'}: ${count} ${output}`
        : layer.kind === 'dense'
          ? `dense ${layer.inFeatures}→${layer.outFeatures}: ${count} ${output}`
          : `${count} ${output}`;
  const block = layerBlock(layer.name, `${what}, shown as the scores under Prediction`, 'layer output');
  return { block, paint() {} };
}

/** The view for each layer of a model, first to last. */
function layerViews(engine: InferenceEngine): LayerView[] {
  const { layers } = engine.spec;
  const rbf = rbfLayer(engine.spec);
  const centres = rbfCentres(engine);
  return layers.map((layer, index) => {
    if (index === layers.length - 1) return outputView(layer, engine.model.output);
    switch (layer.kind) {
      case 'conv5x5':
      case 'subsample2x2':
        return mapsView(layer);
      case 'dense': {
        const feedsRbf = rbf && centres && layers[index + 1] === rbf && layer.outFeatures === kBitmapSize;
        return feedsRbf ? bitmapView(layer, rbf, centres) : stripView(layer);
      }
      case 'scale-shift':
        return layer.size === undefined ? stripView(layer) : mapsView(layer);
      case 'rbf':
      case 'softmax':
        return outputView(layer, engine.model.output);
    }
  });
}

/** Every layer of the current model, in order, under its own name. */
export class InsidePanel {
  private readonly container = byId('layers');
  private readonly modelName = byId('inside-model');
  private views: LayerView[] = [];

  /** Builds one block per layer of `engine`'s model, blank until `show`. */
  useModel(engine: InferenceEngine): void {
    this.views = layerViews(engine);
    this.modelName.textContent = engine.model.title;
    this.container.replaceChildren(...this.views.map((view) => view.block));
    this.show(null);
  }

  show(activations: readonly LayerActivation[] | null): void {
    for (const view of this.views) view.paint(activations);
  }
}
