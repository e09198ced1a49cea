/**
 * `trainer.engine()` (src/train/gpu-trainer.ts, src/gpu/snapshot-plan.ts): an inference engine
 * over the trained weights, copied GPU to GPU. Its answers must equal, bit for bit, those of an
 * engine made from `exportWeights()` at the same step: both run the layered plan's kernels on
 * the same device over the same float32 weights, so any difference is a wrong or stale copy.
 * It is a snapshot: more training leaves its answers as they were, a new snapshot follows the
 * weights, and it outlives the trainer (not the device: recover() is refused).
 */
import { expect, test } from '@playwright/test';
import type { InferenceEngine } from '../src/engine-api.js';
import { DeviceLostError } from '../src/errors.js';
import { loadWeights } from '../src/formats/load.js';
import { WebGpuEngine } from '../src/gpu/engine.js';
import { buildArchitecture } from '../src/model/architecture.js';
import { presetModel } from '../src/model/presets.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { createTrainer, type GpuTrainer } from '../src/train/gpu-trainer.js';
import { loadMnist } from '../src/train/mnist.js';

const spec = buildArchitecture({
  inputSize: 28,
  layers: [
    { type: 'pool', mode: 'average' },
    { type: 'conv', outChannels: 4, activation: 'relu' },
    { type: 'pool', mode: 'max' },
    { type: 'dense', outFeatures: 10 },
  ],
});
const trainSet = loadMnist('train', 96);
const probe = loadMnist('t10k', 37); // a prime count: not a multiple of any workgroup

async function scoresOf(engine: InferenceEngine): Promise<Float32Array> {
  return (await engine.infer(probe.images, probe.count)).scores;
}

async function exportedScores(device: GPUDevice, trainer: GpuTrainer): Promise<Float32Array> {
  const engine = await WebGpuEngine.create(loadWeights(await trainer.exportWeights()), { device, plan: 'layered', maxBatch: 64 });
  try {
    return await scoresOf(engine);
  } finally {
    engine.destroy();
  }
}

function expectSame(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  const differ = [...got.keys()].filter((i) => got[i] !== want[i]);
  const shown = differ.slice(0, 4).map((i) => `image ${Math.floor(i / 10)} class ${i % 10}: ${got[i]} vs ${want[i]}`);
  expect(differ.length, `${what}: ${differ.length} scores differ, first ${shown.join('; ')}`).toBe(0);
}

test('the snapshot engine answers as an engine made from exportWeights(), and keeps its weights while training goes on', async () => {
  const { device } = await nodeGpuDevice('train-engine.device');
  try {
    const trainer = await createTrainer(spec, { device, train: trainSet, seed: 3, batch: 16, optimizer: 'sgd', lr: 0.1, momentum: 0.9 });
    await trainer.step(4);
    const snapshot = await trainer.engine({ maxBatch: 64 });
    expect(snapshot.plan).toBe('layered');
    expect(snapshot.weights.metadata['lenet5.train.steps']).toBe('4');
    const atStep4 = await scoresOf(snapshot);
    expectSame(atStep4, await exportedScores(device, trainer), 'snapshot vs exported at step 4');

    await trainer.step(4);
    const later = await exportedScores(device, trainer);
    expect(later.some((v, i) => v !== atStep4[i]), 'four more steps changed the weights').toBe(true);
    expectSame(await scoresOf(snapshot), atStep4, 'the snapshot after more training');
    const fresh = await trainer.engine({ maxBatch: 64 });
    expectSame(await scoresOf(fresh), later, 'a new snapshot vs exported at step 8');

    trainer.destroy();
    expectSame(await scoresOf(fresh), later, 'a snapshot after trainer.destroy()');
    const activations = await fresh.activations(probe.images.subarray(0, 784));
    expect(activations.map((a) => a.name)).toEqual(spec.layers.map((l) => l.name));
    expectSame(activations[activations.length - 1]!.data, later.subarray(0, 10), 'activations: last layer vs infer');
    snapshot.destroy();
    // Its weights were on the device: lost with it, and not rebuilt elsewhere.
    device.destroy();
    await expect(fresh.infer(probe.images, probe.count)).rejects.toThrow(DeviceLostError);
    await expect(fresh.recover()).rejects.toThrow(/cannot be rebuilt on a new device .*create one from saved weights/);
    fresh.destroy();
  } finally {
    device.destroy();
  }
});

test('with fixed RBF centres: the snapshot answers as the exported weights, its weights hold the centres only', async () => {
  const classic = presetModel('classic')!;
  const { device } = await nodeGpuDevice('train-engine.rbf.device');
  try {
    const trainer = await createTrainer(classic, { device, train: loadMnist('train', 8), seed: 2, batch: 4, optimizer: 'adam', lr: 1e-3 });
    await trainer.step(2);
    const engine = await trainer.engine({ maxBatch: 64 });
    expect(engine.model.output).toBe('distances');
    expectSame(await scoresOf(engine), await exportedScores(device, trainer), 'classic snapshot vs exported');
    const fixed = classic.tensors.filter((t) => !t.trainable).map((t) => t.name);
    expect(fixed.length).toBeGreaterThan(0);
    expect([...engine.weights.tensors.keys()]).toEqual(fixed);
    engine.destroy();
    trainer.destroy();
    await expect(trainer.engine()).rejects.toThrow('this trainer was destroyed');
  } finally {
    device.destroy();
  }
});
