/**
 * loadWeights / saveWeights (src/formats/load.ts): which model a file holds, its
 * preprocessing, and every tensor checked against the model's spec.
 */
import { expect, test } from '@playwright/test';
import { ModelMismatchError, WeightsFileError } from '../src/errors.js';
import { classicModel, seedModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import type { ModelSpec } from '../src/model/spec.js';
import { loadWeights, saveWeights } from '../src/formats/load.js';
import { parseSafetensors, writeSafetensors, type TensorToWrite } from '../src/weights/safetensors.js';

/** The tensors of `spec` from seeded random weights, as the writer takes them. */
function tensorsOf(spec: ModelSpec, seed = 1): Map<string, TensorToWrite> {
  const weights = randomWeights(spec, seed);
  return new Map(spec.tensors.map((t) => [t.name, { shape: t.shape, data: weights.tensors.get(t.name)! }]));
}

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}

test.describe('which model a file holds', () => {
  test('a PyTorch state_dict file (no __metadata__) is assumed to be the seed model, saying so and naming the other preset its tensors fit', () => {
    const tensors = tensorsOf(seedModel);
    const weights = loadWeights(writeSafetensors(tensors));
    expect(weights.spec.id).toBe('seed');
    expect(weights.origin).toMatchObject({ format: 'safetensors', architectureFrom: 'tensors', alsoFits: ['pytorch-tutorial'] });
    expect(weights.origin?.note).toContain("its tensors fit the 'seed' preset, assumed (they fit 'pytorch-tutorial' as well)");
    expect(weights.origin?.note).toContain('pass its architecture');
    expect(weights.preprocessing).toEqual({ pad: 0, background: 0, ink: 1 });
    expect([...weights.tensors.keys()]).toEqual(seedModel.tensors.map((t) => t.name));
    for (const [name, { data }] of tensors) expect(Array.from(weights.tensors.get(name)!)).toEqual(Array.from(data));
  });

  test("safetensors.torch.save_model's {format: pt} metadata is still the seed model", () => {
    const weights = loadWeights(writeSafetensors(tensorsOf(seedModel), { format: 'pt' }));
    expect(weights.spec.id).toBe('seed');
    expect(weights.metadata).toEqual({ format: 'pt' });
  });

  test('classic, sigmoid by default, scaled-tanh when the metadata says so', () => {
    const sigmoid = loadWeights(writeSafetensors(tensorsOf(classicModel()), { 'lenet5.model': 'classic' }));
    expect(sigmoid.spec.id).toBe('classic');
    expect(sigmoid.spec.layers[0]).toMatchObject({ activation: 'sigmoid' });
    expect(sigmoid.preprocessing).toEqual({ pad: 2, background: -0.1, ink: 1.175 });

    const tanh = loadWeights(
      writeSafetensors(tensorsOf(classicModel()), { 'lenet5.model': 'classic', 'lenet5.activation': 'scaled-tanh' }),
    );
    expect(tanh.spec.layers.filter((l) => l.kind !== 'rbf').every((l) => 'activation' in l && l.activation === 'scaled-tanh')).toBe(true);
  });

  test('classic tensors without metadata are recognised by name', () => {
    expect(loadWeights(writeSafetensors(tensorsOf(classicModel()))).spec.id).toBe('classic');
  });

  test('saveWeights → loadWeights is the identity (tensors, preprocessing, model, extra metadata)', () => {
    for (const spec of [seedModel, classicModel('sigmoid'), classicModel('scaled-tanh')]) {
      const original = randomWeights(spec, 7, { preprocessing: { ...spec.defaultPreprocessing, ink: 0.75 } });
      const bytes = saveWeights(original, { 'lenet5.train.epochs': '3' });
      const loaded = loadWeights(bytes);
      expect(loaded.spec.id).toBe(spec.id);
      expect(loaded.spec.title).toBe(spec.title);
      expect(loaded.preprocessing).toEqual(original.preprocessing);
      expect(loaded.metadata['lenet5.train.epochs']).toBe('3');
      expect(loaded.metadata['lenet5.model']).toBe(spec.id);
      expect(loaded.origin?.architectureFrom).toBe('file');
      expect(loaded.spec.layers).toEqual(spec.layers);
      expect(loaded.spec.tensors).toEqual(spec.tensors);
      for (const t of spec.tensors) {
        expect(Array.from(loaded.tensors.get(t.name)!), t.name).toEqual(Array.from(original.tensors.get(t.name)!));
      }
      // Byte-stable: saving what was loaded writes the same file.
      expect(Array.from(saveWeights(loaded))).toEqual(Array.from(bytes));
    }
  });

  test('F16 files load, widened to float32', () => {
    // A seed file re-encoded by hand with every tensor in F16 (all values 0.5 = 0x3800).
    const entries: string[] = [];
    let offset = 0;
    for (const t of [...seedModel.tensors].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const size = t.shape.reduce((a, b) => a * b, 1) * 2;
      entries.push(`"${t.name}":{"dtype":"F16","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + size}]}`);
      offset += size;
    }
    const json = new TextEncoder().encode(`{${entries.join(',')}}`);
    const bytes = new Uint8Array(8 + json.length + offset);
    new DataView(bytes.buffer).setUint32(0, json.length, true);
    bytes.set(json, 8);
    for (let i = 8 + json.length; i < bytes.length; i += 2) bytes[i + 1] = 0x38;
    const weights = loadWeights(bytes);
    expect(weights.tensors.get('fc1.weight')!.length).toBe(48000);
    expect(weights.tensors.get('fc1.weight')!.every((v) => v === 0.5)).toBe(true);
  });
});

