/**
 * npm run probe:cold [-- --weights FILE] [--rounds N]
 *
 * Where a fused plan's cold start goes, on this machine's WebGPU adapter (in Node, through
 * Dawn; SwiftShader where there is no GPU): reading and validating the weights file, the
 * layout and weight packing, generating each kernel's WGSL, creating its shader module
 * (WGSL parsed and validated by Tint) and compiling its pipeline, then the whole plan built
 * the way the engine builds it (pipelines compiled concurrently, buffers, bind groups). The
 * layered plan's build is timed beside it. Each round uses a fresh device, so no pipeline is
 * reused from an earlier round; medians are printed.
 *
 * On SwiftShader the pipelines are nearly all of it: see docs/performance.md, "Cold start".
 *
 * @example
 * npm run probe:cold
 * npm run probe:cold -- --weights weights/classic.safetensors --rounds 5
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fusedLayout, packFusedWeights } from '../shaders/fused/layout.js';
import { loadWeights } from '../src/formats/load.js';
import type { ModelWeights } from '../src/model/model-weights.js';
import { buildFusedPlan, fusedKernels } from '../src/gpu/fused-plan.js';
import { buildLayeredPlan } from '../src/gpu/layered-plan.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { percentile } from '../pages/bench/measure.js';
import { parseCommandLine, positiveInteger, runMain } from './cli.js';

const kHelp = `Times where a fused plan's cold start goes on this machine's WebGPU adapter (Node, Dawn;
SwiftShader where there is no GPU): file, packing, WGSL generation, shader module and
pipeline compile per kernel, and the whole plan as the engine builds it, beside the
layered plan. A fresh device each round; medians printed.

usage: npm run probe:cold [-- --weights FILE] [--rounds N]

  --weights FILE  a weights file the fused plan runs (default weights/seed.safetensors)
  --rounds N      rounds (default 3)
  -h, --help      this text`;

/** Milliseconds `task` takes, and its result. */
async function timed<T>(task: () => T | Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await task();
  return [performance.now() - start, result];
}

async function main(): Promise<void> {
  const { values } = parseCommandLine({
    options: {
      weights: { type: 'string', default: 'weights/seed.safetensors' },
      rounds: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(kHelp);
    return;
  }
  const rounds = positiveInteger('rounds', values.rounds);

  const rows = new Map<string, number[]>();
  const record = (label: string, ms: number) => rows.set(label, [...(rows.get(label) ?? []), ms]);
  let adapter = '';
  for (let round = 0; round < rounds; round++) {
    const { device, adapterName } = await nodeGpuDevice(`probe.cold.${round}`);
    adapter = adapterName;
    try {
      const [loadMs, weights] = await timed(() => loadWeights(new Uint8Array(readFileSync(values.weights))));
      record('read and validate the weights file', loadMs);
      const [packMs] = await timed(() => packFusedWeights(weights, fusedLayout(weights.spec)));
      record('layout and weight packing', packMs);
      const [generateMs, planned] = await timed(() => fusedKernels(device, weights, { maxBatch: 1024 }));
      record('WGSL generation, all kernels (with packing)', generateMs);
      for (const { name, kernel } of planned.kernels) {
        const kib = (kernel.code.length / 1024).toFixed(0);
        const [moduleMs, module] = await timed(async () => {
          const made = device.createShaderModule({ label: `probe.${name}`, code: kernel.code });
          await made.getCompilationInfo();
          return made;
        });
        record(`${name}: shader module (${kib} KiB of WGSL)`, moduleMs);
        const [pipelineMs] = await timed(() => device.createComputePipelineAsync({ label: `probe.${name}`, layout: 'auto', compute: { module, entryPoint: 'main' } }));
        record(`${name}: pipeline compile`, pipelineMs);
      }
    } finally {
      device.destroy();
    }
    // The plans as the engine builds them, each on a fresh device (no pipeline reused).
    for (const [label, build] of [
      ['fused plan, as built (packed kernel only: the first step of auto)', (d: GPUDevice, w: ModelWeights) => buildFusedPlan(d, w, { maxBatch: 1024, smallBatchKernel: false })],
      ['fused plan, as built (both kernels)', (d: GPUDevice, w: ModelWeights) => buildFusedPlan(d, w, { maxBatch: 1024 })],
      ['layered plan, as built', (d: GPUDevice, w: ModelWeights) => buildLayeredPlan(d, w.spec.layers, w.tensors, { maxBatch: 1024, fuseActivations: true })],
    ] as const) {
      const { device: fresh } = await nodeGpuDevice(`probe.cold.plan.${round}`);
      try {
        const weights = loadWeights(new Uint8Array(readFileSync(values.weights)));
        const [ms, plan] = await timed(() => build(fresh, weights));
        plan.destroy();
        record(label, ms);
      } finally {
        fresh.destroy();
      }
    }
  }
  console.log(`adapter: ${adapter}; ${availableParallelism()} cores; ${values.weights}; ${rounds} rounds, a fresh device each`);
  const width = Math.max(...[...rows.keys()].map((k) => k.length));
  for (const [label, ms] of rows) console.log(`${label.padEnd(width)}  median ${percentile(ms, 50).toFixed(1).padStart(8)} ms  (${ms.map((m) => m.toFixed(0)).join(', ')})`);
}

runMain('probe:cold', 'npm run probe:cold -- --help for usage', main);
