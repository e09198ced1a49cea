/**
 * GPU time per kernel: the plan an engine would build, each step in its own compute pass.
 * With `timestamp-query` on the device, each pass writes begin/end timestamps (GPU time of
 * that kernel alone); without it, each step is submitted alone and timed from submit to
 * `onSubmittedWorkDone` (labelled 'wall': it includes the submit round trip).
 *
 * This reaches below the public API on purpose: per-kernel figures need the plan's steps.
 */
import type { ModelWeights } from '../../src/index.js';
import type { Plan } from '../../src/gpu/plan.js';
import { planBuilder, type PlanKind } from '../../src/gpu/plans.js';
import { percentile } from './measure.js';
import type { KernelTimes } from './types.js';

/**
 * Median GPU time of each step of a `kind` plan at `batch` images, over `runs` runs.
 *
 * @example
 * const times = await kernelTimes(device, weights, 'layered', 1024, 10);
 */
export async function kernelTimes(device: GPUDevice, weights: ModelWeights, kind: PlanKind, batch: number, runs: number): Promise<KernelTimes> {
  const built = await planBuilder(kind)(device, weights, { maxBatch: batch, fuseActivations: true });
  // Only the steps that run at this batch size (a fused plan keeps a small-batch kernel too).
  const plan = { ...built, steps: built.steps.filter((s) => s.workgroups(batch)) };
  try {
    device.queue.writeBuffer(plan.batchBuffer, 0, new Uint32Array([batch]));
    // Any finite input will do: the kernels' cost does not depend on the values.
    const input = new Float32Array(batch * plan.inputValues).map((_, i) => (i % 255) / 255);
    device.queue.writeBuffer(plan.inputBuffer, 0, input);
    const timer = device.features.has('timestamp-query') ? 'timestamp-query' : 'wall';
    const samples = plan.steps.map(() => [] as number[]);
    const runner = timer === 'timestamp-query' ? timestampRun(device, plan) : { run: wallRun(device, plan), destroy() {} };
    try {
      await runner.run(); // warm-up
      for (let r = 0; r < runs; r++) {
        const ms = await runner.run();
        ms.forEach((t, i) => samples[i]!.push(t));
      }
    } finally {
      runner.destroy();
    }
    const kernels = plan.steps.map((step, i) => ({ label: step.label, ms: percentile(samples[i]!, 50) }));
    return { batch, timer, kernels, totalMs: kernels.reduce((s, k) => s + k.ms, 0) };
  } finally {
    built.destroy();
  }
}

/** One run with a timestamp pair per step; resources are made once and reused. */
function timestampRun(device: GPUDevice, plan: Plan): { run: () => Promise<number[]>; destroy(): void } {
  const count = plan.steps.length * 2;
  const querySet = device.createQuerySet({ label: 'bench.timestamps', type: 'timestamp', count });
  const resolve = device.createBuffer({ label: 'bench.timestamps.resolve', size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ label: 'bench.timestamps.read', size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const batch = plan.maxBatch;
  const destroy = () => {
    querySet.destroy();
    resolve.destroy();
    read.destroy();
  };
  const run = async () => {
    const encoder = device.createCommandEncoder({ label: 'bench.kernels' });
    plan.steps.forEach((step, i) => {
      const pass = encoder.beginComputePass({
        label: step.label,
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      pass.dispatchWorkgroups(...step.workgroups(batch)!);
      pass.end();
    });
    encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, count * 8);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const ns = new BigInt64Array(read.getMappedRange().slice(0));
    read.unmap();
    return plan.steps.map((_, i) => Number(ns[2 * i + 1]! - ns[2 * i]!) / 1e6);
  };
  return { run, destroy };
}

/** One run, each step submitted alone and timed to onSubmittedWorkDone. */
function wallRun(device: GPUDevice, plan: Plan): () => Promise<number[]> {
  const batch = plan.maxBatch;
  return async () => {
    const ms: number[] = [];
    for (const step of plan.steps) {
      const encoder = device.createCommandEncoder({ label: `bench.${step.label}` });
      const pass = encoder.beginComputePass({ label: step.label });
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      pass.dispatchWorkgroups(...step.workgroups(batch)!);
      pass.end();
      const t = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      ms.push(performance.now() - t);
    }
    return ms;
  };
}
