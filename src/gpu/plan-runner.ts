/**
 * Runs a Plan: write the batch size and the input, encode every step into one command
 * encoder, submit once, read back once. Staging buffers are made once and reused, so a run
 * allocates nothing on the GPU. Callers serialise runs (the engine's queue): one runner's
 * staging buffers are never shared by two runs in flight.
 */
import { GpuError, InputError } from '../errors.js';
import type { LayerName } from '../model/spec.js';
import type { Plan } from './plan.js';

/**
 * For a run of at most `plan.nudgeMaxBatch` images, the runner sends one empty submit this
 * long (ms) after its own. Chromium's GPU process notices finished work when it handles a
 * message, else at its next idle poll, ~2 ms later: at batch 1 on SwiftShader (2 cores), whose
 * kernel takes ~0.85 ms, the readback comes after ~1.8 ms with the nudge, ~2.9 ms without.
 * A nudge that arrives before the work is done makes it later (measured at batch 4, kernel
 * ~1.7 ms: 4.0 ms with it, 3.0 ms without), hence only for runs the plan knows to be quick.
 */
export const kNudgeAfterMs = 1;

export class PlanRunner {
  private readonly batchSize = new Uint32Array(1);
  private readonly outputStaging: GPUBuffer;
  private layerStaging: GPUBuffer | undefined;
  private destroyed = false;

  constructor(
    readonly device: GPUDevice,
    readonly plan: Plan,
  ) {
    this.outputStaging = device.createBuffer({
      label: `${plan.kind}.output.staging`,
      size: plan.maxBatch * plan.outputValues * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /**
   * Runs `count` ≤ maxBatch preprocessed inputs (count × plan.inputValues floats) and returns
   * count × plan.outputValues outputs.
   *
   * @example
   * const scores = await runner.run(input, 7);
   */
  async run(input: Float32Array, count: number): Promise<Float32Array> {
    const bytes = count * this.plan.outputValues * 4;
    const encoder = this.encode(input, count);
    encoder.copyBufferToBuffer(this.plan.outputBuffer, 0, this.outputStaging, 0, bytes);
    return this.submitAndRead(encoder, this.outputStaging, bytes, count <= (this.plan.nudgeMaxBatch ?? 0));
  }

  /**
   * Runs `count` inputs and returns every layer's output for them ([count, layer values]),
   * read back in one mapping. Needs a plan with `layerBuffers`.
   */
  async runLayers(input: Float32Array, count: number): Promise<Map<LayerName, Float32Array>> {
    const layers = this.plan.layerBuffers;
    if (!layers) throw new InputError(`a '${this.plan.kind}' plan keeps no per-layer buffers`);
    const total = [...layers.values()].reduce((sum, l) => sum + count * l.values * 4, 0);
    if (!this.layerStaging || this.layerStaging.size < total) {
      // Grows only: activations() for one image reuses the first one it made.
      this.layerStaging?.destroy();
      this.layerStaging = this.device.createBuffer({
        label: `${this.plan.kind}.layers.staging`,
        size: total,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    }
    const encoder = this.encode(input, count);
    let offset = 0;
    for (const { buffer, values } of layers.values()) {
      encoder.copyBufferToBuffer(buffer, 0, this.layerStaging, offset, count * values * 4);
      offset += count * values * 4;
    }
    const all = await this.submitAndRead(encoder, this.layerStaging, total, false);
    const result = new Map<LayerName, Float32Array>();
    offset = 0;
    for (const [name, { values }] of layers) {
      result.set(name, all.slice(offset / 4, offset / 4 + count * values));
      offset += count * values * 4;
    }
    return result;
  }

  /** Destroys the staging buffers (the plan is its owner's to destroy). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.outputStaging.destroy();
    this.layerStaging?.destroy();
  }

  private encode(input: Float32Array, count: number): GPUCommandEncoder {
    const { plan, device } = this;
    if (!Number.isInteger(count) || count < 1 || count > plan.maxBatch) {
      throw new InputError(`a run takes 1..${plan.maxBatch} images, found ${count}`);
    }
    if (input.length < count * plan.inputValues) {
      throw new InputError(`expected ${count * plan.inputValues} input values, found ${input.length}`);
    }
    // Popped in submitAndRead: catches errors from these writes, the encoding and the submit.
    device.pushErrorScope('validation');
    this.batchSize[0] = count;
    device.queue.writeBuffer(plan.batchBuffer, 0, this.batchSize);
    device.queue.writeBuffer(plan.inputBuffer, 0, input.buffer, input.byteOffset, count * plan.inputValues * 4);
    const encoder = device.createCommandEncoder({ label: `${plan.kind}.encoder` });
    const pass = encoder.beginComputePass({ label: `${plan.kind}.pass` });
    for (const step of plan.steps) {
      const grid = step.workgroups(count);
      if (!grid) continue;
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    }
    pass.end();
    return encoder;
  }

  private async submitAndRead(encoder: GPUCommandEncoder, staging: GPUBuffer, bytes: number, nudge: boolean): Promise<Float32Array> {
    const { device } = this;
    device.queue.submit([encoder.finish()]);
    const error = device.popErrorScope(); // popped before any await: see encode()
    let mapped: unknown;
    // See kNudgeAfterMs: an empty submit is valid at any time, so a late timer is harmless.
    const nudger = nudge ? setTimeout(() => device.queue.submit([]), kNudgeAfterMs) : undefined;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (e) {
      mapped = e;
    } finally {
      clearTimeout(nudger);
    }
    const validation = await error;
    if (validation) {
      if (!mapped) staging.unmap();
      throw new GpuError(`${this.plan.kind} run: ${validation.message}`);
    }
    if (mapped) throw mapped;
    try {
      return new Float32Array(staging.getMappedRange(0, bytes)).slice();
    } finally {
      staging.unmap();
    }
  }
}
