/**
 * WGSL that every fused kernel starts from or ends with: one activation function per layer
 * (and per scale-shift step, with the expression that applies the steps),
 * the network's shape as constants, which dense outputs are kept, the final (log-)softmax, and
 * the fingerprint that tells baked-in weights apart in the pipeline cache.
 */
import { activationWgsl, wgslFloat } from '../common.js';
import type { Activation } from '../../src/model/spec.js';
import { paddedInputSide, type FusedLayout, type FusedScaleShift } from './layout.js';

/**
 * `fn activateC1 … activateS4` (the conv and pool stages) and `activateV0 …` (each dense
 * layer): `activationWgsl` under one name per layer; and for each scale-shift step after a
 * layer, its activation as `activate{point}_{j}` (j = 1, 2, …; see `finishWgsl`).
 */
export function activationsWgsl(layout: FusedLayout): string {
  return activationPoints(layout)
    .flatMap(([point, activation, steps]) => [
      activationFn(`activate${point}`, activation),
      ...steps.map((step, j) => activationFn(`activate${point}_${j + 1}`, step.activation)),
    ])
    .join('\n');
}

/** Each point a value is activated at: its name in `activate{name}`, the activation and the scale-shift steps after it. */
function activationPoints(layout: FusedLayout): Array<[string, Activation, readonly FusedScaleShift[]]> {
  const [s1, s2] = layout.convs;
  return [
    ['C1', s1.convActivation, s1.afterConv],
    ['S2', s1.poolActivation, s1.afterPool],
    ['C3', s2.convActivation, s2.afterConv],
    ['S4', s2.poolActivation, s2.afterPool],
    ...layout.vectors.map((v, i): [string, Activation, readonly FusedScaleShift[]] => [`V${i}`, v.activation, v.after]),
  ];
}

/**
 * A value through the activation at `point` ('C1', 'S2', 'C3', 'S4', 'V{i}') and then each
 * scale-shift step after it: `activate{point}_2(fma(activate{point}_1(fma(activate{point}(value),
 * scale, shift)), …))`. `scaleShift(step)` gives the step's scale and shift for this value's
 * channel as WGSL expressions (literals in the lane kernels' conv stages, loads elsewhere).
 *
 * @example
 * finishWgsl('C1', 'sum', [], () => ['1.0', '0.0']); // 'activateC1(sum)'
 */
export function finishWgsl(
  point: string,
  value: string,
  steps: readonly FusedScaleShift[],
  scaleShift: (step: FusedScaleShift) => readonly [string, string],
): string {
  let out = `activate${point}(${value})`;
  steps.forEach((step, j) => {
    const [scale, shift] = scaleShift(step);
    out = `activate${point}_${j + 1}(fma(${out}, ${scale}, ${shift}))`;
  });
  return out;
}

/** `scaleShift` for `finishWgsl` where channel `channel`'s values are baked in as literals. */
export function literalScaleShift(packed: Float32Array, channel: number): (step: FusedScaleShift) => readonly [string, string] {
  return (step) => [wgslFloat(packed[step.scaleOffset + channel]!), wgslFloat(packed[step.shiftOffset + channel]!)];
}

/** kInputChannels, kInputSize, kPad (the first conv's padding), kPadded (the padded input's side), kClasses. */
export function constantsWgsl(layout: FusedLayout): string {
  return `const kInputChannels = ${layout.inputChannels}u;
const kInputSize = ${layout.inputSize}u;
const kPad = ${layout.convs[0].padding}u;
const kPadded = ${paddedInputSide(layout)}u;
const kClasses = ${layout.classes}u;`;
}

/** The dense layers whose outputs are kept in a vec{i} array: all but the last, unless a softmax follows. */
export function keptVectors(layout: FusedLayout): FusedLayout['vectors'] {
  return layout.softmax ? layout.vectors : layout.vectors.slice(0, -1);
}

/**
 * fn storeSoftmax(base, n, first, step): the final (log-)softmax of one image's scores,
 * source[base …], written to output row n at classes first, first + step, …. The row's
 * maximum is subtracted before exp, as the softmax kernel (shaders/softmax.ts) does.
 */
export function softmaxWgsl(source: string, log: boolean): string {
  const value = log ? `${source}[base + c] - (largest + log(total))` : `exp(${source}[base + c] - largest) / total`;
  return `
fn storeSoftmax(base: u32, n: u32, first: u32, step: u32) {
  var largest = ${source}[base];
  for (var c = 1u; c < kClasses; c++) { largest = max(largest, ${source}[base + c]); }
  var total = 0.0;
  for (var c = 0u; c < kClasses; c++) { total += exp(${source}[base + c] - largest); }
  for (var c = first; c < kClasses; c += step) { output[n * kClasses + c] = ${value}; }
}`;
}

/** FNV-1a over the packed weights' bytes: a short, stable pipeline-cache key for baked weights. */
export function weightsFingerprint(packed: Float32Array): string {
  const bytes = new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
  let hash = 0x811c9dc5;
  for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  return `${hash.toString(16)}-${packed.length}`;
}

/** `activationWgsl` under another name. */
function activationFn(name: string, activation: Activation): string {
  return activationWgsl(activation).replace('fn activate(', `fn ${name}(`);
}
