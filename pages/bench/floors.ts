/**
 * The floor under any WebGPU run on this browser and adapter: round trips that do no real
 * work, timed like a run (upload → readback). A batch-1 latency cannot beat them, so they are
 * printed beside it. 'nudged' sends one empty submit kNudgeAfterMs after the work, as the
 * runner does for quick runs (Chromium's GPU process otherwise notices finished work at its
 * next idle poll, ~2 ms later).
 */
import { kNudgeAfterMs } from '../../src/gpu/plan-runner.js';
import { percentile, repeat } from './measure.js';
import type { Floor } from './types.js';

/**
 * Medians and p95 of the floor round trips on `device`.
 *
 * @example
 * const floors = await measureFloors(device, false);
 */
export async function measureFloors(device: GPUDevice, quick: boolean): Promise<Floor[]> {
  const readback = device.createBuffer({ label: 'bench.floor.readback', size: 64, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const storage = device.createBuffer({ label: 'bench.floor.storage', size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const input = new Float32Array(784);
  const module = device.createShaderModule({
    label: 'bench.floor.kernel',
    code: '@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = o[0] + 1.0; }',
  });
  const pipeline = device.createComputePipeline({ label: 'bench.floor.pipeline', layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: storage } }] });
  const submit = (dispatch: boolean) => {
    device.queue.writeBuffer(storage, 16, input.subarray(0, 4));
    const encoder = device.createCommandEncoder();
    if (dispatch) {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(1);
      pass.end();
    }
    encoder.copyBufferToBuffer(storage, 0, readback, 0, 40);
    device.queue.submit([encoder.finish()]);
  };
  const read = async () => {
    await readback.mapAsync(GPUMapMode.READ, 0, 40);
    readback.unmap();
  };
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['empty submit → onSubmittedWorkDone', async () => {
      device.queue.submit([]);
      await device.queue.onSubmittedWorkDone();
    }],
    ['write + copy 40 B → mapAsync (no kernel)', async () => {
      submit(false);
      await read();
    }],
    ['write + 1-thread kernel + copy → mapAsync', async () => {
      submit(true);
      await read();
    }],
    [`same, nudged after ${kNudgeAfterMs} ms`, async () => {
      submit(true);
      const timer = setTimeout(() => device.queue.submit([]), kNudgeAfterMs);
      await read();
      clearTimeout(timer);
    }],
  ];
  try {
    const floors: Floor[] = [];
    for (const [label, task] of cases) {
      const ms = await repeat(task, { minRuns: quick ? 10 : 100, maxRuns: quick ? 20 : 300, budgetMs: quick ? 200 : 1000, warmup: 5 });
      floors.push({ label, p50: percentile(ms, 50), p95: percentile(ms, 95), samples: ms.length });
    }
    return floors;
  } finally {
    readback.destroy();
    storage.destroy();
  }
}
