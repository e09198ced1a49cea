/**
 * WGSL that every fused kernel starts from or ends with: one activation function per layer,
 * the network's shape as constants, which dense outputs are kept, the final (log-)softmax, and
 * the fingerprint that tells baked-in weights apart in the pipeline cache.
 */
import { activationWgsl } from '../common.js';
import type { Activation } from '../../src/model/spec.js';
import { paddedInputSide, type FusedLayout } from './layout.js';

/**
 * `fn activateC1 … activateS4` (the conv and pool stages) and `activateV0 …` (each dense
 * layer): `activationWgsl` under one name per layer.
 */
export function activationsWgsl(layout: FusedLayout): string {
  const [s1, s2] = layout.convs;
  return [
    activationFn('activateC1', s1.convActivation),
    activationFn('activateS2', s1.poolActivation),
    activationFn('activateC3', s2.convActivation),
    activationFn('activateS4', s2.poolActivation),
    layout.vectors.map((v, i) => activationFn(`activateV${i}`, v.activation)).join('\n'),
  ].join('\n');
}

/** kInputSize, kPad (the first conv's padding), kPadded (the padded input's side), kClasses. */
export function constantsWgsl(layout: FusedLayout): string {
  return `const kInputSize = ${layout.inputSize}u;
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
