/**
 * State dicts as people name them (src/formats/match.ts, the loader's matching step): real
 * files saved by PyTorch (tests/fixtures/readers, scripts/pytorch/make_reader_fixtures.py) load
 * under the network they hold and, run by the CPU reference, give the maker's outputs within
 * 1e-5 + 1e-4·|ref| with the same classes; the note says what was matched to what. Then the
 * matching itself on tensors made in memory: orders, roles, prefixes, and what it refuses.
 */
import { expect, test } from '@playwright/test';
import * as ort from 'onnxruntime-web';
import { compareFloats, kKernelTolerance } from '../e2e/compare.js';
import { InputError, ModelMismatchError, WeightsFileError } from '../src/errors.js';
import { loadWeights, modelWeightsFrom, readWeightsFile, saveWeights } from '../src/formats/load.js';
import { readOnnx } from '../src/formats/onnx.js';
import { matchTensors, stripSharedPrefix } from '../src/formats/match.js';
import { readPth } from '../src/formats/pth.js';
import type { RawTensor } from '../src/formats/types.js';
import { buildArchitecture } from '../src/model/architecture.js';
import { modelInfo } from '../src/model/model-weights.js';
import { kCifar10Labels, presetModel, seedModel } from '../src/model/presets.js';
import { referenceOutput } from '../src/reference/forward.js';
import { chain } from './fuzz-onnx-cases.js';
import { classes, compareWithMaker, fixtureInput, kReaderImages, makerOutput, readReaderFile, readReaderSummary } from './reader-fixtures.js';

const summary = readReaderSummary();
const fixture = (name: string) => summary.files[name]!;

function runAndCompare(name: string, weights: ReturnType<typeof loadWeights>): void {
  const scores = referenceOutput(weights, fixtureInput(fixture(name)), kReaderImages);
  const comparison = compareWithMaker(name, scores, fixture(name));
  expect(comparison.mismatchCount, comparison.message).toBe(0);
  expect(classes(scores, kReaderImages)).toEqual(classes(makerOutput(fixture(name)), kReaderImages));
}

test.describe("Dive into Deep Learning's LeNet saved as the book does (d2l-lenet.params)", () => {
  test('no architecture given: the seed preset, matched by order, role and shape, and the note says so', () => {
    const weights = loadWeights(readReaderFile('d2l-lenet.params'));
    expect(weights.spec.id).toBe('seed');
    expect(weights.origin?.architectureFrom).toBe('tensors');
    const note = weights.origin?.note ?? '';
    expect(note).toContain("'seed' preset");
    expect(note).toContain('0 → conv1, 3 → conv2, 7 → fc1, 9 → fc2, 11 → fc3');
    expect(note).toContain("'pytorch-tutorial'"); // the same tensors fit it too, and the note says so
    expect([...weights.tensors.keys()]).toEqual(seedModel.tensors.map((t) => t.name));
    runAndCompare('d2l-lenet.params', weights);
  });

  test("architecture 'seed' applies whatever the names are", () => {
    const weights = loadWeights(readReaderFile('d2l-lenet.params'), { architecture: 'seed' });
    expect(weights.origin?.architectureFrom).toBe('option');
    expect(weights.origin?.note).toContain('matched by order, role and shape: 0 → conv1');
    runAndCompare('d2l-lenet.params', weights);
  });
});

test.describe('one nn.Sequential LeNet saved as people save it: each file gives the maker\'s outputs', () => {
  const cases: [file: string, says: string[]][] = [
    ['seq.params', ['matched by order, role and shape: 0 → conv1, 3 → conv2, 7 → fc1, 9 → fc2']],
    ['seq-dataparallel.pth', ["the prefix 'module.' stripped, then matched by order"]],
    ['seq-compiled.pth', ["the prefix '_orig_mod.' stripped"]],
    ['seq-checkpoint.tar', ["checkpoint['model_state_dict']"]],
    ['seq-lightning.ckpt', ["checkpoint['state_dict']", "the prefix 'model.' stripped"]],
    ['seq-model.bin', ["checkpoint['model']"]],
    ['seq-net.pth', ["checkpoint['net']"]],
  ];
  for (const [name, says] of cases) {
    test(`${name} (${fixture(name).how})`, () => {
      const weights = loadWeights(readReaderFile(name), { architecture: fixture(name).architecture! });
      for (const words of says) expect(weights.origin?.note).toContain(words);
      runAndCompare(name, weights);
    });
  }

  test('the checkpoints name where their state_dict was, as summary.json records it', () => {
    for (const [name, f] of Object.entries(summary.files).filter(([, f]) => f.state_dict_at)) {
      expect(readPth(readReaderFile(name)).metadata['pth.state_dict'], name).toBe(f.state_dict_at);
    }
  });
});

