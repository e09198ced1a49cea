/**
 * Draws a minibatch on the GPU: image order[step.first + n] of a dataset uploaded once (28×28
 * bytes per image, four to a u32), preprocessed as src/model/preprocess.ts does
 * (x = background + (ink − background) · byte / 255, `pad` background pixels on every side),
 * and its label. CPU reference: `preprocess` over the same images.
 *
 * With `augment`, each image is first warped by its position's affine distortion (six
 * floats from src/train/augment.ts `randomAffine`, drawn on the CPU from the seeded stream):
 * bilinear, zero outside, clamped to [0, 1], as `warpImage` does. CPU reference: `warpImage`
 * then `preprocess`.
 *
 * Mapping: one invocation per input value (n, y, x) of the [N, side, side] batch; the
 * invocation with y = x = 0 also copies image n's label. No workgroup memory.
 */
import { kImageSize, type Preprocessing } from '../src/model/spec.js';
import { wgslFloat } from './common.js';
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

export interface GatherBatchOptions extends Preprocessing {
  /** Warp each image by its affine distortion (binding 6). */
  readonly augment?: boolean;
}

/**
 * Bindings: 0 step uniform, 1 images (u32, packed bytes), 2 labels (u32), 3 order (u32),
 * 4 batch input (f32), 5 batch labels (u32), and with augment 6 affine ([count, 6] f32, by
 * position in the order).
 *
 * @example
 * const kernel = gatherBatch({ pad: 2, background: -0.1, ink: 1.175, augment: true });
 */
export function gatherBatch(options: GatherBatchOptions): TrainKernel {
  const side = kImageSize + 2 * options.pad;
  const augment = options.augment === true;
  const perImage = side * side;
  const code = elementwiseKernel({
    count: `step.count * ${perImage}u`,
    declarations: `
const kImageSize = ${kImageSize}u;
const kPad = ${options.pad}u;
const kSide = ${side}u;
const kBackground = ${wgslFloat(options.background)};
const kScale = ${wgslFloat((options.ink - options.background) / 255)};
const kInkSpan = ${wgslFloat(options.ink - options.background)};

@group(0) @binding(1) var<storage, read> images: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> batchInput: array<f32>;
@group(0) @binding(5) var<storage, read_write> batchLabels: array<u32>;
${
  augment
    ? `@group(0) @binding(6) var<storage, read> affine: array<f32>;

fn byteAt(image: u32, x: i32, y: i32) -> f32 {
  if (x < 0i || y < 0i || x >= i32(kImageSize) || y >= i32(kImageSize)) { return 0.0; }
  let byte = (image * kImageSize + u32(y)) * kImageSize + u32(x);
  return f32((images[byte / 4u] >> (8u * (byte % 4u))) & 0xffu);
}

// warpImage's bilinear sample of output pixel (x, y) under distortion m, as an intensity in [0, 1].
fn warped(image: u32, m: u32, x: u32, y: u32) -> f32 {
  let centre = f32(kImageSize - 1u) / 2.0;
  let u = f32(x) - centre - affine[m + 4u];
  let v = f32(y) - centre - affine[m + 5u];
  let sx = affine[m] * u + affine[m + 1u] * v + centre;
  let sy = affine[m + 2u] * u + affine[m + 3u] * v + centre;
  let x0 = floor(sx);
  let y0 = floor(sy);
  let fx = sx - x0;
  let fy = sy - y0;
  let ix = i32(x0);
  let iy = i32(y0);
  let value = (1.0 - fy) * ((1.0 - fx) * byteAt(image, ix, iy) + fx * byteAt(image, ix + 1i, iy)) +
    fy * ((1.0 - fx) * byteAt(image, ix, iy + 1i) + fx * byteAt(image, ix + 1i, iy + 1i));
  return clamp(value / 255.0, 0.0, 1.0);
}`
    : ''
}`,
    body: `
  let n = i / (kSide * kSide);
  let y = (i / kSide) % kSide;
  let x = i % kSide;
  let image = order[step.first + n];
  if (y == 0u && x == 0u) {
    batchLabels[n] = labels[image];
  }
  var value = kBackground;
  if (y >= kPad && y < kPad + kImageSize && x >= kPad && x < kPad + kImageSize) {
${
  augment
    ? `    value = kBackground + kInkSpan * warped(image, 6u * (step.first + n), x - kPad, y - kPad);`
    : `    let byte = (image * kImageSize + (y - kPad)) * kImageSize + (x - kPad);
    let pixel = (images[byte / 4u] >> (8u * (byte % 4u))) & 0xffu;
    value = kBackground + kScale * f32(pixel);`
}
  }
  batchInput[i] = value;`,
  });
  return { kernel: 'gather-batch', options, code, workgroups: (count) => elementwiseDispatch(count * perImage) };
}
