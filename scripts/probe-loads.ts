/**
 * npm run probe:loads [-- --rounds N]
 *
 * Measures what one load costs a WGSL kernel on this machine's WebGPU adapter (in Node,
 * through Dawn; SwiftShader where there is no GPU), the fact the CPU lane kernel
 * (shaders/fused/lanes.ts) is shaped around. Each probe runs the same loop of 32 loads
 * per iteration and sums them; only the index differs:
 *
 * - `constant index`: a[t], a private array read at literal offsets;
 * - `loop index, private`: a[j + t], j a loop variable (each lane's own array);
 * - `loop index, storage`: r[j + t], the same address in every lane (like a shared weight);
 * - `constant index, workgroup` / `loop index, workgroup`: w[t] / w[j + t] from a workgroup array;
 * - `constant index, storage fixed`: rf[t] from a storage array of fixed size;
 * - `constant index, storage rt`: r[t] from a runtime-sized storage array (`array<f32>`);
 * - `loop index, storage vec4`: rv[j + t], a vec4f from storage (4 floats per load);
 * - `loop index, texture r32f` / `loop index, texture rgba32f`: textureLoad at (j + t, lane),
 *   one float or four per load (a texel fetch is SwiftShader's sampler path, not a gather);
 * - `no load`: the arithmetic alone, subtracted from the others.
 *
 * Prints, per probe, the median and fastest wall time and the cost of one 4-lane load in
 * nanoseconds of one core (wall × cores ÷ loads). On SwiftShader a loop-indexed load is a
 * per-lane gather whatever the addresses turn out to be, so it costs many times a literal one.
 *
 * @example
 * npm run probe:loads
 * npm run probe:loads -- --help
 */
import { availableParallelism } from 'node:os';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { parseCommandLine, positiveInteger, runMain } from './cli.js';

/** Loads per loop iteration (the loop body is unrolled over them). */
const kLoadsPerIteration = 32;
const kIterations = 256;
const kArrayLength = 1024;
const kWorkgroupSize = 4;
const kWorkgroups = 512;

interface Probe {
  readonly name: string;
  /** WGSL for the value of load t; `j` is the loop variable. */
  readonly load: (t: number) => string;
  /** Declarations and set-up the probe needs. */
  readonly setup?: string;
  /** Floats one load brings (1 unless a vector or a texel). */
  readonly floats?: number;
}

const kProbes: readonly Probe[] = [
  { name: 'no load', load: (t) => `f32(j + ${t}u)` },
  { name: 'constant index', load: (t) => `a[${t}u] + f32(j)`, setup: fillPrivate() },
  { name: 'loop index, private', load: (t) => `a[j + ${t}u]`, setup: fillPrivate() },
  { name: 'loop index, storage', load: (t) => `r[j + ${t}u]` },
  { name: 'constant index, workgroup', load: (t) => `w[${t}u] + f32(j)`, setup: fillWorkgroup() },
  { name: 'loop index, workgroup', load: (t) => `w[j + ${t}u]`, setup: fillWorkgroup() },
  { name: 'constant index, storage fixed', load: (t) => `rf[${t}u] + f32(j)` },
  { name: 'constant index, storage rt', load: (t) => `r[${t}u] + f32(j)` },
  { name: 'loop index, storage vec4', load: (t) => `dot(rv[j + ${t}u], vec4f(1.0))`, floats: 4 },
  { name: 'loop index, texture r32f', load: (t) => `textureLoad(tx, vec2u(j + ${t}u, lid), 0).x` },
  { name: 'loop index, texture rgba32f', load: (t) => `dot(textureLoad(tq, vec2u(j + ${t}u, lid), 0), vec4f(1.0))`, floats: 4 },
];

function fillWorkgroup(): string {
  return `for (var i = lid; i < ${kArrayLength}u; i += ${kWorkgroupSize}u) { w[i] = f32(i + g.x); }\n  workgroupBarrier();`;
}

function fillPrivate(): string {
  return `for (var i = 0u; i < ${kArrayLength}u; i++) { a[i] = f32(i + g.x); }`;
}

/** The probe's kernel: kIterations iterations of kLoadsPerIteration loads and their sum. */
function probeWgsl(probe: Probe): string {
  const values = Array.from({ length: kLoadsPerIteration }, (_, t) => `    let v${t} = ${probe.load(t)};`);
  // Summed as a tree: a chain of dependent adds would time the adds' latency, not the loads.
  let sums = Array.from({ length: kLoadsPerIteration }, (_, t) => `v${t}`);
  while (sums.length > 1) sums = sums.flatMap((s, i) => (i % 2 === 1 ? [] : i + 1 < sums.length ? [`(${s} + ${sums[i + 1]})`] : [s]));
  return `
@group(0) @binding(0) var<storage, read> r: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
var<private> a: array<f32, ${kArrayLength}>;
var<workgroup> w: array<f32, ${kArrayLength}>;
@group(0) @binding(2) var<storage, read> rf: array<f32, ${kArrayLength}>;
@group(0) @binding(3) var<storage, read> rv: array<vec4f>;
@group(0) @binding(4) var tx: texture_2d<f32>;
@group(0) @binding(5) var tq: texture_2d<f32>;

@compute @workgroup_size(${kWorkgroupSize})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${probe.setup ?? ''}
  var acc = 0.0;
  for (var it = 0u; it < ${kIterations}u; it++) {
    let j = (it * 7u) % ${kArrayLength - kLoadsPerIteration}u;
${values.join('\n')}
    acc += ${sums[0]};
  }
  out[g.x] = acc;
}`;
}

