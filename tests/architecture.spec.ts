/**
 * The LeNet family as data (src/model/architecture.ts, src/model/presets.ts): JSON
 * descriptions built into specs, the presets' shapes and parameter counts against their
 * PyTorch modules, descriptions that are refused and why, and how the loader decides which
 * network a file holds (the file, the caller's option, or the tensors — said as a note).
 */
import { expect, test } from '@playwright/test';
import { InputError, ModelMismatchError, WeightsFileError } from '../src/errors.js';
import { loadWeights, saveWeights } from '../src/formats/load.js';
import {
  architectureJsonOf,
  buildArchitecture,
  describeArchitecture,
  parseArchitecture,
  type ArchitectureJson,
} from '../src/model/architecture.js';
import { classicModel, kPresetNames, presetModel, seedModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import { parameterCount, type ModelSpec } from '../src/model/spec.js';
import { writeSafetensors, type TensorToWrite } from '../src/weights/safetensors.js';

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}

function fileOf(spec: ModelSpec, metadata?: Record<string, string>): Uint8Array {
  const weights = randomWeights(spec, 5);
  const tensors = new Map<string, TensorToWrite>(spec.tensors.map((t) => [t.name, { shape: t.shape, data: weights.tensors.get(t.name)! }]));
  return writeSafetensors(tensors, metadata);
}

const tutorial: ArchitectureJson = {
  inputSize: 32,
  layers: [
    { type: 'conv', outChannels: 6 }, { type: 'activation', activation: 'relu' }, { type: 'pool', mode: 'max' },
    { type: 'conv', outChannels: 16 }, { type: 'activation', activation: 'relu' }, { type: 'pool', mode: 'max' },
    { type: 'dense', outFeatures: 120, activation: 'relu' }, { type: 'dense', outFeatures: 84, activation: 'relu' },
    { type: 'dense', outFeatures: 10 },
  ],
};

test.describe('presets', () => {
  test('parameter counts equal their PyTorch modules (seed and tutorial 61,706; classic 60,000 + 840 fixed; Caffe LeNet 431,080)', () => {
    expect(parameterCount(seedModel)).toBe(61706);
    expect(parameterCount(presetModel('pytorch-tutorial')!)).toBe(61706);
    expect(parameterCount(classicModel())).toBe(60000);
    expect(parameterCount(classicModel(), false)).toBe(60840);
    expect(parameterCount(presetModel('caffe-lenet')!)).toBe(20 * 25 + 20 + 50 * 20 * 25 + 50 + 800 * 500 + 500 + 500 * 10 + 10);
  });

  test('every preset builds, and its JSON description builds back to the same spec', () => {
    for (const name of kPresetNames) {
      const spec = presetModel(name)!;
      expect(spec.id, name).toBe(name);
      const again = buildArchitecture(parseArchitecture(JSON.parse(JSON.stringify(architectureJsonOf(spec)))), name);
      expect(again.layers, name).toEqual(spec.layers);
      expect(again.tensors, name).toEqual(spec.tensors);
      expect(again.defaultPreprocessing, name).toEqual(spec.defaultPreprocessing);
    }
  });

  test('one-line descriptions say every layer', () => {
    expect(describeArchitecture(seedModel)).toBe(
      '28×28 → conv 1→6 5×5 pad 2, sigmoid → avg pool → conv 6→16 5×5, sigmoid → avg pool → dense 400→120, sigmoid → dense 120→84, sigmoid → dense 84→10 ⇒ logits',
    );
    expect(describeArchitecture(presetModel('caffe-lenet')!)).toBe(
      '28×28 → conv 1→20 5×5 → max pool → conv 20→50 5×5 → max pool → dense 800→500, relu → dense 500→10 ⇒ logits',
    );
    expect(describeArchitecture(classicModel('scaled-tanh'))).toContain('conv 6→16 5×5 (table), scaled-tanh → trainable subsampling, scaled-tanh');
    expect(describeArchitecture(classicModel('scaled-tanh'))).toMatch(/RBF 84→10 ⇒ distances$/);
  });
});

