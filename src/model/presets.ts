/**
 * Named members of the LeNet family: the two models this repository trains (seed, classic)
 * and well-known LeNets people hold as PyTorch state_dicts, which carry no architecture. A
 * preset is a JSON description (src/model/architecture.ts) with the tensor names its source
 * uses, so `torch.save(model.state_dict(), path)` of that module loads with no renaming.
 */
import { buildArchitecture, type ArchitectureJson } from './architecture.js';
import type { Activation, ModelSpec } from './spec.js';

/**
 * LeNet-5's C3 connection table (the paper's Table I): for each C3 map, the S2 maps that feed
 * it. 60 kernels in all.
 */
export const kC3ConnectionTable: ReadonlyArray<ReadonlyArray<number>> = [
  [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
  [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
  [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
  [0, 1, 2, 3, 4, 5],
];

/** Activations the classic model may use; the file's metadata says which. */
export type ClassicActivation = Exclude<Activation, 'none'>;

/** The seed variant: the PyTorch module in LENET5.md (scripts/pytorch/lenet5_seed.py). */
const seedJson: ArchitectureJson = {
  name: 'LeNet-5 seed variant (PyTorch rendering)',
  inputSize: 28,
  preprocessing: { pad: 0, background: 0, ink: 1 },
  layers: [
    { type: 'conv', name: 'conv1', outChannels: 6, padding: 2, activation: 'sigmoid' },
    { type: 'pool', name: 'pool1', mode: 'average' },
    { type: 'conv', name: 'conv2', outChannels: 16, activation: 'sigmoid' },
    { type: 'pool', name: 'pool2', mode: 'average' },
    { type: 'dense', name: 'fc1', outFeatures: 120, activation: 'sigmoid' },
    { type: 'dense', name: 'fc2', outFeatures: 84, activation: 'sigmoid' },
    { type: 'dense', name: 'fc3', outFeatures: 10 },
  ],
};

/** The paper's LeNet-5 (LeCun et al. 1998), layers named C1 … OUTPUT as in the paper. */
function classicJson(activation: ClassicActivation): ArchitectureJson {
  return {
    name: `LeNet-5 classic (LeCun et al. 1998, ${activation})`,
    inputSize: 32,
    preprocessing: { pad: 2, background: -0.1, ink: 1.175 },
    layers: [
      { type: 'conv', name: 'C1', outChannels: 6, activation, weight: 'c1.weight', bias: 'c1.bias' },
      { type: 'pool', name: 'S2', mode: 'trainable', activation, coefficient: 's2.coefficient', bias: 's2.bias' },
      { type: 'conv', name: 'C3', outChannels: 16, table: kC3ConnectionTable, activation, weight: 'c3.weight', bias: 'c3.bias' },
      { type: 'pool', name: 'S4', mode: 'trainable', activation, coefficient: 's4.coefficient', bias: 's4.bias' },
      { type: 'dense', name: 'C5', outFeatures: 120, activation, weight: 'c5.weight', bias: 'c5.bias', weightShape: [120, 16, 5, 5] },
      { type: 'dense', name: 'F6', outFeatures: 84, activation, weight: 'f6.weight', bias: 'f6.bias' },
      { type: 'rbf', name: 'OUTPUT', classes: 10, centres: 'output.centres' },
    ],
  };
}

/** PyTorch's "Neural Networks" tutorial `Net`: ReLU, max pooling, a 32×32 input. */
const pytorchTutorialJson: ArchitectureJson = {
  name: "PyTorch tutorial's Net (ReLU, max pooling)",
  inputSize: 32,
  layers: [
    { type: 'conv', name: 'conv1', outChannels: 6, activation: 'relu' },
    { type: 'pool', name: 'pool1', mode: 'max' },
    { type: 'conv', name: 'conv2', outChannels: 16, activation: 'relu' },
    { type: 'pool', name: 'pool2', mode: 'max' },
    { type: 'dense', name: 'fc1', outFeatures: 120, activation: 'relu' },
    { type: 'dense', name: 'fc2', outFeatures: 84, activation: 'relu' },
    { type: 'dense', name: 'fc3', outFeatures: 10 },
  ],
};

/** Caffe's MNIST LeNet: 20 and 50 maps, max pooling, a 500-unit ReLU layer, no conv activation. */
const caffeLenetJson: ArchitectureJson = {
  name: "Caffe's MNIST LeNet (20/50 maps, max pooling, 500 ReLU)",
  inputSize: 28,
  layers: [
    { type: 'conv', name: 'conv1', outChannels: 20 },
    { type: 'pool', name: 'pool1', mode: 'max' },
    { type: 'conv', name: 'conv2', outChannels: 50 },
    { type: 'pool', name: 'pool2', mode: 'max' },
    { type: 'dense', name: 'ip1', outFeatures: 500, activation: 'relu' },
    { type: 'dense', name: 'ip2', outFeatures: 10 },
  ],
};

/**
 * Dive into Deep Learning's LeNet with batch normalization (d2l.ai, "Batch Normalization"):
 * BatchNorm2d after each conv, BatchNorm1d after the first two dense layers, each before its
 * sigmoid, so every batch norm folds into the layer before it at load. The book builds it as
 * `nn.Sequential` (keys `0.weight`, `1.running_mean`, …); this preset names the tensors as a
 * module with attributes conv1, bn1, conv2, bn2, fc1, bn3, fc2, bn4, fc3 would.
 */
const d2lLenetBnJson: ArchitectureJson = {
  name: "Dive into Deep Learning's LeNet with batch norm",
  inputSize: 28,
  preprocessing: { pad: 0, background: 0, ink: 1 },
  layers: [
    { type: 'conv', name: 'conv1', outChannels: 6 },
    { type: 'batchnorm', name: 'bn1' },
    { type: 'activation', activation: 'sigmoid' },
    { type: 'pool', name: 'pool1', mode: 'average' },
    { type: 'conv', name: 'conv2', outChannels: 16 },
    { type: 'batchnorm', name: 'bn2' },
    { type: 'activation', activation: 'sigmoid' },
    { type: 'pool', name: 'pool2', mode: 'average' },
    { type: 'dense', name: 'fc1', outFeatures: 120 },
    { type: 'batchnorm', name: 'bn3' },
    { type: 'activation', activation: 'sigmoid' },
    { type: 'dense', name: 'fc2', outFeatures: 84 },
    { type: 'batchnorm', name: 'bn4' },
    { type: 'activation', activation: 'sigmoid' },
    { type: 'dense', name: 'fc3', outFeatures: 10 },
  ],
};

/** CIFAR-10's classes, in its label order. */
export const kCifar10Labels: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/**
 * PyTorch's "Training a Classifier" tutorial `Net` (`cifar_net.pth`): 3×32×32 input
 * normalised by Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), ReLU, max pooling.
 */
const pytorchCifar10TutorialJson: ArchitectureJson = {
  name: "PyTorch CIFAR-10 tutorial's Net (3×32×32, ReLU, max pooling)",
  inputSize: 32,
  inputChannels: 3,
  preprocessing: { pad: 0, mean: 0.5, std: 0.5 },
  layers: [
    { type: 'conv', name: 'conv1', outChannels: 6, activation: 'relu' },
    { type: 'pool', name: 'pool1', mode: 'max' },
    { type: 'conv', name: 'conv2', outChannels: 16, activation: 'relu' },
    { type: 'pool', name: 'pool2', mode: 'max' },
    { type: 'dense', name: 'fc1', outFeatures: 120, activation: 'relu' },
    { type: 'dense', name: 'fc2', outFeatures: 84, activation: 'relu' },
    { type: 'dense', name: 'fc3', outFeatures: 10 },
  ],
  labels: kCifar10Labels,
};

/**
 * The presets' names, in matching order (state_dicts are matched against them in this order).
 *
 * @example
 * kPresetNames.includes('caffe-lenet'); // true
 */
export const kPresetNames = ['seed', 'pytorch-tutorial', 'classic', 'classic-scaled-tanh', 'caffe-lenet', 'd2l-lenet-bn', 'pytorch-cifar10-tutorial'] as const;

/**
 * A preset's name, as the `architecture` option takes it: 'seed', 'pytorch-tutorial',
 * 'classic', 'classic-scaled-tanh', 'caffe-lenet', 'd2l-lenet-bn' or 'pytorch-cifar10-tutorial'.
 */
export type PresetName = (typeof kPresetNames)[number];

/** Every preset by name. */
const kPresetJson: Readonly<Record<PresetName, ArchitectureJson>> = {
  seed: seedJson,
  'pytorch-tutorial': pytorchTutorialJson,
  classic: classicJson('sigmoid'),
  'classic-scaled-tanh': classicJson('scaled-tanh'),
  'caffe-lenet': caffeLenetJson,
  'd2l-lenet-bn': d2lLenetBnJson,
  'pytorch-cifar10-tutorial': pytorchCifar10TutorialJson,
};

/**
 * True for a preset's name.
 *
 * @example
 * isPresetName('seed'); // true
 */
export function isPresetName(name: string): name is PresetName {
  return (kPresetNames as readonly string[]).includes(name);
}

/**
 * The spec of a preset, or undefined for an unknown name.
 *
 * @example
 * presetModel('pytorch-tutorial')?.inputSize; // 32
 */
export function presetModel(name: PresetName | (string & {})): ModelSpec | undefined {
  return isPresetName(name) ? buildArchitecture(kPresetJson[name], name) : undefined;
}

/** The description of a preset (for docs and for `--arch` help). */
export function presetJson(name: PresetName | (string & {})): ArchitectureJson | undefined {
  return isPresetName(name) ? kPresetJson[name] : undefined;
}

/**
 * The seed variant: sigmoid(conv1) → avgpool → sigmoid(conv2) → avgpool → sigmoid(fc1) →
 * sigmoid(fc2) → fc3. Tensor names are its `state_dict()` keys.
 *
 * @example
 * seedModel.tensors[0]; // { name: 'conv1.weight', shape: [6, 1, 5, 5], trainable: true }
 */
export const seedModel: ModelSpec = buildArchitecture(seedJson, 'seed');

/**
 * The paper's LeNet-5 on a 32×32 input: C1, trainable S2, sparse C3, trainable S4, C5, F6 and
 * the Euclidean RBF output (class = smallest distance). Every layer up to F6 is followed by
 * the activation. Tensor names are documented in docs/weights-format.md.
 *
 * @example
 * const spec = classicModel('sigmoid');
 * parameterCount(spec); // 60000 trainable (+ 840 fixed RBF centres)
 */
export function classicModel(activation: ClassicActivation = 'sigmoid'): ModelSpec {
  return buildArchitecture(classicJson(activation), 'classic');
}
