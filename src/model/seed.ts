import type { ModelSpec } from './spec.js';

/**
 * The seed variant: the PyTorch module in LENET5.md. Tensor names are its `state_dict()` keys,
 * so a file saved with `safetensors.torch.save_file(model.state_dict(), path)` loads unchanged.
 *
 * sigmoid(conv1) → avgpool → sigmoid(conv2) → avgpool → sigmoid(fc1) → sigmoid(fc2) → fc3.
 */
export const seedModel: ModelSpec = {
  id: 'seed',
  title: 'LeNet-5 seed variant (PyTorch rendering)',
  inputSize: 28,
  output: 'logits',
  defaultPreprocessing: { pad: 0, background: 0, ink: 1 },
  layers: [
    { kind: 'conv5x5', name: 'C1', inChannels: 1, outChannels: 6, inSize: 28, padding: 2, outSize: 28,
      activation: 'sigmoid', weight: 'conv1.weight', bias: 'conv1.bias' },
    { kind: 'subsample2x2', name: 'S2', channels: 6, inSize: 28, outSize: 14, activation: 'none' },
    { kind: 'conv5x5', name: 'C3', inChannels: 6, outChannels: 16, inSize: 14, padding: 0, outSize: 10,
      activation: 'sigmoid', weight: 'conv2.weight', bias: 'conv2.bias' },
    { kind: 'subsample2x2', name: 'S4', channels: 16, inSize: 10, outSize: 5, activation: 'none' },
    { kind: 'dense', name: 'C5', inFeatures: 400, outFeatures: 120, activation: 'sigmoid',
      weight: 'fc1.weight', bias: 'fc1.bias' },
    { kind: 'dense', name: 'F6', inFeatures: 120, outFeatures: 84, activation: 'sigmoid',
      weight: 'fc2.weight', bias: 'fc2.bias' },
    { kind: 'dense', name: 'OUTPUT', inFeatures: 84, outFeatures: 10, activation: 'none',
      weight: 'fc3.weight', bias: 'fc3.bias' },
  ],
  tensors: [
    { name: 'conv1.weight', shape: [6, 1, 5, 5], trainable: true },
    { name: 'conv1.bias', shape: [6], trainable: true },
    { name: 'conv2.weight', shape: [16, 6, 5, 5], trainable: true },
    { name: 'conv2.bias', shape: [16], trainable: true },
    { name: 'fc1.weight', shape: [120, 400], trainable: true },
    { name: 'fc1.bias', shape: [120], trainable: true },
    { name: 'fc2.weight', shape: [84, 120], trainable: true },
    { name: 'fc2.bias', shape: [84], trainable: true },
    { name: 'fc3.weight', shape: [10, 84], trainable: true },
    { name: 'fc3.bias', shape: [10], trainable: true },
  ],
};