test.describe('mismatches are ModelMismatchError naming the tensor, expected and found', () => {
  test('missing tensor', () => {
    const tensors = tensorsOf(seedModel);
    tensors.delete('fc2.bias');
    const e = thrown(() => loadWeights(writeSafetensors(tensors)));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect((e as ModelMismatchError).tensor).toBe('fc2.bias');
    expect(e.message).toMatch(/model 'seed' needs 10 tensors; 1 missing \(fc2\.bias\): expected shape \[84\], found no tensor/);
  });

  test('unknown tensor', () => {
    const tensors = tensorsOf(seedModel);
    tensors.set('fc4.weight', { shape: [1], data: new Float32Array([1]) });
    const e = thrown(() => loadWeights(writeSafetensors(tensors)));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect((e as ModelMismatchError).tensor).toBe('fc4.weight');
    expect(e.message).toContain("tensor 'fc4.weight'");
    expect(e.message).toContain('expected only conv1.weight');
  });

  test('wrong shape, even with the right element count', () => {
    const tensors = tensorsOf(seedModel);
    // fc1.weight transposed: [400, 120] holds 48,000 values like [120, 400] but is another layout.
    tensors.set('fc1.weight', { shape: [400, 120], data: tensors.get('fc1.weight')!.data });
    const e = thrown(() => loadWeights(writeSafetensors(tensors)));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect((e as ModelMismatchError).tensor).toBe('fc1.weight');
    expect(e.message).toContain('expected [120, 400], found [400, 120]');
  });

  test('c3.weight stored dense ([16, 6, 5, 5]) is not the classic sparse layout', () => {
    const tensors = tensorsOf(classicModel());
    tensors.set('c3.weight', { shape: [16, 6, 5, 5], data: new Float32Array(2400) });
    const e = thrown(() => loadWeights(writeSafetensors(tensors, { 'lenet5.model': 'classic' })));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect(e.message).toContain("expected [60, 5, 5], found [16, 6, 5, 5] (tensor 'c3.weight')");
  });

  test('valid safetensors of the wrong model: classic tensors labelled seed', () => {
    const e = thrown(() => loadWeights(writeSafetensors(tensorsOf(classicModel()), { 'lenet5.model': 'seed' })));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect((e as ModelMismatchError).tensor).toBe('conv1.weight');
  });

  test('tensors of no known model', () => {
    const e = thrown(() => loadWeights(writeSafetensors(new Map([['encoder.w', { shape: [1], data: new Float32Array(1) }]]))));
    expect(e).toBeInstanceOf(ModelMismatchError);
    expect(e.message).toContain('expected the tensors of a preset (seed, pytorch-tutorial, classic, classic-scaled-tanh, caffe-lenet, d2l-lenet-bn, pytorch-cifar10-tutorial)');
    expect(e.message).toContain('or an architecture option (a JSON description, docs/formats.md), found encoder.w [1]');
  });
});

