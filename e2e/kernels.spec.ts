/**
 * Each WGSL kernel against its CPU reference (src/reference/layers.ts) on seeded random
 * inputs, batch sizes 1, 7 and 257, with the activation fused, standalone, and absent (conv and
 * dense layers also with the blocks sized for a GPU, as well as for this CPU adapter);
 * tolerance |got − ref| ≤ 1e-5 + 1e-4·|ref|.
 */
import { test, type Page } from '@playwright/test';
import { kC3ConnectionTable } from '../src/model/presets.js';
import { layerActivation, type Activation, type LayerSpec } from '../src/model/spec.js';
import { expectAllWithin, openHarness } from './gpu-page.js';

const kBatches = [1, 7, 257];

/** Layers covering every kernel variant, LeNet's own shapes and awkward ones. */
const kLayers: ReadonlyArray<{ title: string; layer: LayerSpec }> = [
  { title: 'conv5x5 classic C1 (1→6, 32×32, no padding)',
    layer: { kind: 'conv5x5', name: 'C1', inChannels: 1, outChannels: 6, inSize: 32, padding: 0, outSize: 28, activation: 'sigmoid', weight: 'w', bias: 'b' } },
  { title: 'conv5x5 seed conv1 (1→6, 28×28, padding 2)',
    layer: { kind: 'conv5x5', name: 'C1', inChannels: 1, outChannels: 6, inSize: 28, padding: 2, outSize: 28, activation: 'sigmoid', weight: 'w', bias: 'b' } },
  { title: 'conv5x5 classic C3 (connection table, 60 kernels)',
    layer: { kind: 'conv5x5', name: 'C3', inChannels: 6, outChannels: 16, inSize: 14, padding: 0, outSize: 10, connectionTable: kC3ConnectionTable, activation: 'scaled-tanh', weight: 'w', bias: 'b' } },
  { title: 'conv5x5 seed conv2 (dense 6→16)',
    layer: { kind: 'conv5x5', name: 'C3', inChannels: 6, outChannels: 16, inSize: 14, padding: 0, outSize: 10, activation: 'sigmoid', weight: 'w', bias: 'b' } },
  { title: 'conv5x5 awkward (3→5, 9×9, padding 1, ragged table)',
    layer: { kind: 'conv5x5', name: 'C3', inChannels: 3, outChannels: 5, inSize: 9, padding: 1, outSize: 7, connectionTable: [[0], [1, 2], [0, 1, 2], [2], [0, 2]], activation: 'scaled-tanh', weight: 'w', bias: 'b' } },
  { title: 'conv5x5 Caffe conv2 (dense 20→50, 12×12, ReLU)',
    layer: { kind: 'conv5x5', name: 'conv2', inChannels: 20, outChannels: 50, inSize: 12, padding: 0, outSize: 8, activation: 'relu', weight: 'w', bias: 'b' } },
  { title: 'conv5x5 tanh (1→6, 28×28, padding 2)',
    layer: { kind: 'conv5x5', name: 'conv1', inChannels: 1, outChannels: 6, inSize: 28, padding: 2, outSize: 28, activation: 'tanh', weight: 'w', bias: 'b' } },
  { title: 'subsample2x2 average (seed S2)',
    layer: { kind: 'subsample2x2', name: 'S2', channels: 6, inSize: 28, outSize: 14, mode: 'average', activation: 'sigmoid' } },
  { title: 'subsample2x2 average, odd side (3 maps of 11×11 → 5×5, tanh)',
    layer: { kind: 'subsample2x2', name: 'pool', channels: 3, inSize: 11, outSize: 5, mode: 'average', activation: 'tanh' } },
  { title: 'subsample2x2 max (PyTorch tutorial pool1, ReLU)',
    layer: { kind: 'subsample2x2', name: 'pool1', channels: 6, inSize: 28, outSize: 14, mode: 'max', activation: 'relu' } },
  { title: 'subsample2x2 max, odd side (7 maps of 9×9 → 4×4)',
    layer: { kind: 'subsample2x2', name: 'pool2', channels: 7, inSize: 9, outSize: 4, mode: 'max', activation: 'sigmoid' } },
  { title: 'subsample2x2 trainable (classic S2)',
    layer: { kind: 'subsample2x2', name: 'S2', channels: 6, inSize: 28, outSize: 14, mode: 'trainable', activation: 'sigmoid', trainable: { coefficient: 'k', bias: 'b' } } },
  { title: 'subsample2x2 trainable (classic S4, 16 maps of 10×10)',
    layer: { kind: 'subsample2x2', name: 'S4', channels: 16, inSize: 10, outSize: 5, mode: 'trainable', activation: 'scaled-tanh', trainable: { coefficient: 'k', bias: 'b' } } },
  { title: 'dense C5 (400→120)',
    layer: { kind: 'dense', name: 'C5', inFeatures: 400, outFeatures: 120, activation: 'sigmoid', weight: 'w', bias: 'b' } },
  { title: 'dense F6 (120→84)',
    layer: { kind: 'dense', name: 'F6', inFeatures: 120, outFeatures: 84, activation: 'scaled-tanh', weight: 'w', bias: 'b' } },
  { title: 'dense awkward (7→13)',
    layer: { kind: 'dense', name: 'OUTPUT', inFeatures: 7, outFeatures: 13, activation: 'sigmoid', weight: 'w', bias: 'b' } },
  { title: 'dense Caffe ip1 (800→500, ReLU)',
    layer: { kind: 'dense', name: 'ip1', inFeatures: 800, outFeatures: 500, activation: 'relu', weight: 'w', bias: 'b' } },
  { title: 'dense tanh (120→84)',
    layer: { kind: 'dense', name: 'fc2', inFeatures: 120, outFeatures: 84, activation: 'tanh', weight: 'w', bias: 'b' } },
  { title: 'scale-shift over maps (a batch norm after a pool: 7 maps of 9×9, sigmoid)',
    layer: { kind: 'scale-shift', name: 'bn2', channels: 7, size: 9, activation: 'sigmoid', scale: 's', shift: 't' } },
  { title: 'scale-shift over a vector (a batch norm after a dense layer\'s ReLU: 13 features, tanh)',
    layer: { kind: 'scale-shift', name: 'bn3', channels: 13, activation: 'tanh', scale: 's', shift: 't' } },
];