test.describe('batch norm and colour in state dicts', () => {
  test('bn.params: every num_batches_tracked (int64) read and set aside, the float tensors kept in order', () => {
    const contents = readPth(readReaderFile('bn.params'));
    const expected = Object.entries(fixture('bn.params').tensors!);
    expect(contents.ignored?.map((t) => `${t.name} ${t.dtype}`)).toEqual(expected.filter(([, t]) => t.dtype === 'int64').map(([n]) => `${n} int64`));
    expect([...contents.tensors.keys()]).toEqual(expected.filter(([, t]) => t.dtype === 'float32').map(([n]) => n));
  });

  for (const name of ['bn.params', 'bn-after-relu.params', 'colour.pth']) {
    test(`${name} (${fixture(name).how}) with its description: the maker's outputs`, () => {
      const weights = loadWeights(readReaderFile(name), { architecture: fixture(name).architecture! });
      if (name === 'colour.pth') {
        expect(weights.spec.inputChannels).toBe(3);
        expect(weights.origin?.note).toBeUndefined(); // conv1 … fc3: the description's own names
      } else {
        expect(weights.origin?.note).toContain('matched by order, role and shape');
        expect(weights.origin?.note).toContain('Integer buffers read and ignored');
      }
      runAndCompare(name, weights);
    });
  }

  test("the book's BN LeNet, full size, named as nn.Sequential names it: the 'd2l-lenet-bn' preset, each batch norm matched", () => {
    const preset = presetModel('d2l-lenet-bn')!;
    // The book's indices: conv 0, bn 1, conv 4, bn 5, linear 9, bn 10, linear 12, bn 13, linear 15.
    const index: Record<string, number> = { conv1: 0, bn1: 1, conv2: 4, bn2: 5, fc1: 9, bn3: 10, fc2: 12, bn4: 13, fc3: 15 };
    const tensors = new Map<string, RawTensor>();
    for (const t of preset.tensors) {
      const [module, role] = t.name.split('.') as [string, string];
      const data = new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(role === 'running_var' ? 1 : 0.01);
      tensors.set(`${index[module]}.${role}`, { shape: [...t.shape], data });
    }
    const ignored = ['1', '5', '10', '13'].map((i) => ({ name: `${i}.num_batches_tracked`, dtype: 'int64', shape: [] }));
    const weights = modelWeightsFrom({ format: 'pth', tensors, metadata: {}, ignored });
    expect(weights.spec.id).toBe('d2l-lenet-bn');
    expect(weights.origin?.note).toContain('0 → conv1, 1 → bn1, 4 → conv2, 5 → bn2, 9 → fc1, 10 → bn3, 12 → fc2, 13 → bn4, 15 → fc3');
    expect(weights.origin?.note).toContain('1.num_batches_tracked (int64)');
  });
});

// ---- ONNX as other exporters write it ----

test.describe('ONNX as other exporters write it: each file gives its maker\'s outputs through the CPU reference', () => {
  const layerTypes = (name: string) => readOnnx(readReaderFile(name)).architecture!.layers.map((l) => l.type);
  const cases: [file: string, check: () => void][] = [
    ['keras.onnx', () => expect(layerTypes('keras.onnx')).toEqual(['conv', 'activation', 'pool', 'conv', 'activation', 'pool', 'dense', 'activation', 'dense', 'softmax'])],
    ['keras-op9.onnx', () => expect(readOnnx(readReaderFile('keras-op9.onnx')).architecture!.layers[0]).toMatchObject({ type: 'conv', padding: 2 })],
    ['bn.onnx', () => expect(layerTypes('bn.onnx').filter((t) => t === 'batchnorm')).toHaveLength(2)], // torch folded the BatchNorm2d into its Conv
    ['bn-after-relu.onnx', () => expect(layerTypes('bn-after-relu.onnx').slice(0, 4)).toEqual(['conv', 'activation', 'batchnorm', 'pool'])],
    ['bn-graph.onnx', () => expect(layerTypes('bn-graph.onnx').slice(0, 3)).toEqual(['conv', 'batchnorm', 'activation'])],
    ['shape-chain.onnx', () => expect(layerTypes('shape-chain.onnx')).toEqual(['conv', 'activation', 'pool', 'conv', 'activation', 'pool', 'dense', 'activation', 'dense'])],
    ['colour.onnx', () => expect(readOnnx(readReaderFile('colour.onnx')).architecture!.inputChannels).toBe(3)],
  ];
  for (const [name, check] of cases) {
    test(`${name} (${fixture(name).ops!.filter((op, i, all) => all.indexOf(op) === i).join(' ')})`, () => {
      check();
      // x = p: the makers fed their nets the images as they are.
      const weights = loadWeights(readReaderFile(name), { preprocessing: { mean: 0, std: 1 } });
      expect(weights.origin?.architectureFrom).toBe('file');
      runAndCompare(name, weights);
    });
  }

  test('keras.onnx agrees with ONNX Runtime (WASM, Node) on its NHWC input, and the engine\'s CPU reference on the same images as NCHW', async () => {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'fatal';
    const session = await ort.InferenceSession.create(readReaderFile('keras.onnx'));
    try {
      // One grey channel: NHWC [N, 28, 28, 1] holds the same values in the same order as NCHW [N, 1, 28, 28].
      const input = fixtureInput(fixture('keras.onnx'));
      const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [kReaderImages, 28, 28, 1]) });
      const fromOrt = result[session.outputNames[0]!]!.data as Float32Array;
      const ortVsMaker = compareWithMaker('ONNX Runtime', fromOrt, fixture('keras.onnx'));
      expect(ortVsMaker.mismatchCount, ortVsMaker.message).toBe(0);
      const reference = referenceOutput(loadWeights(readReaderFile('keras.onnx')), input, kReaderImages);
      const engineVsOrt = compareFloats('CPU reference vs ONNX Runtime', reference, fromOrt, [10], kKernelTolerance);
      expect(engineVsOrt.mismatchCount, engineVsOrt.message).toBe(0);
    } finally {
      await session.release();
    }
  });
});