test.describe('JSON descriptions', () => {
  test('standalone activations merge into the layer before them; names and tensor names default like PyTorch modules', () => {
    const spec = buildArchitecture(tutorial);
    expect(spec.layers.map((l) => l.name)).toEqual(['conv1', 'pool1', 'conv2', 'pool2', 'fc1', 'fc2', 'fc3']);
    expect(spec.layers).toEqual(presetModel('pytorch-tutorial')!.layers);
    expect(spec.tensors.map((t) => `${t.name}[${t.shape.join(',')}]`)).toEqual([
      'conv1.weight[6,1,5,5]', 'conv1.bias[6]', 'conv2.weight[16,6,5,5]', 'conv2.bias[16]',
      'fc1.weight[120,400]', 'fc1.bias[120]', 'fc2.weight[84,120]', 'fc2.bias[84]', 'fc3.weight[10,84]', 'fc3.bias[10]',
    ]);
    expect(spec.defaultPreprocessing).toEqual({ pad: 2, background: 0, ink: 1 });
  });

  test('odd maps pool in floor mode; log-softmax makes log-probabilities', () => {
    const spec = buildArchitecture({
      inputSize: 28,
      layers: [
        { type: 'conv', outChannels: 4, padding: 1 }, { type: 'pool', mode: 'max' }, // 26 → 13
        { type: 'conv', outChannels: 8 }, { type: 'pool', mode: 'average', activation: 'tanh' }, // 9 → 4
        { type: 'dense', outFeatures: 10 }, { type: 'softmax', log: true },
      ],
    });
    expect(spec.layers.map((l) => (l.kind === 'subsample2x2' ? `${l.inSize}→${l.outSize}` : l.kind))).toEqual([
      'conv5x5', '26→13', 'conv5x5', '9→4', 'dense', 'softmax',
    ]);
    expect(spec.output).toBe('log-probabilities');
    expect(spec.tensors.find((t) => t.name === 'fc1.weight')!.shape).toEqual([10, 128]);
  });

  const refused: Array<[string, unknown, string]> = [
    ['a 3×3 kernel', { inputSize: 28, layers: [{ type: 'conv', outChannels: 6, kernel: 3 }] }, 'only 5×5 convolutions are supported, found 3×3'],
    ['padding 3', { inputSize: 28, layers: [{ type: 'conv', outChannels: 6, padding: 3 }] }, 'padding: expected an integer from 0 to 2, found 3'],
    ['3×3 pooling', { inputSize: 28, layers: [{ type: 'pool', mode: 'max', size: 3 }] }, 'only 2×2 pooling with stride 2 is supported, found 3×3'],
    ['an unknown layer type', { inputSize: 28, layers: [{ type: 'dropout' }] }, "layer 0.type: expected 'conv', 'pool', 'dense', 'batchnorm', 'scale-shift', 'rbf', 'activation' or 'softmax', found 'dropout'"],
    ['a batch norm with nothing before it', { inputSize: 28, layers: [{ type: 'batchnorm' }] }, 'layer 0: a batchnorm needs a conv, pool or dense layer before it, found none'],
    ['a batch norm eps of 0', { inputSize: 28, layers: [{ type: 'dense', outFeatures: 10 }, { type: 'batchnorm', eps: 0 }] }, 'layer 1.eps: expected a finite number above 0, found 0'],
    ['a batch norm eps below 0', { inputSize: 28, layers: [{ type: 'dense', outFeatures: 10 }, { type: 'batchnorm', eps: -1e-5 }] }, 'layer 1.eps: expected a finite number above 0, found -0.00001'],
    ['17 input channels', { inputSize: 28, inputChannels: 17, layers: [{ type: 'dense', outFeatures: 10 }] }, 'inputChannels: expected an integer from 1 to 16, found 17'],
    ['0 input channels', { inputSize: 28, inputChannels: 0, layers: [{ type: 'dense', outFeatures: 10 }] }, 'inputChannels: expected an integer from 1 to 16, found 0'],
    ['9 labels for 10 classes', { inputSize: 28, layers: [{ type: 'dense', outFeatures: 10 }], labels: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] }, 'labels: expected one class name per class (10), found 9'],
    ['an empty label', { inputSize: 28, layers: [{ type: 'dense', outFeatures: 10 }], labels: ['a', '', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] }, "labels[1]: expected a class name (a non-empty string of at most 256 characters), found ''"],
    ['a mean per channel of the wrong count', { inputSize: 32, inputChannels: 3, preprocessing: { mean: [0.5, 0.5], std: 0.5 }, layers: [{ type: 'dense', outFeatures: 10 }] }, 'preprocessing: mean: expected one number or one per input channel (3), found 2'],
    ['a std of 0', { inputSize: 32, inputChannels: 3, preprocessing: { mean: 0.5, std: [0.5, 0, 0.5] }, layers: [{ type: 'dense', outFeatures: 10 }] }, 'preprocessing: std[1]: expected a positive number, found 0'],
    ['an unknown activation', { inputSize: 28, layers: [{ type: 'conv', outChannels: 6, activation: 'gelu' }] }, "layer 0.activation: expected one of 'none', 'sigmoid', 'tanh', 'relu', 'scaled-tanh', found 'gelu'"],
    ['a misspelt field', { inputSize: 28, layers: [{ type: 'conv', outChannel: 6 }] }, "layer 0: unknown field 'outChannel'"],
    ['a conv after a dense layer', { inputSize: 28, layers: [{ type: 'dense', outFeatures: 100 }, { type: 'conv', outChannels: 6 }] }, 'a conv layer after a dense layer'],
    ['two activations in a row', { inputSize: 28, layers: [{ type: 'conv', outChannels: 6, activation: 'relu' }, { type: 'activation', activation: 'tanh' }] }, 'two activations in a row (relu, then tanh)'],
    ['a network that does not end in 10 scores', { inputSize: 28, layers: [{ type: 'dense', outFeatures: 12 }] }, 'the network must end in 10 class scores (one per digit), found 12 values'],
    ['a layer after the RBF output', { inputSize: 28, layers: [{ type: 'rbf', classes: 10 }, { type: 'dense', outFeatures: 10 }] }, 'nothing may follow the RBF output'],
    ['a connection table with a missing input map', { inputSize: 28, layers: [{ type: 'conv', outChannels: 2, table: [[0], [1]] }] }, 'connection table entry 1 must list distinct input maps 0…0'],
    ['a dense weight shape that does not fit', { inputSize: 28, layers: [{ type: 'dense', outFeatures: 10, weightShape: [10, 28, 28] }] }, 'dense weight shape must be [10, 784] or [10, 1, 28, 28], found [10, 28, 28]'],
    ['a conv that shrinks the map to nothing', { inputSize: 6, layers: [{ type: 'conv', outChannels: 2 }, { type: 'conv', outChannels: 2 }] }, 'needs an input of at least 5×5, found 2×2'],
    ['not an object', [1, 2], 'the architecture must be a JSON object, found a list of 2'],
  ];
  for (const [what, json, message] of refused) {
    test(`refused with ModelMismatchError: ${what}`, () => {
      const e = thrown(() => buildArchitecture(parseArchitecture(json)));
      expect(e).toBeInstanceOf(ModelMismatchError);
      expect(e.message).toContain(message);
    });
  }
});

