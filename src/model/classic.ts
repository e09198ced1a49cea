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
  return {
    id: 'classic',
    title: `LeNet-5 classic (LeCun et al. 1998, ${activation})`,
    inputSize: 32,
    output: 'distances',
    defaultPreprocessing: { pad: 2, background: -0.1, ink: 1.175 },
    layers: [
      { kind: 'conv5x5', name: 'C1', inChannels: 1, outChannels: 6, inSize: 32, padding: 0, outSize: 28,
        activation, weight: 'c1.weight', bias: 'c1.bias' },
      { kind: 'subsample2x2', name: 'S2', channels: 6, inSize: 28, outSize: 14, activation,
        trainable: { coefficient: 's2.coefficient', bias: 's2.bias' } },
      { kind: 'conv5x5', name: 'C3', inChannels: 6, outChannels: 16, inSize: 14, padding: 0, outSize: 10,
        connectionTable: kC3ConnectionTable, activation, weight: 'c3.weight', bias: 'c3.bias' },
      { kind: 'subsample2x2', name: 'S4', channels: 16, inSize: 10, outSize: 5, activation,
        trainable: { coefficient: 's4.coefficient', bias: 's4.bias' } },
      { kind: 'dense', name: 'C5', inFeatures: 400, outFeatures: 120, activation,
        weight: 'c5.weight', bias: 'c5.bias' },
      { kind: 'dense', name: 'F6', inFeatures: 120, outFeatures: 84, activation,
        weight: 'f6.weight', bias: 'f6.bias' },
      { kind: 'rbf', name: 'OUTPUT', inFeatures: 84, classes: 10, centres: 'output.centres' },
    ],
    tensors: [
      { name: 'c1.weight', shape: [6, 1, 5, 5], trainable: true },
      { name: 'c1.bias', shape: [6], trainable: true },
      { name: 's2.coefficient', shape: [6], trainable: true },
      { name: 's2.bias', shape: [6], trainable: true },
      { name: 'c3.weight', shape: [60, 5, 5], trainable: true },
      { name: 'c3.bias', shape: [16], trainable: true },
      { name: 's4.coefficient', shape: [16], trainable: true },
      { name: 's4.bias', shape: [16], trainable: true },
      { name: 'c5.weight', shape: [120, 16, 5, 5], trainable: true },
      { name: 'c5.bias', shape: [120], trainable: true },
      { name: 'f6.weight', shape: [84, 120], trainable: true },
      { name: 'f6.bias', shape: [84], trainable: true },
      { name: 'output.centres', shape: [10, 84], trainable: false },
    ],
  };
}
