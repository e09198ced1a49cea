/**
 * What the two lane kernels (lanes-packed.ts, lanes-split.ts) share: the fused network for
 * CPU implementations of WebGPU (SwiftShader). A CPU runs 4 invocations as the 4 SIMD lanes
 * of one instruction stream, which sets the rules both are written to:
 *
 * - Activations in `private` (packed) or `workgroup` (split) arrays, which the implementation
 *   lays out lane-interleaved: a constant index is one vector load, but a loop-indexed one is
 *   a lane-by-lane gather, 7× or more the cost (`npm run probe:loads`), so each loaded value
 *   is made to feed as many multiply-adds as possible.
 * - Straight-line `let` chains, not `var` accumulators (a `var` is a masked store to memory).
 * - The conv weights, coefficients and biases are baked into the code as literals: a literal
 *   costs nothing, while every storage-buffer load is a gather too. The loops run over
 *   positions; each body is every map's kernels at one position.
 * - The dense layers (dense.ts) read [out/4][in][4] weight blocks from the buffer.
 *
 * Bindings as in layout.ts, less the f32 view of the weights (the conv weights are literals).
 * Here: the module's start (constants, bindings, arrays, loadImage), the conv sums as let
 * chains, and how a pooling window becomes its value.
 */
import { batchAndIndexWgsl, wgslFloat } from '../common.js';
import { kFusedBinding, paddedInputSide, paddedMapSide, type FusedConvStage, type FusedLayout } from './layout.js';
import { activationsWgsl, constantsWgsl, finishWgsl, keptVectors, literalScaleShift } from './shared.js';

/** Threads per workgroup of both lane kernels: one SIMD group of a 4-wide CPU implementation. */
export const kLaneWorkgroupSize = 4;

/** The bindings the lane kernels declare. */
export const kLaneBindings: readonly number[] = [kFusedBinding.batch, kFusedBinding.weightBlocks, kFusedBinding.input, kFusedBinding.output];

export interface LaneModuleOptions {
  /** Images whose features and dense outputs the arrays hold (K). */
  readonly images: number;
  /** Where the arrays live: one invocation's own, or the workgroup's shared ones. */
  readonly space: 'private' | 'workgroup';
  /** `enable subgroups;` (the packed kernel's shared dense loads). */
  readonly subgroups: boolean;
  /** loadImage(n, lane) copies rows firstRow, firstRow + rowStep, … (WGSL expressions). */
  readonly firstRow: string;
  readonly rowStep: string;
}

/**
 * The lane kernels' start: constants, bindings, the arrays (padded input maps; first stage's maps,
 * kept with the second conv's zero padding; K images' features; the dense outputs kept), and
 * `fn loadImage(n, lane)`. Arrays start zeroed, so the borders are the padding.
 */
export function laneModuleStart(layout: FusedLayout, o: LaneModuleOptions): string {
  const [s1, s2] = layout.convs;
  const padded = paddedInputSide(layout);
  const mapSide = paddedMapSide(layout);
  const K = o.images;
  const features = s2.outChannels * s2.poolSize * s2.poolSize;
  return `${o.subgroups ? 'enable subgroups;\n' : ''}
${batchAndIndexWgsl(kLaneWorkgroupSize)}
${activationsWgsl(layout)}

const kK = ${K}u;
${constantsWgsl(layout)}

@group(0) @binding(${kFusedBinding.weightBlocks}) var<storage, read> wv: array<vec4f>;
@group(0) @binding(${kFusedBinding.input}) var<storage, read> input: array<f32>;
@group(0) @binding(${kFusedBinding.output}) var<storage, read_write> output: array<f32>;

// One image at a time through the conv stages; the dense stages take all K at once.
var<${o.space}> img: array<f32, ${layout.inputChannels * padded * padded}>;
var<${o.space}> act1: array<f32, ${s1.outChannels * mapSide * mapSide}>;
var<${o.space}> act2: array<f32, ${K * features}>;
${keptVectors(layout).map((v, i) => `var<${o.space}> vec${i}: array<f32, ${K * v.paddedOut}>;`).join('\n')}

/**
 * Image n's kInputChannels planar maps into img's interiors (rows lane, lane+L, … of each when
 * split); the zero borders (private and workgroup memory start zeroed) are the padding.
 */
fn loadImage(n: u32, lane: u32) {
  for (var c = 0u; c < kInputChannels; c++) {
    let source = (n * kInputChannels + c) * kInputSize * kInputSize;
    let to = c * kPadded * kPadded;
    for (var y = ${o.firstRow}; y < kInputSize; y += ${o.rowStep}) {
      for (var x = 0u; x < kInputSize; x++) {
        img[to + (y + kPad) * kPadded + x + kPad] = input[source + y * kInputSize + x];
      }
    }
  }
}`;
}

/** `let out = fma(x0, w0, fma(x1, w1, … bias))` as a chain of lets; returns the last name. */
export function chain(lines: string[], name: string, start: string, terms: Array<[string, number]>, indent = ''): string {
  let prev = start;
  terms.forEach(([x, w], t) => {
    const next = `${name}_${t}`;
    lines.push(`${indent}    let ${next} = fma(${x}, ${wgslFloat(w)}, ${prev});`);
    prev = next;
  });
  return prev;
}

