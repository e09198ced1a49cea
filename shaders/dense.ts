/**
 * Dense (fully connected) layer over a batch of N rows: out[n, o] = f(bias[o] + Σ_j
 * weight[o, j] · input[n, j]), weights in PyTorch's [out, in] layout: the layered plan's and
 * the training plan's forward dense layer.
 *
 * Mapping: one invocation per block of `images` rows × `outputs` consecutive outputs
 * (`DenseBlocking`); invocation i = imageBlock · outputBlocks + outputBlock, so neighbouring
 * invocations share the rows they read. Each step of 4 input features loads the block's
 * images × 4 inputs and outputs × 4 weights once and takes all images × outputs × 4 products
 * from them. A block past the batch or the last output reads clamped rows and stores nothing.
 *
 * Why blocks: see conv5x5.ts. One output per invocation makes two loads per multiply-add,
 * which on a CPU implementation are lane-by-lane gathers; a 4 × 4 block makes 32 loads per
 * 64. On a GPU its 16 sums stay in registers and neighbours' input reads coalesce.
 */
import { wgsl } from './wgsl.js';
import type { Activation } from '../src/model/spec.js';
import { activationWgsl, batchAndIndexWgsl, dispatchSize } from './common.js';
import type { KernelTarget } from './conv5x5.js';

export interface DenseOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly activation: Activation;
  /** Block sizes for this kind of device; default 'gpu'. */
  readonly target?: KernelTarget;
}

/** One invocation's block (images × outputs) and the workgroup size. */
export interface DenseBlocking {
  readonly images: number;
  readonly outputs: number;
  readonly workgroupSize: number;
}

/** Input features per unrolled step. */
const kStep = 4;

/**
 * Block sizes on a target: 4 images × up to 4 outputs on a GPU; one output per invocation on a
 * CPU implementation (see conv5x5Blocking: compile time, the plan being the first answer); 8
 * images × up to 8 outputs for 'cpu-unrolled' (half the loads per multiply-add of 4 × 4).
 *
 * @example
 * denseBlocking(10, 'gpu'); // { images: 4, outputs: 4, workgroupSize: 64 }
 */
export function denseBlocking(outFeatures: number, target: KernelTarget): DenseBlocking {
  if (target === 'cpu') return { images: 1, outputs: 1, workgroupSize: 64 };
  const side = target === 'cpu-unrolled' ? 8 : 4;
  const outputs = Math.ceil(outFeatures / Math.ceil(outFeatures / side));
  return { images: side, outputs, workgroupSize: 64 };
}

/** A dense layer's kernel: its WGSL and the workgroup grid for `count` rows. */
export interface DenseKernel {
  readonly code: string;
  readonly blocking: DenseBlocking;
  workgroups(count: number): [number, number, number];
}

/**
 * The kernel for one dense layer. Bindings: 0 batch uniform, 1 input, 2 weight, 3 bias, 4 output.
 *
 * @example
 * const { code, workgroups } = dense({ inFeatures: 400, outFeatures: 120, activation: 'sigmoid', target: 'cpu' });
 */
export function dense(options: DenseOptions): DenseKernel {
  const { inFeatures, outFeatures, activation } = options;
  const blocking = denseBlocking(outFeatures, options.target ?? 'gpu');
  const { images: B, outputs: M } = blocking;
  const outputBlocks = Math.ceil(outFeatures / M);
  const steps = Math.floor(inFeatures / kStep);
  const sums: string[] = [];
  const rows: string[] = [];
  const step = (width: number, at: string, indent: string): string[] => {
    const lines: string[] = [];
    for (let b = 0; b < B; b++) for (let j = 0; j < width; j++) lines.push(`${indent}let x${b}_${j} = input[row${b} + ${at}${j ? ` + ${j}u` : ''}];`);
    for (let m = 0; m < M; m++) for (let j = 0; j < width; j++) lines.push(`${indent}let w${m}_${j} = weight[col${m} + ${at}${j ? ` + ${j}u` : ''}];`);
    for (let b = 0; b < B; b++) {
      for (let m = 0; m < M; m++) {
        let sum = `acc[${b * M + m}]`;
        for (let j = 0; j < width; j++) sum = `fma(x${b}_${j}, w${m}_${j}, ${sum})`;
        lines.push(`${indent}acc[${b * M + m}] = ${sum};`);
      }
    }
    return lines;
  };
  for (let b = 0; b < B; b++) {
    rows.push(`  let row${b} = min(n0 + ${b}u, batch.count - 1u) * kInFeatures;`);
  }
  // The sums in one array at constant indices, not loop-carried `var`s (see conv5x5.ts).
  sums.push(`  var acc: array<f32, ${B * M}>;`);
  for (let m = 0; m < M; m++) rows.push(`  let col${m} = min(o0 + ${m}u, kOutFeatures - 1u) * kInFeatures;`);
  // Inline stores (SwiftShader inlines every WGSL call, and many make its JIT slow): a whole
  // block straight-line, a block past the batch or the last output checked value by value.
  const stores: string[] = [];
  const store = (b: number, m: number, guard: boolean) => {
    const value = `output[(n0 + ${b}u) * kOutFeatures + o0 + ${m}u] = acc[${b * M + m}];`;
    return guard ? `    if (n0 + ${b}u < batch.count && o0 + ${m}u < kOutFeatures) { ${value} }` : `    ${value}`;
  };
  stores.push(`  for (var j = 0u; j < ${B * M}u; j++) {`);
  stores.push(`    acc[j] = activate(acc[j] + bias[min(o0 + j % ${M}u, kOutFeatures - 1u)]);`);
  stores.push('  }');
  for (const guard of [false, true]) {
    stores.push(guard ? '  } else {' : `  if (n0 + ${B}u <= batch.count && o0 + ${M}u <= kOutFeatures) {`);
    for (let b = 0; b < B; b++) for (let m = 0; m < M; m++) stores.push(store(b, m, guard));
  }
  stores.push('  }');
  const remainder = inFeatures - steps * kStep;

  const code = wgsl`
${batchAndIndexWgsl(blocking.workgroupSize)}
${activationWgsl(activation)}

const kInFeatures = ${inFeatures}u;
const kOutFeatures = ${outFeatures}u;
const kOutputBlocks = ${outputBlocks}u;

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32, ${inFeatures * outFeatures}>;
@group(0) @binding(3) var<storage, read> bias: array<f32, ${outFeatures}>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(kWorkgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let i = flatIndex(workgroup, workgroups, local);
  let n0 = (i / kOutputBlocks) * ${B}u;
  if (n0 >= batch.count) { return; }
  let o0 = (i % kOutputBlocks) * ${M}u;
${rows.join('\n')}
${sums.join('\n')}
  for (var j = 0u; j < ${steps * kStep}u; j += ${kStep}u) {
${step(kStep, 'j', '    ').join('\n')}
  }
#if ${remainder > 0}
${step(remainder, `${steps * kStep}u`, '  ').join('\n')}
#endif
${stores.join('\n')}
}
`;
  return {
    code,
    blocking,
    workgroups: (count) => dispatchSize(Math.ceil(count / B) * outputBlocks, blocking.workgroupSize),
  };
}
