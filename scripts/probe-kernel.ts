/**
 * npm run probe:kernel [-- --weights FILE] [--rounds N] [--batch N] [--direct] [--parts LIST] [--profile SECONDS]
 *
 * Where the packed lane kernel's time goes (the fused plan's kernel for large batches on CPU
 * adapters: shaders/fused/lanes-packed.ts), on this machine's WebGPU adapter in Node (Dawn;
 * SwiftShader where there is no GPU). It builds the kernel as the plan does, then copies of
 * it with one part cut out of the generated WGSL (the image load, the first conv stage, both
 * conv stages, each dense layer's input loop, the activations), and runs them all on one
 * device, alternated round by round at one batch size. A part's share is 1 − 1/r, r being the
 * median over rounds of the whole kernel's time over the cut copy's. The cut copies compute
 * wrong answers on purpose: they are timed, never used.
 *
 * Parts overlap (cutting both conv stages includes the first), and a part can cost more or
 * less in place than its cut saves, so the shares are a guide: see docs/performance.md,
 * "Where the packed kernel's time goes". With --direct, the whole kernel with the direct
 * second conv (in place of Winograd's) runs beside them too: an alternative, not a cut. Each
 * variant's compile time (shader module and pipeline) is printed with its run time.
 *
 * With --profile, only the whole kernel is built, and `perf` samples it while it runs; its
 * machine code is disassembled and the samples put on its instructions (scripts/jit-profile.ts):
 * what SwiftShader's JIT makes of the kernel, by kind of instruction and hot range.
 *
 * @example
 * npm run probe:kernel
 * npm run probe:kernel -- --weights weights/classic.safetensors --rounds 21
 * npm run probe:kernel -- --weights tests/fixtures/family/caffe-lenet.onnx --rounds 5 --direct
 * npm run probe:kernel -- --profile 10
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { kFusedBinding, type FusedKernel } from '../shaders/fused/layout.js';
import { loadWeights } from '../src/formats/load.js';
import { fusedKernels } from '../src/gpu/fused-plan.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { percentile } from '../pages/bench/measure.js';
import { parseCommandLine, positiveInteger, runMain } from './cli.js';
import { jitCodeRanges, newRanges, profileReport, readCode, sampleWhile } from './jit-profile.js';

const kHelp = `Times where the packed lane kernel's time goes on this machine's WebGPU adapter (Node,
Dawn; SwiftShader where there is no GPU): the whole kernel against copies with one part cut
out, alternated round by round; medians and each part's share printed.

usage: npm run probe:kernel [-- --weights FILE] [--rounds N] [--batch N] [--direct] [--parts LIST] [--profile SECONDS]

  --weights FILE      a weights file the fused plan runs (default weights/seed.safetensors)
  --rounds N          rounds (default 15)
  --batch N           images per run (default 1024)
  --direct            also the whole kernel with the direct second conv (not Winograd's)
  --parts LIST        only the cuts whose names contain one of these words, comma-separated
                      (e.g. 'both,dense layer 0'): fewer compiles for a large model
  --profile SECONDS   the whole kernel only, sampled by perf for SECONDS while it
                      runs: its machine code by kind of instruction and hot range (Linux x64,
                      SwiftShader; needs perf and objdump)
  -h, --help          this text`;

/** One way to cut a part out of the kernel's WGSL. */
interface Cut {
  readonly part: string;
  readonly cut: (code: string) => string;
}

/**
 * `code` with `pattern` replaced, in the function `fn` when given (from its `fn name(` to the
 * next top-level `fn`); an Error when the pattern is not there, so that a change to the
 * generator cannot turn a cut into a silent no-op.
 */
function replaced(code: string, pattern: RegExp, replacement: string, fn?: string): string {
  const start = fn ? code.indexOf(`\nfn ${fn}(`) : 0;
  if (start < 0) throw new Error(`the kernel has no fn ${fn}`);
  const next = fn ? code.indexOf('\nfn ', start + 1) : -1;
  const end = next < 0 ? code.length : next;
  const part = code.slice(start, end);
  if (!pattern.test(part)) throw new Error(`${pattern} not found${fn ? ` in fn ${fn}` : ''}`);
  return code.slice(0, start) + part.replace(pattern, replacement) + code.slice(end);
}

