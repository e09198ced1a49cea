/**
 * MNIST-style preprocessing of a drawing, the step most digit demos get wrong. MNIST's digits
 * were made by cropping each scan to its ink, scaling the longer side to 20 px (aspect ratio
 * kept, anti-aliased), then placing that box in a 28×28 field so the centre of mass sits at
 * the centre. A network trained on MNIST expects exactly that, so a drawing must go through
 * the same steps before it is classified.
 */
import { InputError } from '../../src/errors.js';

/** Side of the field the network reads. */
export const kFieldSize = 28;
/** Side the longer edge of the ink's bounding box is scaled to. */
export const kBoxSize = 20;
/** Where the centre of mass goes: the centre of pixel (14, 14), MNIST's choice. */
const kCentre = kFieldSize / 2 + 0.5;

/** A single-channel picture: `data[y * width + x]` is the ink at (x, y), 0 = none, 1 = full. */
export interface InkImage {
  readonly width: number;
  readonly height: number;
  readonly data: ArrayLike<number>;
}

/** The ink's bounding box, in source pixels: x in [left, right), y in [top, bottom). */
export interface InkBox {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/**
 * Turns a drawing into the 28×28 intensities (0 = background, 1 = ink) a MNIST network reads,
 * or null when nothing is drawn.
 *
 * Resampling is by area: every source pixel is a square of side `scale` in the field, and
 * each field pixel gets the ink of the part of those squares it covers. That anti-aliases
 * when shrinking, interpolates when enlarging, and moves the centre of mass exactly with the
 * box, so the centring below needs only the drawing's own centre of mass.
 *
 * @example
 * const pixels = digitize(inkFromRgba(ctx.getImageData(0, 0, w, h)));
 * if (pixels) await engine.infer(pixels, 1);
 */
export function digitize(ink: InkImage): Float32Array | null {
  checkInk(ink);
  const box = inkBox(ink);
  if (!box) return null;
  const boxWidth = box.right - box.left;
  const boxHeight = box.bottom - box.top;
  const scale = kBoxSize / Math.max(boxWidth, boxHeight);
  const centre = centreOfMass(ink, box);
  // Where the box's top-left corner lands so the centre of mass lands on the centre of pixel
  // (14, 14), as in MNIST. Whole pixels, as MNIST shifted: a sub-pixel shift would blur the
  // strokes. Clamped so a lopsided digit (a 7's heavy bar) is moved rather than cut off.
  const originX = placeBox(centre.x - box.left, boxWidth, scale);
  const originY = placeBox(centre.y - box.top, boxHeight, scale);
  const field = new Float32Array(kFieldSize * kFieldSize);
  // Weight of each source pixel per field pixel it covers: area overlap / field pixel area (1).
  const cols = coverage(box.left, box.right, scale, originX);
  const rows = coverage(box.top, box.bottom, scale, originY);
  for (const row of rows) {
    for (const col of cols) {
      const v = ink.data[row.source * ink.width + col.source]!;
      if (v > 0) field[row.target * kFieldSize + col.target]! += v * row.weight * col.weight;
    }
  }
  // Summation can overshoot 1 by a rounding error; intensities must stay in [0, 1].
  for (let i = 0; i < field.length; i++) field[i] = Math.min(1, field[i]!);
  return field;
}

/**
 * The smallest box holding every pixel with ink, or null when there is none.
 *
 * @example
 * inkBox({ width: 3, height: 1, data: [0, 1, 0] }); // { left: 1, top: 0, right: 2, bottom: 1 }
 */
export function inkBox(ink: InkImage): InkBox | null {
  let left = ink.width;
  let top = ink.height;
  let right = 0;
  let bottom = 0;
  for (let y = 0; y < ink.height; y++) {
    for (let x = 0; x < ink.width; x++) {
      if (ink.data[y * ink.width + x]! > 0) {
        left = Math.min(left, x);
        right = Math.max(right, x + 1);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y + 1);
      }
    }
  }
  return right > left ? { left, top, right, bottom } : null;
}

/**
 * Centre of mass of the ink in the box, in source coordinates (pixel centres at +0.5).
 *
 * @example
 * const ink = { width: 3, height: 1, data: [0, 1, 0] };
 * centreOfMass(ink, inkBox(ink)!); // { x: 1.5, y: 0.5 }
 */
export function centreOfMass(ink: InkImage, box: InkBox): { x: number; y: number } {
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  for (let y = box.top; y < box.bottom; y++) {
    for (let x = box.left; x < box.right; x++) {
      const v = ink.data[y * ink.width + x]!;
      mass += v;
      sumX += v * (x + 0.5);
      sumY += v * (y + 0.5);
    }
  }
  return { x: sumX / mass, y: sumY / mass };
}

/**
 * Ink per pixel of an RGBA canvas drawn with opaque strokes on a transparent background:
 * the alpha channel, 0..1.
 *
 * @example
 * const ink = inkFromRgba(ctx.getImageData(0, 0, canvas.width, canvas.height));
 */
export function inkFromRgba(image: { width: number; height: number; data: ArrayLike<number> }): InkImage {
  const data = new Float32Array(image.width * image.height);
  for (let i = 0; i < data.length; i++) data[i] = image.data[i * 4 + 3]! / 255;
  return { width: image.width, height: image.height, data };
}

/**
 * The field padded with `pad` background pixels on every side (the classic model's 32×32
 * input), for display.
 *
 * @example
 * padField(field, 2).length; // 32 * 32
 */
export function padField(field: Float32Array, pad: number): Float32Array {
  const size = kFieldSize + 2 * pad;
  const padded = new Float32Array(size * size);
  for (let y = 0; y < kFieldSize; y++) {
    padded.set(field.subarray(y * kFieldSize, (y + 1) * kFieldSize), (y + pad) * size + pad);
  }
  return padded;
}

/** One source pixel's share of one field pixel along an axis. */
interface Span {
  readonly source: number;
  readonly target: number;
  readonly weight: number;
}

/**
 * Along one axis: source pixels [start, end) become intervals of length `scale` from
 * `origin` in the field; lists each (source, field pixel) pair that overlaps, with the
 * overlap length.
 */
function coverage(start: number, end: number, scale: number, origin: number): Span[] {
  const spans: Span[] = [];
  for (let s = start; s < end; s++) {
    const from = origin + (s - start) * scale;
    const to = from + scale;
    for (let t = Math.max(0, Math.floor(from)); t < Math.min(kFieldSize, Math.ceil(to)); t++) {
      const weight = Math.min(to, t + 1) - Math.max(from, t);
      if (weight > 0) spans.push({ source: s, target: t, weight });
    }
  }
  return spans;
}

/** Whole-pixel origin in the field for a box `size` long whose centre of mass is `centre` in. */
function placeBox(centre: number, size: number, scale: number): number {
  const origin = Math.round(kCentre - centre * scale);
  return Math.min(Math.max(origin, 0), Math.floor(kFieldSize - size * scale));
}

function checkInk(ink: InkImage): void {
  const { width, height } = ink;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`digitize: width and height must be positive integers, found ${width}×${height}`);
  }
  if (ink.data.length !== width * height) {
    throw new InputError(`digitize: expected ${width * height} ink values (${width}×${height}), found ${ink.data.length}`);
  }
}
