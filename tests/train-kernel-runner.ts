/**
 * Runs one training kernel (shaders/*-backward.ts, cross-entropy.ts, optimizers.ts) on a Dawn
 * device in Node for the kernel tests: every binding from 1 gets a buffer filled with its
 * data, the step uniform gets `step`, the kernel is dispatched once per `repeat` (for the
 * optimizers' several steps, each with its own step record), and the buffers named in `read`
 * come back.
 */
import { cachedPipeline } from '../src/gpu/pipeline-cache.js';
import { scoped } from '../src/gpu/plan-resources.js';
import { kStepUniformBytes, writeStep, type StepValues, type TrainKernel } from '../shaders/elementwise.js';

/** A binding's initial contents. */
export type BindingData = Float32Array | Uint32Array;

export async function runTrainKernel(
  device: GPUDevice,
  kernel: TrainKernel,
  bindings: readonly BindingData[],
  steps: readonly StepValues[],
  read: readonly number[],
): Promise<Float32Array[]> {
  const pipeline = await cachedPipeline(device, `test.${kernel.kernel}`, kernel);
  const created: GPUBuffer[] = [];
  try {
    const buffers = bindings.map((data, k) => {
      const buffer = device.createBuffer({
        label: `test.${kernel.kernel}.binding${k + 1}`,
        size: Math.max(4, data.byteLength),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
        mappedAtCreation: true,
      });
      created.push(buffer);
      new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      buffer.unmap();
      return buffer;
    });
    const uniforms = steps.map((values) => {
      const record = new ArrayBuffer(kStepUniformBytes);
      writeStep(record, 0, values);
      const buffer = device.createBuffer({ size: kStepUniformBytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      created.push(buffer);
      device.queue.writeBuffer(buffer, 0, record);
      return buffer;
    });
    const groups = await Promise.all(
      uniforms.map((uniform) =>
        scoped(device, `test.${kernel.kernel}.bindgroup`, () =>
          device.createBindGroup({
            layout: pipeline.getBindGroupLayout(0),
            entries: [uniform, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })),
          }),
        ),
      ),
    );
    const encoder = device.createCommandEncoder();
    groups.forEach((group, s) => {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(...kernel.workgroups(steps[s]!.count));
      pass.end();
    });
    const staging = read.map((binding) => {
      const source = buffers[binding - 1]!;
      const target = device.createBuffer({ size: source.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      created.push(target);
      encoder.copyBufferToBuffer(source, 0, target, 0, source.size);
      return target;
    });
    device.queue.submit([encoder.finish()]);
    return await Promise.all(
      staging.map(async (target) => {
        await target.mapAsync(GPUMapMode.READ);
        const values = new Float32Array(target.getMappedRange().slice(0));
        target.unmap();
        return values;
      }),
    );
  } finally {
    for (const buffer of created) buffer.destroy();
  }
}

/** One step record with only the batch size set (the backward kernels read nothing else). */
export function batchStep(count: number): StepValues {
  return { count, first: 0, learningRate: 0, correction1: 1, correction2Sqrt: 1 };
}