test('opsets 7 and 18: the same small chain maps to the same layers (Softmax and Squeeze/Unsqueeze forms by opset)', () => {
  for (const opset of [7, 8, 9, 11, 13, 17, 18]) {
    const contents = readOnnx(chain((g) => {
      const gemm = g.node!.find((n) => n.op_type === 'Gemm')!;
      gemm.output = ['logits'];
      g.node!.push({ op_type: 'Softmax', input: ['logits'], output: ['output'], attribute: [] });
    }, opset));
    expect(contents.architecture!.layers.map((l) => l.type), `opset ${opset}`).toEqual(['conv', 'activation', 'pool', 'dense', 'softmax']);
  }
});

test.describe('class names', () => {
  test('ONNX metadata_props labels: a JSON array (keras.onnx) and comma-separated (colour.onnx)', () => {
    expect(modelInfo(loadWeights(readReaderFile('keras.onnx'))).labels).toEqual(fixture('keras.onnx').labels);
    expect(modelInfo(loadWeights(readReaderFile('colour.onnx'))).labels).toEqual(fixture('colour.onnx').labels);
  });

  test('the labels option wins; a wrong count or a non-string is an InputError saying what was expected', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    expect(modelInfo(loadWeights(readReaderFile('keras.onnx'), { labels: names })).labels).toEqual(names);
    expect(() => loadWeights(readReaderFile('keras.onnx'), { labels: names.slice(1) })).toThrow(/labels: expected one class name per class \(10\), found 9/);
    expect(() => loadWeights(readReaderFile('keras.onnx'), { labels: [...names.slice(1), 3] as unknown as string[] })).toThrow(InputError);
  });

  test("safetensors __metadata__['lenet5.labels'] round-trips through saveWeights; a bad one is a WeightsFileError", () => {
    const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
    const saved = saveWeights(loadWeights(readReaderFile('d2l-lenet.params'), { labels: names }));
    expect(modelInfo(loadWeights(saved)).labels).toEqual(names);
    const contents = readWeightsFile(saved);
    for (const bad of ['["one"]', 'not json', '[1,2,3,4,5,6,7,8,9,10]']) {
      expect(() => modelWeightsFrom({ ...contents, metadata: { ...contents.metadata, 'lenet5.labels': bad } }), bad).toThrow(WeightsFileError);
    }
  });

  test("a preset's own labels when the file has none: the CIFAR-10 tutorial Net's ten classes", () => {
    const preset = presetModel('pytorch-cifar10-tutorial')!;
    const tensors = new Map(preset.tensors.map((t) => [t.name, { shape: [...t.shape], data: new Float32Array(t.shape.reduce((a, b) => a * b, 1)) }] as const));
    expect(modelInfo(modelWeightsFrom({ format: 'pth', tensors, metadata: {} }, { architecture: 'pytorch-cifar10-tutorial' })).labels).toEqual(kCifar10Labels);
  });
});

// ---- the matching itself, on tensors made in memory ----

