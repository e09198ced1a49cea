/**
 * Raw images → the model's input. A model takes `modelInput(spec, preprocessing)`: C planar
 * maps of size×size per image (a grey MNIST-style model: 1 × 28×28, padded to its inputSize;
 * a colour model: C × inputSize×inputSize), as bytes 0..255 or intensities in [0, 1], or RGBA
 * pixels as a canvas gives them (`ImageData`, or its bytes with `{ layout: 'rgba' }`).
 * Each channel c becomes x = background_c + (ink_c − background_c)·p (PyTorch's
 * `Normalize(mean, std)` is background = −mean/std, ink = (1 − mean)/std).
 */
import { InputError } from '../errors.js';
import { channelPreprocessing, type ModelSpec, type Preprocessing } from './spec.js';

/** Raw images, planar: C maps of size×size per image, bytes 0..255 or intensities in [0, 1] (1 = ink). */
export type Pixels = Uint8Array | Uint8ClampedArray | Float32Array | Float64Array;

/** What a canvas's `getImageData` returns (the DOM's `ImageData`, or any object of its shape). */
export interface ImageDataLike {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/** How `infer` reads its pixels: 'planar' (default: C×size×size per image) or 'rgba' (canvas bytes, size×size×4). */
export type PixelLayout = 'planar' | 'rgba';

export interface InferOptions {
  readonly layout?: PixelLayout;
}

/** The raw image a model takes (`engine.model.input`). */
export interface ModelInput {
  /** Planar maps per image: 1 for grey models, 3 for RGB. */
  readonly channels: number;
  /** Side of each map: 28 for MNIST-style grey models (padded to the input size), the input size for colour ones. */
  readonly size: number;
}

/**
 * The raw image a model takes: its input channels, and its input size less the padding its
 * preprocessing adds.
 *
 * @example
 * modelInput(seedModel, seedModel.defaultPreprocessing); // { channels: 1, size: 28 }
 */
export function modelInput(spec: ModelSpec, preprocessing: Preprocessing): ModelInput {
  return { channels: spec.inputChannels, size: spec.inputSize - 2 * preprocessing.pad };
}

/**
 * Background and ink per channel from PyTorch's `Normalize(mean, std)` (a number, or one per
 * channel): background = −mean/std, ink = (1 − mean)/std. `fail` makes the error (a description
 * and an option report differently).
 *
 * @example
 * normalizePreprocessing([0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 3, (m) => new InputError(m));
 * // { background: -1, ink: 1, perChannel: [{ background: -1, ink: 1 }, …] }
 */
export function normalizePreprocessing(
  mean: number | readonly number[],
  std: number | readonly number[],
  channels: number,
  fail: (message: string) => Error,
): Pick<Preprocessing, 'background' | 'ink' | 'perChannel'> {
  const perChannel = (value: number | readonly number[], what: string): number[] => {
    if (typeof value !== 'number' && !Array.isArray(value)) throw fail(`${what}: expected a number or a list of numbers, found ${kindOf(value)}`);
    const values: readonly number[] = typeof value === 'number' ? [value] : value;
    if (values.length !== 1 && values.length !== channels) {
      throw fail(`${what}: expected one number or one per input channel (${channels}), found ${values.length}`);
    }
    values.forEach((v, c) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(`${what}[${c}]: expected a finite number, found ${String(v)}`);
    });
    return Array.from({ length: channels }, (_, c) => values[values.length === 1 ? 0 : c]!);
  };
  const means = perChannel(mean, 'mean');
  const stds = perChannel(std, 'std');
  stds.forEach((s, c) => {
    if (!(s > 0)) throw fail(`std[${c}]: expected a positive number, found ${s}`);
  });
  const entries = means.map((m, c) => ({ background: -m / stds[c]!, ink: (1 - m) / stds[c]! }));
  const same = entries.every((e) => e.background === entries[0]!.background && e.ink === entries[0]!.ink);
  return { background: entries[0]!.background, ink: entries[0]!.ink, ...(same ? {} : { perChannel: entries }) };
}

/**
 * Checks a batch of raw planar images: the right length for `count` images of `input`
 * (default: one 28×28 grey map), and finite intensities in [0, 1] when given as floats.
 * Throws InputError saying what was expected and found.
 */
export function checkPixels(pixels: Pixels, count: number, input: ModelInput = { channels: 1, size: 28 }): void {
  // Types are erased at run time: an Int16Array would otherwise be read as bytes, and null
  // or a plain array would fail later with a TypeError instead of saying what is wrong.
  if (!isPixels(pixels)) {
    throw new InputError(
      `expected pixels as a Uint8Array or Uint8ClampedArray (0..255) or a Float32Array or Float64Array (0..1)${input.channels === 1 ? '' : ` in ${input.channels} planes`}, or an ImageData, found ${kindOf(pixels)}`,
    );
  }
  checkCount(count);
  const perImage = input.channels * input.size * input.size;
  const expected = count * perImage;
  if (pixels.length !== expected) {
    const shape = input.channels === 1 ? `${input.size}×${input.size}` : `${input.channels}×${input.size}×${input.size} planar`;
    throw new InputError(`expected ${expected} pixels (${count} × ${shape}), found ${pixels.length}`);
  }
  if (pixels instanceof Float32Array || pixels instanceof Float64Array) {
    for (let i = 0; i < pixels.length; i++) {
      const p = pixels[i]!;
      if (!(p >= 0 && p <= 1)) {
        const image = Math.floor(i / perImage);
        throw new InputError(`pixel ${i} (image ${image}) must be a finite intensity in [0, 1], found ${p}`);
      }
    }
  }
}

