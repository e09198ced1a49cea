import { InputError } from '../errors.js';
import { kImageSize, type Preprocessing } from './spec.js';

/** Raw images: 28×28 per image, bytes 0..255 or intensities in [0, 1] (1 = ink). */
export type Pixels = Uint8Array | Uint8ClampedArray | Float32Array | Float64Array;

/**
 * Checks a batch of raw images: the right length for `count`, and finite intensities in
 * [0, 1] when given as floats. Throws InputError saying what was expected and found.
 */
export function checkPixels(pixels: Pixels, count: number): void {
  // Types are erased at run time: an Int16Array would otherwise be read as bytes, and null
  // or a plain array would fail later with a TypeError instead of saying what is wrong.
  if (!(pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray || pixels instanceof Float32Array || pixels instanceof Float64Array)) {
    throw new InputError(
      `expected pixels as a Uint8Array or Uint8ClampedArray (0..255) or a Float32Array or Float64Array (0..1), found ${kindOf(pixels)}`,
    );
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new InputError(`image count must be a positive integer, found ${count}`);
  }
  const expected = count * kImageSize * kImageSize;
  if (pixels.length !== expected) {
    throw new InputError(
      `expected ${expected} pixels (${count} × ${kImageSize}×${kImageSize}), found ${pixels.length}`,
    );
  }
  if (pixels instanceof Float32Array || pixels instanceof Float64Array) {
    for (let i = 0; i < pixels.length; i++) {
      const p = pixels[i]!;
      if (!(p >= 0 && p <= 1)) {
        const image = Math.floor(i / (kImageSize * kImageSize));
        throw new InputError(`pixel ${i} (image ${image}) must be a finite intensity in [0, 1], found ${p}`);
      }
    }
  }
}

/**
 * Turns raw 28×28 images into the model's input: x = background + (ink − background)·p,
 * padded on every side with background. Writes into `out` (count × inputSize²) when given.
 *
 * @example
 * const input = preprocess(mnistBytes, 1, { pad: 2, background: -0.1, ink: 1.175 });
 * input.length; // 32 * 32
 */
export function preprocess(
  pixels: Pixels,
  count: number,
  preprocessing: Preprocessing,
  out?: Float32Array,
): Float32Array {
  checkPixels(pixels, count);
  const { pad, background, ink } = preprocessing;
  const size = kImageSize + 2 * pad;
  const input = out ?? new Float32Array(count * size * size);
  if (input.length < count * size * size) {
    throw new InputError(`preprocess: output holds ${input.length} values, needs ${count * size * size}`);
  }
  const scale = (ink - background) / (pixels instanceof Float32Array || pixels instanceof Float64Array ? 1 : 255);
  for (let n = 0; n < count; n++) {
    const image = input.subarray(n * size * size, (n + 1) * size * size);
    if (pad > 0) image.fill(background);
    for (let y = 0; y < kImageSize; y++) {
      for (let x = 0; x < kImageSize; x++) {
        const p = pixels[(n * kImageSize + y) * kImageSize + x]!;
        image[(y + pad) * size + x + pad] = background + scale * p;
      }
    }
  }
  return input;
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}