/**
 * The first stage's body at one pooled position: the 6×6 patch under its 2×2 window of each
 * input map the table reads (p{c}_{r}_{x} = `patch(c, r, x)`), then for each map the four
 * conv sums over its inputs, their activations (and scale-shift steps) and the pooling, stored
 * to act1 at `to` (its name, or 'at' where the maps have no padding) of the map.
 * `storeIndex`: the `let to = …` line when the second conv pads.
 */
export function stage1Body(
  stage: FusedConvStage,
  packed: Float32Array,
  mapSide: number,
  patch: (c: number, r: number, x: number) => string,
  storeIndex: string | undefined,
): string[] {
  const lines: string[] = [];
  if (storeIndex) lines.push(storeIndex);
  for (const c of usedInputs(stage)) {
    for (let r = 0; r < 6; r++) {
      for (let x = 0; x < 6; x++) lines.push(`    let p${c}_${r}_${x} = ${patch(c, r, x)};`);
    }
  }
  let kernel = 0;
  stage.table.forEach((inputs, o) => {
    const bias = wgslFloat(packed[stage.biasOffset + o]!);
    const first = kernel;
    kernel += inputs.length;
    const window: string[] = [];
    for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
      const terms: Array<[string, number]> = [];
      inputs.forEach((c, i) => {
        for (let ky = 0; ky < 5; ky++) {
          for (let kx = 0; kx < 5; kx++) terms.push([`p${c}_${ky + dy}_${kx + dx}`, packed[stage.weightOffset + (first + i) * 25 + ky * 5 + kx]!]);
        }
      });
      window.push(finishWgsl('C1', chain(lines, `m${o}_${dy}${dx}`, bias, terms), stage.afterConv, literalScaleShift(packed, o)));
    }
    lines.push(`    act1[${o * mapSide * mapSide}u + ${storeIndex ? 'to' : 'at'}] = ${finishWgsl('S2', pooled(stage, packed, o, window), stage.afterPool, literalScaleShift(packed, o))};`);
  });
  return lines;
}

/** The input maps the second stage's table reads, ascending. */
export function usedInputs(stage: FusedConvStage): number[] {
  return [...new Set(stage.table.flat())].sort((a, b) => a - b);
}

/**
 * For each map of the second stage: its conv sum over its table's inputs at horizontal offset
 * dx (inputs named p{c}_{ky}_{kx + dx}), activated and taken into window{o}.
 */
export function mapSums(stage: FusedConvStage, packed: Float32Array, dx: number, lines: string[], indent = ''): void {
  let kernel = 0;
  stage.table.forEach((inputs, o) => {
    const terms: Array<[string, number]> = [];
    for (const c of inputs) {
      for (let t = 0; t < 25; t++) {
        terms.push([`p${c}_${Math.floor(t / 5)}_${(t % 5) + dx}`, packed[stage.weightOffset + kernel * 25 + t]!]);
      }
      kernel++;
    }
    const sum = chain(lines, `m${o}_${dx}`, wgslFloat(packed[stage.biasOffset + o]!), terms, indent);
    const value = finishWgsl('C3', sum, stage.afterConv, literalScaleShift(packed, o));
    lines.push(stage.poolMode === 'max' ? `${indent}    window${o} = max(window${o}, ${value});` : `${indent}    window${o} += ${value};`);
  });
}

/** `var window{o} = start;` (or the reset, without `var`) for every map of the second stage. */
export function windowStarts(stage: FusedConvStage, indent: string, declare: boolean): string {
  const start = stage.poolMode === 'max' ? kLowestF32 : '0.0';
  return Array.from({ length: stage.outChannels }, (_, o) => `${indent}${declare ? 'var ' : ''}window${o} = ${start};`).join('\n');
}

/** Every map's window, pooled and activated (and scale-shifted), into image slot k of act2 at pooled position `at`. */
export function poolStores(stage: FusedConvStage, packed: Float32Array, features: number, at: string, indent: string): string {
  const pool = stage.poolSize;
  return Array.from(
    { length: stage.outChannels },
    (_, o) =>
      `${indent}act2[k * ${features}u + ${o * pool * pool}u + ${at}] = ${finishWgsl('S4', pooled(stage, packed, o, [`window${o}`]), stage.afterPool, literalScaleShift(packed, o))};`,
  ).join('\n');
}

/**
 * What a pooling window of map o becomes before the pool's activation. `window`: its four
 * activated conv values, or one running value (the sum, or for max pooling the largest).
 */
export function pooled(stage: FusedConvStage, packed: Float32Array, o: number, window: readonly string[]): string {
  if (stage.poolMode === 'max') return window.length === 4 ? `max(max(${window[0]}, ${window[1]}), max(${window[2]}, ${window[3]}))` : window[0]!;
  return `fma(${window.join(' + ')}, ${wgslFloat(packed[stage.coefficientOffset + o]!)}, ${wgslFloat(packed[stage.poolBiasOffset + o]!)})`;
}

/** −(largest finite f32), written exactly: where a running maximum starts. */
const kLowestF32 = '-3.4028234663852886e+38';