test.describe('bad metadata is a WeightsFileError naming the key, expected and found', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['unknown model', { 'lenet5.model': 'alexnet' }, "__metadata__['lenet5.model']: expected a preset name (seed, pytorch-tutorial, classic, classic-scaled-tanh, caffe-lenet, d2l-lenet-bn, pytorch-cifar10-tutorial), or a 'lenet5.architecture' description, found 'alexnet'"],
    ['unknown activation', { 'lenet5.model': 'classic', 'lenet5.activation': 'relu' }, "expected 'sigmoid' or 'scaled-tanh', found 'relu'"],
    ['seed with another activation', { 'lenet5.model': 'seed', 'lenet5.activation': 'scaled-tanh' }, "expected 'sigmoid' (the seed model's only activation)"],
    ['non-numeric background', { 'lenet5.input.background': 'white' }, "__metadata__['lenet5.input.background']: expected a finite decimal number, found 'white'"],
    ['infinite ink', { 'lenet5.input.ink': '1e999' }, "expected a finite decimal number, found '1e999'"],
    ['empty ink', { 'lenet5.input.ink': '' }, "expected a finite decimal number, found ''"],
    ['pad that does not fit the input', { 'lenet5.input.pad': '2' }, "__metadata__['lenet5.input.pad']: expected 0 (28×28 images into a 28×28 input), found '2'"],
    ['ink equal to background', { 'lenet5.input.ink': '0' }, "expected a value different from the background (0), found '0'"],
  ];
  for (const [what, metadata, message] of cases) {
    test(what, () => {
      const e = thrown(() => loadWeights(writeSafetensors(tensorsOf(metadata['lenet5.model'] === 'classic' ? classicModel() : seedModel), metadata)));
      expect(e).toBeInstanceOf(WeightsFileError);
      expect(e.message).toContain(message);
    });
  }

  test('numbers in metadata may use any decimal spelling', () => {
    const weights = loadWeights(
      writeSafetensors(tensorsOf(classicModel()), {
        'lenet5.model': 'classic',
        'lenet5.input.pad': '2.0',
        'lenet5.input.background': '-1e-1',
        'lenet5.input.ink': '+1.175',
      }),
    );
    expect(weights.preprocessing).toEqual({ pad: 2, background: -0.1, ink: 1.175 });
  });
});

test('loadWeights passes the parser errors through (NaN in a real model file)', () => {
  const bytes = saveWeights(randomWeights(seedModel, 3));
  expect(parseSafetensors(bytes).tensors.has('fc3.bias')).toBe(true);
  const headerLength = new DataView(bytes.buffer).getUint32(0, true);
  // Find fc3.bias's bytes from the (well-formed) header and poison its fourth value.
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  const begin = 8 + headerLength + header['fc3.bias']!.data_offsets[0];
  new DataView(bytes.buffer).setFloat32(begin + 4 * 3, NaN, true);
  const e = thrown(() => loadWeights(bytes));
  expect(e).toBeInstanceOf(WeightsFileError);
  expect((e as WeightsFileError).tensor).toBe('fc3.bias');
  expect((e as WeightsFileError).byteOffset).toBe(begin + 12);
  expect(e.message).toContain('element 3 (of 10): expected a finite value, found NaN');
});