/**
 * Any raw input `infer` takes, as planar images of `input` and their count: planar pixels as
 * they are; RGBA pixels (`ImageData`, or bytes with `{ layout: 'rgba' }`) split into their R,
 * G and B planes for a 3-channel model, or, for a grey model, turned into ink the way the
 * demo's canvas is: the pixel composited over white and inverted, a·(1 − Y) with
 * Y = 0.299R + 0.587G + 0.114B (a dark stroke, or an opaque one on a transparent canvas, is ink).
 * Throws InputError for anything else, saying what was expected.
 *
 * @example
 * const { pixels, count } = planarImages(canvasContext.getImageData(0, 0, 32, 32), undefined, { channels: 3, size: 32 });
 */
export function planarImages(
  images: Pixels | ImageDataLike,
  count: number | undefined,
  input: ModelInput,
  options: InferOptions = {},
): { pixels: Pixels; count: number } {
  if (options === null || typeof options !== 'object') throw new InputError(`options: expected an object such as { layout: 'rgba' }, found ${kindOf(options)}`);
  const layout = options.layout ?? 'planar';
  if (layout !== 'planar' && layout !== 'rgba') throw new InputError(`options.layout: expected 'planar' or 'rgba', found ${String(layout)}`);
  if (isImageData(images)) {
    const { width, height } = images;
    if (width !== input.size || height !== input.size) {
      throw new InputError(`expected an ImageData of ${input.size}×${input.size} (the model's input), found ${width}×${height}: scale the picture to ${input.size}×${input.size} first`);
    }
    if (count !== undefined && count !== 1) throw new InputError(`an ImageData holds one image, found count ${count}`);
    return { pixels: planarFromRgba(images.data, 1, input), count: 1 };
  }
  if (count === undefined) throw new InputError(`image count: expected a positive integer with a pixel array, found nothing`);
  if (layout === 'planar') {
    checkPixels(images, count, input);
    return { pixels: images, count };
  }
  if (!(images instanceof Uint8Array || images instanceof Uint8ClampedArray)) {
    throw new InputError(`layout 'rgba': expected canvas bytes (a Uint8Array or Uint8ClampedArray, 4 per pixel), found ${kindOf(images)}`);
  }
  checkCount(count);
  const expected = count * input.size * input.size * 4;
  if (images.length !== expected) {
    throw new InputError(`layout 'rgba': expected ${expected} bytes (${count} × ${input.size}×${input.size} × 4), found ${images.length}`);
  }
  return { pixels: planarFromRgba(images, count, input), count };
}

/** RGBA bytes → planar bytes of `input` (R, G, B planes, or ink for a grey model). */
function planarFromRgba(rgba: Uint8Array | Uint8ClampedArray, count: number, input: ModelInput): Pixels {
  const area = input.size * input.size;
  if (input.channels === 3) {
    const planar = new Uint8Array(count * 3 * area);
    for (let n = 0; n < count; n++) {
      for (let i = 0; i < area; i++) {
        for (let c = 0; c < 3; c++) planar[(n * 3 + c) * area + i] = rgba[(n * area + i) * 4 + c]!;
      }
    }
    return planar;
  }
  if (input.channels === 1) {
    const ink = new Float32Array(count * area);
    for (let i = 0; i < count * area; i++) {
      const luminance = (0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!) / 255;
      ink[i] = Math.min(1, Math.max(0, (rgba[i * 4 + 3]! / 255) * (1 - luminance)));
    }
    return ink;
  }
  throw new InputError(`RGBA pixels fit a grey (1-channel) or RGB (3-channel) model; this model takes ${input.channels} channels: pass them planar`);
}

/**
 * Turns raw planar images into the model's input: x = background_c + (ink_c − background_c)·p
 * per channel c, each map padded on every side with its channel's background. Writes into `out`
 * (count × C × inputSize²) when given. `input` defaults to one 28×28 grey map.
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
  input: ModelInput = { channels: 1, size: 28 },
): Float32Array {
  checkPixels(pixels, count, input);
  const { pad } = preprocessing;
  const { channels, size: rawSize } = input;
  const size = rawSize + 2 * pad;
  const perImage = channels * size * size;
  const result = out ?? new Float32Array(count * perImage);
  if (result.length < count * perImage) {
    throw new InputError(`preprocess: output holds ${result.length} values, needs ${count * perImage}`);
  }
  const bytes = !(pixels instanceof Float32Array || pixels instanceof Float64Array);
  const affine = Array.from({ length: channels }, (_, c) => {
    const { background, ink } = channelPreprocessing(preprocessing, c);
    return { background, scale: (ink - background) / (bytes ? 255 : 1) };
  });
  for (let map = 0; map < count * channels; map++) {
    const { background, scale } = affine[map % channels]!;
    const to = map * size * size;
    const from = map * rawSize * rawSize;
    if (pad > 0) result.fill(background, to, to + size * size);
    for (let y = 0; y < rawSize; y++) {
      const row = to + (y + pad) * size + pad;
      const source = from + y * rawSize;
      for (let x = 0; x < rawSize; x++) result[row + x] = background + scale * pixels[source + x]!;
    }
  }
  return result;
}

function isPixels(value: unknown): value is Pixels {
  return value instanceof Uint8Array || value instanceof Uint8ClampedArray || value instanceof Float32Array || value instanceof Float64Array;
}

function isImageData(value: unknown): value is ImageDataLike {
  if (typeof value !== 'object' || value === null || isPixels(value)) return false;
  const v = value as Partial<ImageDataLike>;
  return v.data instanceof Uint8ClampedArray && Number.isInteger(v.width) && Number.isInteger(v.height) && v.data.length === v.width! * v.height! * 4;
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 1) {
    throw new InputError(`image count must be a positive integer, found ${count}`);
  }
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}
