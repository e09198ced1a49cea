/**
 * The training benchmark's trainers (pages/bench/train-solo.ts, Node host) compute the same
 * thing: from the same initial weights on the same batches, ours on the GPU, our CPU trainer
 * and tfjs (CPU backend: a tf.layers model trained with model.fit, train-tfjs.ts) report the
 * same mean loss over their timed step, and tfjs's WASM backend says why it cannot train. A
 * trainer whose network, loss or update differed would move the loss in its third digit (a
 * dense layer's rows left in PyTorch's flatten order too); float32 sums in other orders stay
 * within 1e-5 relative. The seed (sigmoid, average pooling) checks tfjs against our CPU trainer.
 */
import { expect, test } from '@playwright/test';
import { nodeTrainHost } from '../pages/bench/train-node.js';
import { trainSoloRun, type TrainEngine } from '../pages/bench/train-solo.js';

test('ours on the GPU, our CPU trainer and tfjs give the same loss on the same steps', async () => {
  test.setTimeout(120_000);
  const host = nodeTrainHost();
  const run = (engine: TrainEngine) => trainSoloRun({ engine, model: 'pytorch-tutorial', batch: 4, warmup: 1, steps: 1, lr: 0.05 }, host);
  const gpu = await run('ours-gpu');
  expect(gpu.error).toBeUndefined();
  expect(gpu.imagesPerSecond).toBeGreaterThan(0);
  for (const engine of ['ours-cpu', 'tfjs-cpu'] as const) {
    const other = await run(engine);
    expect(other.error, engine).toBeUndefined();
    expect(Math.abs(other.loss! - gpu.loss!), `${engine} loss ${other.loss} vs ours on the GPU ${gpu.loss}`).toBeLessThanOrEqual(1e-5 * gpu.loss!);
  }
  const seed = (engine: TrainEngine) => trainSoloRun({ engine, model: 'seed', batch: 4, warmup: 1, steps: 1, lr: 0.05 }, host);
  const [cpuSeed, tfjsSeed] = [await seed('ours-cpu'), await seed('tfjs-cpu')];
  expect(tfjsSeed.error).toBeUndefined();
  expect(tfjsSeed.detail).toContain('tf.layers Sequential + model.fit');
  expect(Math.abs(tfjsSeed.loss! - cpuSeed.loss!), `seed: tfjs loss ${tfjsSeed.loss} vs our CPU trainer ${cpuSeed.loss}`).toBeLessThanOrEqual(1e-5 * cpuSeed.loss!);
  const wasm = await run('tfjs-wasm');
  expect(wasm.error).toContain("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'");
});