test.describe('which architecture the loader uses', () => {
  test('the tutorial net saved as safetensors no longer passes silently as the seed model: --arch picks it, and without it the note says what was assumed', () => {
    const tutorialSpec = presetModel('pytorch-tutorial')!;
    const bytes = fileOf(tutorialSpec);
    const assumed = loadWeights(bytes);
    expect(assumed.spec.id).toBe('seed');
    expect(assumed.origin?.note).toContain("'pytorch-tutorial'");
    const chosen = loadWeights(bytes, { architecture: 'pytorch-tutorial' });
    expect(chosen.spec.layers).toEqual(tutorialSpec.layers);
    expect(chosen.preprocessing).toEqual({ pad: 2, background: 0, ink: 1 });
    expect(chosen.origin).toMatchObject({ architectureFrom: 'option' });
    // The same, as a JSON description (object or text).
    expect(loadWeights(bytes, { architecture: tutorial }).spec.layers).toEqual(tutorialSpec.layers);
    expect(loadWeights(bytes, { architecture: JSON.stringify(tutorial) }).spec.layers).toEqual(tutorialSpec.layers);
  });

  test('a file the trainer or saveWeights wrote says what it is: the architecture comes from its metadata', () => {
    const weights = randomWeights(presetModel('pytorch-tutorial')!, 2);
    const loaded = loadWeights(saveWeights(weights));
    expect(loaded.spec.id).toBe('pytorch-tutorial');
    expect(loaded.origin).toMatchObject({ architectureFrom: 'file' });
    expect(loaded.origin?.note).toBeUndefined();
    const custom = buildArchitecture({ ...tutorial, layers: tutorial.layers.map((l) => (l.type === 'pool' ? { ...l, mode: 'average' as const } : l)) });
    const again = loadWeights(saveWeights(randomWeights(custom, 2)));
    expect(again.spec.id).toBe('custom');
    expect(again.spec.layers).toEqual(custom.layers);
  });

  test('an architecture option that contradicts the file is an error naming both', () => {
    const bytes = saveWeights(randomWeights(seedModel, 2));
    const e = thrown(() => loadWeights(bytes, { architecture: 'pytorch-tutorial' }));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect(e.message).toContain('the file declares its network');
    expect(loadWeights(bytes, { architecture: 'seed' }).spec.id).toBe('seed');
  });

  test('bad options and bad metadata say what was expected', () => {
    const bytes = fileOf(seedModel);
    expect(thrown(() => loadWeights(bytes, { architecture: 'lenet-7' }))).toBeInstanceOf(InputError);
    expect(thrown(() => loadWeights(bytes, { architecture: 'lenet-7' })).message).toContain("unknown preset 'lenet-7'; presets: seed, pytorch-tutorial");
    expect(thrown(() => loadWeights(bytes, { architecture: '{"inputSize": 28,' })).message).toContain('text that is not JSON');
    const e = thrown(() => loadWeights(fileOf(seedModel, { 'lenet5.architecture': '{"inputSize": 28, "layers": [{"type": "conv", "outChannels": 6, "kernel": 7}]}' })));
    expect(e).toBeInstanceOf(WeightsFileError);
    expect(e.message).toContain("__metadata__['lenet5.architecture']: architecture layer 0: only 5×5 convolutions are supported, found 7×7");
    expect(thrown(() => loadWeights(fileOf(seedModel, { 'lenet5.architecture': 'seed' }))).message).toContain('text that is not JSON');
  });

  test('tensors that do not fit the chosen architecture name the tensor, expected and found', () => {
    const e = thrown(() => loadWeights(fileOf(seedModel), { architecture: 'caffe-lenet' }));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect(e.message).toContain("model 'caffe-lenet' needs 8 tensors; 4 missing (ip1.weight, ip1.bias, ip2.weight, ip2.bias): expected shape [500, 800], found no tensor");
    expect((e as ModelMismatchError).tensor).toBe('ip1.weight');
  });

  test('preprocessing: a PyTorch Normalize(mean, std) or explicit values override the defaults; the padding must fit', () => {
    const bytes = fileOf(presetModel('pytorch-tutorial')!);
    const normalized = loadWeights(bytes, { architecture: 'pytorch-tutorial', preprocessing: { mean: 0.1307, std: 0.3081 } });
    expect(normalized.preprocessing.pad).toBe(2);
    expect(normalized.preprocessing.background).toBeCloseTo(-0.1307 / 0.3081, 12);
    expect(normalized.preprocessing.ink).toBeCloseTo((1 - 0.1307) / 0.3081, 12);
    const e = thrown(() => loadWeights(bytes, { architecture: 'pytorch-tutorial', preprocessing: { pad: 0 } }));
    expect(e.message).toContain('preprocessing.pad: expected 2 (28×28 images into a 32×32 input), found 0');
    const odd = buildArchitecture({ inputSize: 31, layers: [{ type: 'conv', outChannels: 2 }, { type: 'pool', mode: 'max' }, { type: 'dense', outFeatures: 10 }] });
    expect(thrown(() => loadWeights(fileOf(odd), { architecture: architectureJsonOf(odd) })).message).toContain(
      "the network's input is 31×31: a 28×28 image reaches it only by padding",
    );
  });

  test('a URL that served a web page says so', () => {
    const html = new TextEncoder().encode('<!doctype html>\n<html><head><title>Vite</title></head></html>');
    const e = thrown(() => loadWeights(html));
    expect(e).toBeInstanceOf(WeightsFileError);
    expect(e.message).toContain('an HTML page');
    expect(e.message).toContain('check its path');
  });
});
