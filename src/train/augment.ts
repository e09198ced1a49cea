/**
 * Small random affine distortions of 28×28 images (rotation, scale, shear, shift), the kind
 * of planar distortion LeCun et al. 1998 trained with for their 0.8% error. The parameters are
 * drawn by the main thread from the seeded generator, so training stays deterministic however
 * many workers apply them.
 */
import { kImageSize } from '../model/spec.js';
import type { Prng } from '../model/prng.js';

/** Values per distortion: the 2×3 matrix taking output pixel coordinates to source ones. */
export const kAffineValues = 6;

/** Bounds of the random distortion. */
export interface AugmentOptions {
  /** Largest rotation, degrees. */
  readonly rotation: number;
  /** Largest relative change of scale (per axis). */
  readonly scale: number;
  /** Largest horizontal shear (x += shear·y). */
  readonly shear: number;
  /** Largest shift, pixels. */
  readonly shift: number;
}

/** Mild distortions: they keep every digit readable. */
export const kDefaultAugment: AugmentOptions = { rotation: 10, scale: 0.1, shear: 0.15, shift: 2 };

/**
 * Draws one distortion into `out` at `offset` (kAffineValues numbers).
 *
 * @example
 * const m = new Float32Array(6); randomAffine(new Prng(1), kDefaultAugment, m, 0);
 */
export function randomAffine(random: Prng, options: AugmentOptions, out: Float32Array, offset: number): void {
  const angle = (random.uniform(-options.rotation, options.rotation) * Math.PI) / 180;
  const sx = 1 + random.uniform(-options.scale, options.scale);
  const sy = 1 + random.uniform(-options.scale, options.scale);
  const shear = random.uniform(-options.shear, options.shear);
  const dx = random.uniform(-options.shift, options.shift);
  const dy = random.uniform(-options.shift, options.shift);
  // Forward map: p' = R·Shear·S·(p − centre) + centre + d; we store its inverse, since warping
  // asks, for each output pixel, where it comes from.
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const a = cos * sx;
  const b = (cos * shear - sin) * sy;
  const c = sin * sx;
  const d = (sin * shear + cos) * sy;
  const det = a * d - b * c;
  out[offset] = d / det;
  out[offset + 1] = -b / det;
  out[offset + 2] = -c / det;
  out[offset + 3] = a / det;
  out[offset + 4] = dx;
  out[offset + 5] = dy;
}

/**
 * Warps one 28×28 byte image by a distortion from `randomAffine`, bilinear, zero outside,
 * writing intensities in [0, 1] into `out` (784 values).
 */
export function warpImage(pixels: Uint8Array, matrix: Float32Array, offset: number, out: Float32Array): void {
  const size = kImageSize;
  const centre = (size - 1) / 2;
  const [ia, ib, ic, id, dx, dy] = [0, 1, 2, 3, 4, 5].map((i) => matrix[offset + i]!) as [number, number, number, number, number, number];
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= size || y >= size ? 0 : pixels[y * size + x]!);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x - centre - dx;
      const v = y - centre - dy;
      const sx = ia * u + ib * v + centre;
      const sy = ic * u + id * v + centre;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const value =
        (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      out[y * size + x] = Math.min(1, Math.max(0, value / 255));
    }
  }
}
