/**
 * The family table's models: each preset and each kind of file the engine reads, as one file
 * that our engine and ONNX Runtime Web both load (an ONNX export; the classic model, which has
 * none, as its shipped safetensors, for ours alone), with the raw image each takes.
 *
 * Files are named by their path in the repository: Node reads them from there, the page gets
 * them from the site (solo-page.ts maps each path to its URL).
 */
import type { PixelInput } from './peers.js';
import type { OursId, PeerId } from './types.js';

export type FamilyId = 'seed' | 'classic' | 'pytorch-tutorial' | 'caffe-lenet' | 'd2l-lenet-bn' | 'pytorch-cifar10-tutorial';

export interface FamilyModel {
  readonly id: FamilyId;
  /** What the row is, in a few words. */
  readonly title: string;
  /** The file every engine of the row loads, by its path in the repository. */
  readonly file: string;
  /** Where the file comes from, for the table's notes. */
  readonly made: string;
  /** The raw image (bytes) every engine is given, and how a peer turns it into its input. */
  readonly input: PixelInput;
  /** The engines that can run this file. */
  readonly engines: readonly (OursId | PeerId)[];
}

const kOnnxEngines: readonly (OursId | PeerId)[] = ['webgpu-default', 'ort-wasm', 'ort-webgpu'];

/**
 * The family, in the table's order.
 *
 * @example
 * kFamily.find((m) => m.id === 'caffe-lenet')?.file; // 'tests/fixtures/family/caffe-lenet.onnx'
 */
export const kFamily: readonly FamilyModel[] = [
  {
    id: 'seed',
    title: 'seed (shipped weights)',
    file: 'public/models/seed.onnx',
    made: 'scripts/pytorch/export_onnx.py from weights/seed.safetensors',
    input: { channels: 1, size: 28, pad: 0 },
    engines: kOnnxEngines,
  },
  {
    id: 'classic',
    title: 'classic LeNet-5 (shipped weights; RBF output, sparse C3: no ONNX file)',
    file: 'weights/classic.safetensors',
    made: 'weights/classic.safetensors (ours only: the peers have no file of it)',
    input: { channels: 1, size: 28, pad: 2 },
    engines: ['webgpu-default'],
  },
  {
    id: 'pytorch-tutorial',
    title: "PyTorch tutorial's Net (32×32 input)",
    file: 'tests/fixtures/family/pytorch-tutorial.onnx',
    made: 'torch.onnx.export (scripts/pytorch/make_family_fixtures.py)',
    input: { channels: 1, size: 28, pad: 2 },
    engines: kOnnxEngines,
  },
  {
    id: 'caffe-lenet',
    title: "Caffe's LeNet (20 and 50 maps, 500 units)",
    file: 'tests/fixtures/family/caffe-lenet.onnx',
    made: 'torch.onnx.export (scripts/pytorch/make_family_fixtures.py)',
    input: { channels: 1, size: 28, pad: 0 },
    engines: kOnnxEngines,
  },
  {
    id: 'd2l-lenet-bn',
    title: "d2l's LeNet with batch norm",
    file: 'public/models/d2l-lenet-bn.onnx',
    made: 'torch.onnx.export (scripts/pytorch/export_bench_onnx.py)',
    input: { channels: 1, size: 28, pad: 0 },
    engines: kOnnxEngines,
  },
  {
    id: 'pytorch-cifar10-tutorial',
    title: "PyTorch CIFAR-10 tutorial's Net (colour, 3×32×32)",
    file: 'public/models/pytorch-cifar10-tutorial.onnx',
    made: 'torch.onnx.export (scripts/pytorch/export_bench_onnx.py)',
    input: { channels: 3, size: 32, pad: 0 },
    engines: kOnnxEngines,
  },
];

/** Every family id, in order. */
export const kFamilyIds: readonly FamilyId[] = kFamily.map((m) => m.id);

/**
 * The fair table's engines, on the seed model: ours (default options, and each fixed plan)
 * and every peer. tfjs has no ONNX reader: it builds the seed network from the shipped
 * safetensors (the same weights as seed.onnx).
 */
export const kFairEngines: readonly (OursId | PeerId)[] = ['webgpu-default', 'webgpu-fused', 'webgpu-layered', 'ort-wasm', 'ort-webgpu', 'tfjs-wasm', 'tfjs-webgpu'];

/** The seed weights tfjs reads (the same values as public/models/seed.onnx). */
export const kSeedSafetensors = 'weights/seed.safetensors';

/**
 * A family model by id; throws on an unknown one.
 *
 * @example
 * familyModel('d2l-lenet-bn').input.channels; // 1
 */
export function familyModel(id: string): FamilyModel {
  const model = kFamily.find((m) => m.id === id);
  if (!model) throw new Error(`unknown model '${id}' (expected one of ${kFamilyIds.join(', ')})`);
  return model;
}
