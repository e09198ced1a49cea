/**
 * "What the network looks at": the gradient of a class's score with respect to each input pixel
 * (createSaliency, computed by the GPU backward kernels), drawn over the image the network sees
 * in a diverging colour map, with a legend, a "why not …?" choice and a description in words.
 * The painting and the words are plain functions (tested in tests/demo-saliency.spec.ts).
 */
import type { Saliency } from '../../src/index.js';

/** Colours at the two ends of the map: raises the score (orange-red), lowers it (blue). */
const kRaise = [214, 72, 18] as const;
const kLower = [33, 102, 172] as const;

/** How a pixel changes, in words: ink on a grey digit, brightness in a colour picture. */
export interface Change {
  readonly more: string;
  readonly unit: string;
  /** 'orange pixels, <done>, would raise it' */
  readonly done: string;
  readonly undone: string;
}
export const kInk: Change = { more: 'Ink', unit: 'ink', done: 'inked', undone: 'erasing their ink' };
export const kBrightness: Change = { more: 'Brightening', unit: 'brightness (all three channels)', done: 'brightened', undone: 'darkening them' };

/** The image and the gradient summed over channels (a colour model's gradient per pixel is that of brightening all three). */
export function perPixel(values: Float32Array, channels: number, size: number): Float32Array {
  const area = size * size;
  const out = new Float32Array(area);
  for (let c = 0; c < channels; c++) for (let i = 0; i < area; i++) out[i] = out[i]! + values[c * area + i]!;
  return out;
}

/** The largest |value| (0 for an all-zero gradient). */
export function largestMagnitude(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/**
 * RGBA of one pixel: the grey image (0 = white, 1 = dark ink, dimmed so colour reads over it)
 * with the gradient's colour laid over it, opacity ∝ |gradient| / scale.
 *
 * @example
 * overlayPixel(1, 0.5, 1); // half-strength orange over dark ink
 */
export function overlayPixel(ink: number, gradient: number, scale: number): [number, number, number] {
  const grey = 255 - 150 * Math.min(1, Math.max(0, ink));
  const t = scale > 0 ? Math.min(1, Math.abs(gradient) / scale) : 0;
  const colour = gradient >= 0 ? kRaise : kLower;
  return [0, 1, 2].map((k) => Math.round(grey + (colour[k]! - grey) * t)) as [number, number, number];
}

/** Where a pixel lies, in words a person uses ('top left', 'middle', …). */
export function region(index: number, size: number): string {
  const third = (v: number) => Math.min(2, Math.floor((3 * v) / size));
  const row = ['top', 'middle', 'bottom'][third(Math.floor(index / size))]!;
  const column = ['left', 'centre', 'right'][third(index % size)]!;
  if (row === 'middle' && column === 'centre') return 'centre';
  return row === 'middle' ? `middle ${column}` : `${row} ${column === 'centre' ? 'middle' : column}`;
}

/**
 * The map in words: the strongest push each way and where.
 *
 * @example
 * describeSaliency(gradient, 28, 'the score of 4'); // 'Strongest: +0.84 (top middle) … −0.61 (bottom left) …'
 */
export function describeSaliency(gradient: Float32Array, size: number, what: string, change: Change = kInk): string {
  let up = 0;
  let down = 0;
  for (let i = 1; i < gradient.length; i++) {
    if (gradient[i]! > gradient[up]!) up = i;
    if (gradient[i]! < gradient[down]!) down = i;
  }
  const at = (i: number) => `row ${Math.floor(i / size) + 1}, column ${(i % size) + 1}, ${region(i, size)}`;
  if (!(gradient[up]! > 0) && !(gradient[down]! < 0)) return `The gradient of ${what} is zero everywhere: no pixel changes it.`;
  return (
    `${change.more} would raise ${what} most at ${at(up)} (+${gradient[up]!.toPrecision(2)} per unit of ${change.unit}), ` +
    `and lower it most at ${at(down)} (${gradient[down]!.toPrecision(2)}).`
  );
}

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: element #${id} is missing`);
  return element as T;
}

/** The card: canvas, legend, "why not" choice and notes. */
export class SaliencyView {
  private readonly canvas = byId<HTMLCanvasElement>('saliency');
  private readonly note = byId('saliency-note');
  private readonly words = byId('saliency-words');
  private readonly versus = byId<HTMLSelectElement>('why-not');
  private readonly scaleLabel = byId('saliency-scale');

  /** `onChange` runs when the visitor picks another "why not" class. */
  constructor(onChange: () => void) {
    this.versus.addEventListener('change', onChange);
  }

  /** The "why not" class picked, or null for the predicted class's own score. */
  get whyNot(): number | null {
    return this.versus.value === '' ? null : Number(this.versus.value);
  }

  /** Class names for the choice (digits, or a model's labels). */
  useLabels(labels: readonly string[]): void {
    const keep = this.versus.value;
    this.versus.replaceChildren(new Option('the predicted class (its own score)', ''), ...labels.map((name, c) => new Option(`${name}`, String(c))));
    this.versus.value = labels[Number(keep)] !== undefined ? keep : '';
  }

  /** Nothing to show (no input), or why not (a message). */
  clear(message: string): void {
    const context = this.canvas.getContext('2d');
    context?.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.removeAttribute('data-target');
    this.canvas.setAttribute('aria-label', 'Saliency map: nothing to show');
    this.note.textContent = message;
    this.words.textContent = '';
    this.scaleLabel.textContent = '';
  }

  /**
   * Paints `saliency` over `field` (the raw image, planar channels × size × size in [0, 1]).
   * `name(c)` names a class; `scoreWord` is 'logit' or 'negated distance'.
   */
  show(field: Float32Array, saliency: Saliency, channels: number, size: number, name: (c: number) => string, scoreWord: string): void {
    const image = perPixel(field, channels, size);
    const change = channels === 1 ? kInk : kBrightness;
    const gradient = perPixel(saliency.gradient, channels, size);
    const scale = largestMagnitude(gradient);
    if (this.canvas.width !== size) this.canvas.width = size;
    if (this.canvas.height !== size) this.canvas.height = size;
    const context = this.canvas.getContext('2d');
    if (!context) return;
    const pixels = context.createImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      // A grey digit's 1 is ink (dark); a colour picture's mean brightness is drawn as light.
      const [r, g, b] = overlayPixel(channels === 1 ? image[i]! : 1 - image[i]! / channels, gradient[i]!, scale);
      pixels.data.set([r, g, b, 255], i * 4);
    }
    context.putImageData(pixels, 0, 0);
    const { class: c, versus } = saliency.target;
    const what = versus === undefined ? `the ${scoreWord} of ${name(c)}` : `${name(versus)}’s ${scoreWord} minus ${name(c)}’s`;
    this.canvas.dataset['target'] = versus === undefined ? String(c) : `${versus}-${c}`;
    this.canvas.setAttribute('aria-label', `Saliency map of ${what} over the image the network sees`);
    this.scaleLabel.textContent = `±${scale.toPrecision(2)}`;
    this.note.textContent =
      versus === undefined
        ? `The gradient of ${what}: orange pixels, ${change.done}, would raise it; blue ones would lower it (and ${change.undone} would raise it).`
        : `Why not ${name(versus)}? The gradient of ${what}: orange pixels, ${change.done}, would move the decision from ${name(c)} towards ${name(versus)}; blue ones hold it at ${name(c)}. ` +
          `It is the difference of the two scores because the choice between two classes depends only on it; one score’s gradient alone also shows what raises every class at once.`;
    this.words.textContent = describeSaliency(gradient, size, what, change);
  }
}