/** The layer with another activation (RBF and softmax layers have none). */
function withActivation(layer: LayerSpec, activation: Activation): LayerSpec {
  return layer.kind === 'rbf' || layer.kind === 'softmax' ? layer : { ...layer, activation };
}

let page: Page;
test.beforeAll(async ({ browser }) => {
  page = await openHarness(browser);
});
test.afterAll(async () => {
  await page?.close();
});

kLayers.forEach(({ title, layer }, i) => {
  const act = layerActivation(layer);
  const variants = [
    { name: `${act} fused`, layer, fuseActivations: true },
    { name: `${act} as a standalone kernel`, layer, fuseActivations: false },
    { name: 'no activation', layer: withActivation(layer, 'none'), fuseActivations: true },
    // The conv and dense kernels size their blocks for the device ('cpu' here, SwiftShader);
    // the GPU blocks run too, so that both shapes are checked on this machine.
    ...(layer.kind === 'conv5x5' || layer.kind === 'dense'
      ? [{ name: `${act} fused, GPU-sized blocks`, layer, fuseActivations: true, kernelTarget: 'gpu' as const }]
      : []),
  ];
  for (const [j, v] of variants.entries()) {
    test(`${title}: ${v.name}, batches ${kBatches.join(', ')}`, async () => {
      const reports = await page.evaluate(
        (c) => window.harness.kernelCase(c),
        { layer: v.layer, fuseActivations: v.fuseActivations, ...('kernelTarget' in v ? { kernelTarget: v.kernelTarget } : {}), batches: kBatches, seed: 1000 + 10 * i + j },
      );
      expectAllWithin(reports);
    });
  }
});

test(`rbf (10 centres of 84), batches ${kBatches.join(', ')}`, async () => {
  const layer: LayerSpec = { kind: 'rbf', name: 'OUTPUT', inFeatures: 84, classes: 10, centres: 'c' };
  const reports = await page.evaluate((c) => window.harness.kernelCase(c), { layer, fuseActivations: true, batches: kBatches, seed: 7 });
  expectAllWithin(reports);
});

for (const log of [false, true]) {
  test(`${log ? 'log-softmax' : 'softmax'} over 10 scores, batches ${kBatches.join(', ')}`, async () => {
    const layer: LayerSpec = { kind: 'softmax', name: 'out', features: 10, log };
    const reports = await page.evaluate((c) => window.harness.kernelCase(c), { layer, fuseActivations: true, batches: kBatches, seed: 17 });
    expectAllWithin(reports);
  });
}

for (const activation of ['sigmoid', 'tanh', 'relu', 'scaled-tanh'] as const) {
  test(`standalone ${activation} kernel on [−8, 8), batches ${kBatches.join(', ')}`, async () => {
    const reports = await page.evaluate(
      (c) => window.harness.activationCase(c),
      { activation, perImage: 6 * 28 * 28, batches: kBatches, seed: 11 },
    );
    expectAllWithin(reports);
  });
}
