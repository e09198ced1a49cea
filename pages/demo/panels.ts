/**
 * The page's result panels: the image the network sees, the ten scores as bars (with the RBF
 * centres beside them for the classic model), and the feature maps and F6 picture. Each panel
 * builds its elements once and repaints them per prediction; all text goes in as textContent.
 */
import {
  kScaledTanhA,
  type InferenceEngine,
  type InferenceResult,
  type LayerActivation,
  type LayerName,
  type ModelSpec,
} from '../../src/index.js';
import { kFieldSize, padField } from './digitize.js';
import { paintFeatureMaps, paintGray, pictureCanvas, rangeOf, softmax, type Range } from './viz.js';

const kClasses = 10;
/** F6 has 84 units, pictured as the paper does: 7 wide, 12 tall. */
const kBitmapWidth = 7;
const kBitmapHeight = 12;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: element #${id} is missing`);
  return element as T;
}

/** The RBF layer's centres ([10, 84]) when the model has one. */
export function rbfCentres(engine: InferenceEngine): Float32Array | null {
  const rbf = engine.spec.layers.find((layer) => layer.kind === 'rbf');
  return rbf?.kind === 'rbf' ? (engine.weights.tensors.get(rbf.centres) ?? null) : null;
}

/** The range F6's activation can take, so F6 and the centres are drawn on one scale. */
function f6Range(spec: ModelSpec, f6: Float32Array, centres: Float32Array | null): Range {
  if (centres) return rangeOf(centres);
  const layer = spec.layers.find((l) => l.name === 'F6');
  if (layer && 'activation' in layer && layer.activation === 'sigmoid') return { low: 0, high: 1 };
  if (layer && 'activation' in layer && layer.activation === 'scaled-tanh') return { low: -kScaledTanhA, high: kScaledTanhA };
  return rangeOf(f6);
}

/** The 28×28 field the model reads, padded as the model pads it (32×32 for classic). */
export class SeenView {
  private readonly canvas = byId<HTMLCanvasElement>('seen');
  private readonly caption = byId('seen-caption');

  show(field: Float32Array | null, engine: InferenceEngine): void {
    const { pad, background, ink } = engine.weights.preprocessing;
    const size = kFieldSize + 2 * pad;
    paintGray(this.canvas, field ? padField(field, pad) : new Float32Array(size * size), size, size, { low: 0, high: 1 });
    this.caption.textContent =
      pad > 0
        ? `The ${size}×${size} input the network sees: the 28×28 digit padded by ${pad} px (background ${background}, ink ${ink})`
        : `The ${size}×${size} image the network sees (pixel / 255)`;
  }
}

/** Ten rows: digit, centre bitmap (RBF models), bar, value. */
export class ScoresPanel {
  private readonly list = byId<HTMLOListElement>('scores');
  private readonly caption = byId('scores-caption');
  private readonly rows: Array<{ row: HTMLLIElement; centre: HTMLCanvasElement; bar: HTMLElement; value: HTMLElement }> = [];

  constructor() {
    for (let digit = 0; digit < kClasses; digit++) {
      const row = document.createElement('li');
      row.className = 'score';
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = String(digit);
      const centre = pictureCanvas('centre', `RBF centre of ${digit}`);
      const track = document.createElement('span');
      track.className = 'track';
      const bar = document.createElement('span');
      bar.className = 'bar';
      track.append(bar);
      const value = document.createElement('span');
      value.className = 'value';
      row.append(label, centre, track, value);
      this.list.append(row);
      this.rows.push({ row, centre, bar, value });
    }
  }

  /** Sets the caption and centre bitmaps for a model; empties the bars. */
  useModel(engine: InferenceEngine): void {
    const centres = rbfCentres(engine);
    this.caption.textContent =
      engine.spec.output === 'distances'
        ? 'RBF distance to each digit’s 7×12 centre (smaller is closer)'
        : 'Softmax probability of each digit';
    this.list.classList.toggle('no-centres', !centres);
    const range = centres ? rangeOf(centres) : { low: 0, high: 1 };
    this.rows.forEach(({ centre }, digit) => {
      centre.hidden = !centres;
      if (centres) {
        const size = kBitmapWidth * kBitmapHeight;
        paintGray(centre, centres.subarray(digit * size, (digit + 1) * size), kBitmapWidth, kBitmapHeight, range);
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
    const probabilities = result.output === 'logits' ? softmax(scores) : null;
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

/** Feature maps of C1, S2, C3, S4 and F6 as a 7×12 picture beside its closest centre. */
export class InsidePanel {
  private readonly grids = new Map<LayerName, HTMLElement>(
    (['C1', 'S2', 'C3', 'S4'] as const).map((name) => [name, byId(`maps-${name}`)]),
  );
  private readonly f6 = byId<HTMLCanvasElement>('f6');
  private readonly closest = byId<HTMLCanvasElement>('closest');
  private readonly closestFigure = byId('closest-figure');
  private readonly closestCaption = byId('closest-caption');
  private readonly note = byId('f6-note');

  show(activations: readonly LayerActivation[] | null, engine: InferenceEngine): void {
    for (const [name, grid] of this.grids) {
      const layer = activations?.find((a) => a.name === name);
      if (layer) paintFeatureMaps(grid, name, layer.shape, layer.data);
      else grid.replaceChildren();
    }
    const f6 = activations?.find((a) => a.name === 'F6')?.data ?? new Float32Array(kBitmapWidth * kBitmapHeight);
    const centres = rbfCentres(engine);
    const range = f6Range(engine.spec, f6, centres);
    paintGray(this.f6, f6, kBitmapWidth, kBitmapHeight, range);
    this.closestFigure.hidden = !centres;
    if (!centres) {
      this.note.textContent = 'This model ends in a dense layer: it has no RBF centres to compare F6 with.';
      return;
    }
    const distances = activations?.find((a) => a.name === 'OUTPUT')?.data;
    const size = kBitmapWidth * kBitmapHeight;
    let nearest = 0;
    if (distances) {
      for (let digit = 1; digit < kClasses; digit++) if (distances[digit]! < distances[nearest]!) nearest = digit;
    }
    paintGray(this.closest, distances ? centres.subarray(nearest * size, (nearest + 1) * size) : new Float32Array(size), kBitmapWidth, kBitmapHeight, range);
    this.closestCaption.textContent = distances ? `closest centre: ${nearest}` : 'closest centre';
    this.note.textContent = distances
      ? `Squared distance from F6 to the centre of ${nearest}: ${distances[nearest]!.toFixed(2)}.`
      : '';
  }
}
