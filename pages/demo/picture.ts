/**
 * A picture (a file, a drop, a camera frame) made into what a colour LeNet reads: the largest
 * square from its centre, resampled by area to the model's side, as planar RGB in [0, 1]
 * (red plane, green plane, blue plane, each row by row): the layout of a CIFAR-10 record and of
 * the engine's colour input. The model's own normalisation (e.g. the CIFAR-10 tutorial's
 * `Normalize(0.5, 0.5)`) is the engine's to apply, not the page's.
 */
import { InputError } from '../../src/errors.js';

/** RGBA pixels as a canvas gives them: `data[4 * (y * width + x) + k]`, k = R, G, B, A. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: ArrayLike<number>;
}

/** A square region of a picture, in its pixels. */
export interface Square {
  readonly left: number;
  readonly top: number;
  readonly side: number;
}

/**
 * The largest square at the centre of a width × height picture (whole pixels; an odd extra
 * pixel goes to the right or bottom margin).
 *
 * @example
 * centreSquare(640, 480); // { left: 80, top: 0, side: 480 }
 */
export function centreSquare(width: number, height: number): Square {
  const side = Math.min(width, height);
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), side };
}

/**
 * For each of `size` output pixels along one axis, the source pixels of a `side`-long span
 * it covers and how much of each (weights sum to 1): area resampling, which averages when
 * shrinking and repeats when enlarging.
 */
function coverage(side: number, size: number): Array<Array<readonly [number, number]>> {
  const step = side / size; // source pixels per output pixel
  return Array.from({ length: size }, (_, out) => {
    const from = out * step;
    const to = from + step;
    const taps: Array<readonly [number, number]> = [];
    for (let source = Math.floor(from); source < Math.min(side, Math.ceil(to)); source++) {
      const overlap = Math.min(to, source + 1) - Math.max(from, source);
      if (overlap > 0) taps.push([source, overlap / step]);
    }
    return taps;
  });
}

/**
 * The centre square of `image`, resampled by area to `size` × `size`, as `channels` planes of
 * intensities in [0, 1]: 3 gives red, green, blue; 1 gives grey (the mean of the three). Alpha
 * is ignored (draw the picture over white first to flatten transparency).
 *
 * @example
 * const context = canvas.getContext('2d')!;
 * const pixels = pictureInput(context.getImageData(0, 0, canvas.width, canvas.height), 32, 3);
 * await engine.infer(pixels, 1); // 3 × 32 × 32 floats
 */
export function pictureInput(image: RgbaImage, size: number, channels: number): Float32Array {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data.length !== width * height * 4) {
    throw new InputError(`picture: expected width × height × 4 RGBA bytes, found ${data.length} for ${width}×${height}`);
  }
  if (!(Number.isInteger(size) && size > 0)) throw new InputError(`picture: the model's side must be a positive integer, found ${size}`);
  if (channels !== 1 && channels !== 3) {
    throw new InputError(`picture: a picture gives 3 colour channels (or grey), the model reads ${channels}`);
  }
  const { left, top, side } = centreSquare(width, height);
  const taps = coverage(side, size);
  const out = new Float32Array(channels * size * size);
  const rgb = [0, 0, 0];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      rgb.fill(0);
      for (const [sy, wy] of taps[y]!) {
        for (const [sx, wx] of taps[x]!) {
          const at = 4 * ((top + sy) * width + left + sx);
          const w = (wy * wx) / 255;
          rgb[0]! += data[at]! * w;
          rgb[1]! += data[at + 1]! * w;
          rgb[2]! += data[at + 2]! * w;
        }
      }
      const pixel = y * size + x;
      if (channels === 1) out[pixel] = (rgb[0]! + rgb[1]! + rgb[2]!) / 3;
      else for (let c = 0; c < 3; c++) out[c * size * size + pixel] = Math.min(1, rgb[c]!);
    }
  }
  return out;
}

/** The picture formats a browser decodes, by their first bytes. */
const kPictureMagic: ReadonlyArray<readonly [string, readonly number[], number]> = [
  ['PNG', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0],
  ['JPEG', [0xff, 0xd8, 0xff], 0],
  ['GIF', [0x47, 0x49, 0x46, 0x38], 0], // GIF8
  ['WebP', [0x57, 0x45, 0x42, 0x50], 8], // RIFF….WEBP
  // BM, then the file size, then 4 reserved zero bytes (a safetensors file whose header is
  // 0x4d42 bytes long also starts 42 4d, but has its JSON's '{' at byte 8).
  ['BMP', [0x42, 0x4d], 0],
  ['AVIF', [0x66, 0x74, 0x79, 0x70, 0x61, 0x76, 0x69, 0x66], 4], // ….ftypavif
];

/**
 * The picture format `bytes` starts with, or null: how the page tells a dropped photo from a
 * dropped weights file (no weights format starts like these).
 *
 * @example
 * pictureFormat(new Uint8Array(await file.arrayBuffer())); // 'PNG'
 */
export function pictureFormat(bytes: Uint8Array): string | null {
  for (const [name, magic, offset] of kPictureMagic) {
    if (bytes.length >= offset + magic.length && magic.every((b, i) => bytes[offset + i] === b)) {
      if (name === 'WebP' && !(bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46)) continue;
      if (name === 'BMP' && !(bytes.length >= 10 && bytes[6] === 0 && bytes[7] === 0 && bytes[8] === 0 && bytes[9] === 0)) continue;
      return name;
    }
  }
  return null;
}