/** The parts to cut from a kernel with `denseLayers` dense layers. */
function cuts(denseLayers: number): Cut[] {
  const identity = (name: string) => new RegExp(`(fn ${name}\\(a: f32\\) -> f32 \\{)[\\s\\S]*?\\n\\}`, 'g');
  return [
    { part: 'image load (all but its first row)', cut: (c) => replaced(c, /y < kInputSize;/, 'y < 1u;', 'loadImage') },
    { part: 'first conv stage (conv, activation, pooling)', cut: (c) => replaced(c, /\bstage1\(0u\);/, '', 'main') },
    { part: 'both conv stages', cut: (c) => replaced(replaced(c, /\bstage1\(0u\);/, '', 'main'), /\bstage2\(k, 0u\);/, '', 'main') },
    ...Array.from({ length: denseLayers }, (_, i) => ({
      part: `dense layer ${i} (its input loop cut to one step)`,
      cut: (c: string) => replaced(c, /j < \d+u; j \+= (\d+)u/, 'j < $1u; j += $1u', `vector${i}`),
    })),
    { part: "first conv's activation (→ identity)", cut: (c) => replaced(c, identity('activateC1'), '$1\n  return a;\n}') },
    { part: 'every activation (→ identity)', cut: (c) => replaced(c, identity('activate\\w+'), '$1\n  return a;\n}') },
  ];
}

/** A variant compiled, with its run times. */
interface Built {
  readonly part: string;
  readonly kernel: FusedKernel;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly ms: number[];
  /** Shader module and pipeline creation. */
  readonly compileMs: number;
}