const tensor = (...shape: number[]): RawTensor => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
const seedShapes: [string, number[]][] = seedModel.tensors.map((t) => [t.name, [...t.shape]]);

test.describe('matchTensors', () => {
  test('the same names: matched by name, nothing said', () => {
    const match = matchTensors(seedModel, new Map(seedShapes.map(([n, s]) => [n, tensor(...s)])));
    expect('how' in match && match.how).toBe('names');
    expect('said' in match && match.said).toBeFalsy();
  });

  test('a module declared in another order than it runs (fc layers first): matched by shape, and said', () => {
    const file = new Map<string, RawTensor>([
      ['classifier.0.weight', tensor(120, 400)], ['classifier.0.bias', tensor(120)],
      ['classifier.2.weight', tensor(84, 120)], ['classifier.2.bias', tensor(84)],
      ['classifier.4.weight', tensor(10, 84)], ['classifier.4.bias', tensor(10)],
      ['features.0.weight', tensor(6, 1, 5, 5)], ['features.0.bias', tensor(6)],
      ['features.3.weight', tensor(16, 6, 5, 5)], ['features.3.bias', tensor(16)],
    ]);
    const match = matchTensors(seedModel, file);
    if (!('how' in match)) throw new Error(match.message);
    expect(match.said).toContain("not in the file's order");
    expect(match.said).toContain('features.0 → conv1, features.3 → conv2, classifier.0 → fc1');
    expect(match.tensors.get('fc1.weight')).toBe(file.get('classifier.0.weight'));
  });

  test('the tensors carry the spec\'s names, each the file\'s own data', () => {
    const file = new Map(seedShapes.map(([n, s], i) => [`${Math.floor(i / 2) * 3}.${n.split('.')[1]}`, tensor(...s)] as const));
    const match = matchTensors(seedModel, file);
    if (!('how' in match)) throw new Error(match.message);
    expect([...match.tensors.keys()]).toEqual(seedShapes.map(([n]) => n));
    expect(match.tensors.get('conv2.weight')).toBe(file.get('3.weight'));
  });

  test('a prefix is stripped only where every name shares it, up to a module and a role', () => {
    const file = new Map([['module.net.0.weight', tensor(1)], ['module.net.3.bias', tensor(1)]]);
    expect(stripSharedPrefix(file).prefix).toBe('module.net.');
    expect([...stripSharedPrefix(file).stripped.keys()]).toEqual(['0.weight', '3.bias']);
    expect(stripSharedPrefix(new Map([['features.0.weight', tensor(1)], ['classifier.0.weight', tensor(1)]])).prefix).toBe('');
    expect(stripSharedPrefix(new Map([['conv1.weight', tensor(1)], ['conv1.bias', tensor(1)]])).prefix).toBe('');
  });

  test('refused: a tensor too many, one too few, a shape that fits no layer, two weights in one module', () => {
    const base = seedShapes.map(([n, s], i): [string, RawTensor] => [`${Math.floor(i / 2)}.${n.split('.')[1]}`, tensor(...s)]);
    const refusals: [string, [string, RawTensor][]][] = [
      ['an extra module', [...base, ['9.weight', tensor(3, 3)], ['9.bias', tensor(3)]]],
      ['a missing bias', base.filter(([n]) => n !== '4.bias')],
      ['a wrong shape', base.map(([n, t]): [string, RawTensor] => [n, n === '2.weight' ? tensor(121, 400) : t])],
      ['an extra role', [...base, ['0.scale', tensor(6)]]],
    ];
    for (const [what, entries] of refusals) {
      const match = matchTensors(seedModel, new Map(entries));
      expect('how' in match, what).toBe(false);
      expect(() => modelWeightsFrom({ format: 'pth', tensors: new Map(entries), metadata: {} }, { architecture: 'seed' }), what).toThrow(ModelMismatchError);
    }
  });

  test('a custom description with its own tensor names takes the file\'s by order', () => {
    const spec = buildArchitecture({
      inputSize: 28,
      layers: [
        { type: 'conv', outChannels: 2, padding: 2, weight: 'W1', bias: 'B1' }, { type: 'pool', mode: 'max' },
        { type: 'dense', outFeatures: 10, weight: 'W2', bias: 'B2' },
      ],
    });
    const match = matchTensors(spec, new Map([['0.weight', tensor(2, 1, 5, 5)], ['0.bias', tensor(2)], ['3.weight', tensor(10, 392)], ['3.bias', tensor(10)]]));
    if (!('how' in match)) throw new Error(match.message);
    expect([...match.tensors.keys()].sort()).toEqual(['B1', 'B2', 'W1', 'W2']);
  });
});