const kHelp = `Measures what one load costs a WGSL kernel on this machine's WebGPU adapter (Node, Dawn;
SwiftShader where there is no GPU): a constant-index load against loop-indexed ones from a
private array and from storage, each timed over the same loop and less a no-load baseline.

usage: npm run probe:loads [-- --rounds N]

  --rounds N    timed rounds per probe, interleaved (default 15)
  -h, --help    this text

Prints, per probe, the median and fastest wall time and the cost of one 4-lane load in
nanoseconds of one core. See docs/performance.md for what the figures mean.`;

async function main(): Promise<void> {
  const { values } = parseCommandLine({ options: { rounds: { type: 'string', default: '15' }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    console.log(kHelp);
    return;
  }
  const rounds = positiveInteger('rounds', values.rounds);
  const { device, adapterName } = await nodeGpuDevice();
  const shared = device.createBuffer({ label: 'probe.r', size: kArrayLength * 4, usage: GPUBufferUsage.STORAGE });
  const out = device.createBuffer({ label: 'probe.out', size: kWorkgroups * kWorkgroupSize * 4, usage: GPUBufferUsage.STORAGE });
  const shared4 = device.createBuffer({ label: 'probe.rv', size: kArrayLength * 16, usage: GPUBufferUsage.STORAGE });
  const textureSize = [kArrayLength, kWorkgroupSize];
  const tx = device.createTexture({ label: 'probe.tx', size: textureSize, format: 'r32float', usage: GPUTextureUsage.TEXTURE_BINDING });
  const tq = device.createTexture({ label: 'probe.tq', size: textureSize, format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING });
  const layout = device.createBindGroupLayout({
    label: 'probe.layout',
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
      { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 4, visibility: GPUShaderStage.COMPUTE, texture: { sampleType: 'unfilterable-float' } },
      { binding: 5, visibility: GPUShaderStage.COMPUTE, texture: { sampleType: 'unfilterable-float' } },
    ],
  });
  const bindGroup = device.createBindGroup({
    label: 'probe.bindGroup',
    layout,
    entries: [
      { binding: 0, resource: { buffer: shared } },
      { binding: 1, resource: { buffer: out } },
      { binding: 2, resource: { buffer: shared } },
      { binding: 3, resource: { buffer: shared4 } },
      { binding: 4, resource: tx.createView() },
      { binding: 5, resource: tq.createView() },
    ],
  });
  const runs = await Promise.all(
    kProbes.map(async (probe) => {
      const pipeline = await device.createComputePipelineAsync({
        label: `probe.${probe.name}`,
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module: device.createShaderModule({ code: probeWgsl(probe) }), entryPoint: 'main' },
      });
      return { probe, pipeline, times: [] as number[] };
    }),
  );
  const run = async (pipeline: GPUComputePipeline) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(kWorkgroups);
    pass.end();
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - start;
  };
  for (const r of runs) await run(r.pipeline); // warm-up
  // Interleaved rounds, so drift in the machine's speed falls on every probe alike.
  for (let round = 0; round < rounds; round++) for (const r of runs) r.times.push(await run(r.pipeline));

  const cores = availableParallelism();
  const simdLoads = ((kWorkgroups * kWorkgroupSize) / 4) * kIterations * kLoadsPerIteration;
  const fastest = (times: number[]) => Math.min(...times);
  const baseline = fastest(runs[0]!.times);
  console.log(`adapter: ${adapterName}; ${cores} cores; ${simdLoads} 4-lane loads per probe; ${rounds} rounds`);
  for (const { probe, times } of runs) {
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const perLoad = ((fastest(times) - baseline) * 1e6 * cores) / simdLoads;
    const floats = probe.floats ?? 1;
    const cost = probe === kProbes[0] ? '(baseline)' : `${perLoad.toFixed(2)} ns per 4-lane load${floats > 1 ? ` (${floats} floats a lane: ${(perLoad / floats).toFixed(2)} ns per float)` : ''}`;
    console.log(`${probe.name.padEnd(29)} median ${median.toFixed(2).padStart(7)} ms  fastest ${fastest(times).toFixed(2).padStart(7)} ms  ${cost}`);
  }
  device.destroy();
}

runMain('probe:loads', 'npm run probe:loads -- --help for usage', main);