async function main(): Promise<void> {
  const { values } = parseCommandLine({
    options: {
      weights: { type: 'string', default: 'weights/seed.safetensors' },
      rounds: { type: 'string', default: '15' },
      batch: { type: 'string', default: '1024' },
      profile: { type: 'string' },
      direct: { type: 'boolean', default: false },
      parts: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(kHelp);
    return;
  }
  const rounds = positiveInteger('rounds', values.rounds);
  const batch = positiveInteger('batch', values.batch);
  const profileSeconds = values.profile === undefined ? undefined : positiveInteger('profile', values.profile);
  const { device, adapterName } = await nodeGpuDevice('probe.kernel');
  try {
    const weights = loadWeights(new Uint8Array(readFileSync(values.weights)));
    // The packed kernel alone, as the plan builds it on a CPU adapter (the variant is forced,
    // so a GPU adapter times the same kernel).
    const planned = fusedKernels(device, weights, { maxBatch: batch, variant: 'invocation', smallBatchKernel: false });
    const whole = planned.kernels[0]!.kernel;
    const words = values.parts?.split(',').map((w) => w.trim()).filter((w) => w);
    const wanted = (part: string) => !words || words.some((w) => part.includes(w));
    const direct = fusedKernels(device, weights, { maxBatch: batch, variant: 'invocation', smallBatchKernel: false, conv2: 'direct' }).kernels[0]!.kernel;
    const variants: Array<{ part: string; kernel: FusedKernel }> = [
      { part: 'whole kernel', kernel: whole },
      ...(values.direct && !profileSeconds ? [{ part: 'whole kernel, direct second conv (not a cut)', kernel: direct }] : []),
      ...(profileSeconds ? [] : cuts(planned.layout.vectors.length).filter(({ part }) => wanted(part)).map(({ part, cut }) => ({ part, kernel: { ...whole, code: cut(whole.code) } }))),
    ];

    const inputValues = planned.layout.inputChannels * planned.layout.inputSize ** 2;
    const outputValues = planned.layout.classes;
    const buffer = (size: number, usage: number) => device.createBuffer({ label: 'probe.kernel', size, usage });
    const bound: Record<number, GPUBuffer> = {
      [kFusedBinding.batch]: buffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      [kFusedBinding.weightBlocks]: buffer(planned.packed.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST),
      [kFusedBinding.input]: buffer(batch * inputValues * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST),
      [kFusedBinding.output]: buffer(batch * outputValues * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC),
    };
    const readback = buffer(batch * outputValues * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(bound[kFusedBinding.weightBlocks]!, 0, new Float32Array(planned.packed));
    device.queue.writeBuffer(bound[kFusedBinding.batch]!, 0, new Uint32Array([batch, 0, 0, 0]));
    // Pixel-like values; the time does not depend on them.
    const input = new Float32Array(batch * inputValues);
    for (let i = 0; i < input.length; i++) input[i] = ((i * 2654435761) % 256) / 255;
    device.queue.writeBuffer(bound[kFusedBinding.input]!, 0, input);

    const built: Built[] = [];
    const codeBefore = profileSeconds ? jitCodeRanges() : [];
    for (const { part, kernel } of variants) {
      const compileStart = performance.now();
      const module = device.createShaderModule({ label: `probe.kernel.${part}`, code: kernel.code });
      const pipeline = await device.createComputePipelineAsync({ label: `probe.kernel.${part}`, layout: 'auto', compute: { module, entryPoint: 'main' } });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: kernel.bindings.map((binding) => ({ binding, resource: { buffer: bound[binding]! } })),
      });
      built.push({ part, kernel, pipeline, bindGroup, ms: [], compileMs: performance.now() - compileStart });
      console.log(`compiled ${part}: ${((performance.now() - compileStart) / 1000).toFixed(1)} s`);
    }
    const run = async (v: Built): Promise<number> => {
      const start = performance.now();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(v.pipeline);
      pass.setBindGroup(0, v.bindGroup);
      pass.dispatchWorkgroups(...v.kernel.workgroups(batch));
      pass.end();
      encoder.copyBufferToBuffer(bound[kFusedBinding.output]!, 0, readback, 0, batch * outputValues * 4);
      device.queue.submit([encoder.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      readback.unmap();
      return performance.now() - start;
    };
    for (const v of built) await run(v); // warm-up
    if (profileSeconds) {
      const code = readCode(newRanges(codeBefore, jitCodeRanges()));
      const samples = await sampleWhile(profileSeconds, async () => built[0]!.ms.push(await run(built[0]!)));
      console.log(`adapter: ${adapterName}; ${availableParallelism()} cores; ${values.weights}; batch ${batch}; ${built[0]!.ms.length} runs sampled, median ${percentile(built[0]!.ms, 50).toFixed(1)} ms`);
      for (const line of profileReport(code, samples)) console.log(line);
      return;
    }
    for (let round = 0; round < rounds; round++) {
      // Rotate the order, so that no variant always follows the same one.
      for (let i = 0; i < built.length; i++) {
        const v = built[(i + round) % built.length]!;
        v.ms.push(await run(v));
      }
    }

    const base = built[0]!;
    console.log(`adapter: ${adapterName}; ${availableParallelism()} cores; ${values.weights}; batch ${batch}; ${rounds} rounds alternated`);
    const width = Math.max(...built.map((v) => v.part.length));
    for (const v of built) {
      const ratio = percentile(v.ms.map((ms, r) => base.ms[r]! / ms), 50);
      const share = v === base ? '' : `  ratio ${ratio.toFixed(3)}  share ${((1 - 1 / ratio) * 100).toFixed(0).padStart(3)}%`;
      const compiled = `compile ${(v.compileMs / 1000).toFixed(1).padStart(5)} s, ${(v.kernel.code.length / 1e6).toFixed(2)} MB of WGSL`;
      console.log(`${v.part.padEnd(width)}  median ${percentile(v.ms, 50).toFixed(1).padStart(7)} ms${share}  (${compiled})`);
    }
  } finally {
    device.destroy();
  }
}

runMain('probe:kernel', 'npm run probe:kernel -- --help for usage', main);
