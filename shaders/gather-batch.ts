/**
 * Draws a minibatch on the GPU: image order[step.first + n] of a dataset uploaded once (28×28
 * bytes per image, four to a u32), preprocessed as src/model/preprocess.ts does
 * (x = background + (ink − background) · byte / 255, `pad` background pixels on every side),
 * and its label. CPU reference: `preprocess` over the same images.
 *
 * Mapping: one invocation per input value (n, y, x) of the [N, side, side] batch; the
 * invocation with y = x = 0 also copies image n's label. No workgroup memory.
 */
import { kImageSize, type Preprocessing } from '../src/model/spec.js';
import { wgslFloat } from './common.js';
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

/**
 * Bindings: 0 step uniform, 1 images (u32, packed bytes), 2 labels (u32), 3 order (u32),
 * 4 batch input (f32), 5 batch labels (u32).
 *
 * @example
 * const kernel = gatherBatch({ pad: 2, background: -0.1, ink: 1.175 });
 */
export function gatherBatch(options: Preprocessing): TrainKernel {
  const side = kImageSize + 2 * options.pad;
  const perImage = side * side;
  const code = elementwiseKernel({
    count: `step.count * ${perImage}u`,
    declarations: `
const kImageSize = ${kImageSize}u;
const kPad = ${options.pad}u;
const kSide = ${side}u;
const kBackground = ${wgslFloat(options.background)};
const kScale = ${wgslFloat((options.ink - options.background) / 255)};

@group(0) @binding(1) var<storage, read> images: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> batchInput: array<f32>;
@group(0) @binding(5) var<storage, read_write> batchLabels: array<u32>;`,
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
    let byte = (image * kImageSize + (y - kPad)) * kImageSize + (x - kPad);
    let pixel = (images[byte / 4u] >> (8u * (byte % 4u))) & 0xffu;
    value = kBackground + kScale * f32(pixel);
  }
  batchInput[i] = value;`,
  });
  return { kernel: 'gather-batch', options, code, workgroups: (count) => elementwiseDispatch(count * perImage) };
}
