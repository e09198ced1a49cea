/**
 * The PyTorch `.pth` reader (src/formats/pth.ts) on files real PyTorch 1.13 wrote
 * (tests/fixtures/pth/, made by scripts/pytorch/make_pth_fixtures.py): every tensor of every
 * file it must accept equals, value for value, what `torch.load(...).float()` gave; every file
 * it must refuse gets a WeightsFileError that names the reason, the tensor and the byte offset
 * where there is one, and says what was expected and what was found. A few crafted files
 * (tests/fuzz-pth-cases.ts) cover what torch 1.13 cannot write: big-endian storages, deflated
 * entries, other zip writers, the legacy format byte-swapped.
 */
import { expect, test } from '@playwright/test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { WeightsFileError } from '../src/errors.js';
import { looksLikePth, readPth } from '../src/formats/pth.js';
import {
  concat,
  craftedPthCases,
  f32,
  oracleZipEntries,
  PickleWriter,
  stateDictPickle,
  writeLegacy,
  writePth,
  writeZip,
  type TensorSpec,
} from './fuzz-pth-cases.js';

const kDir = 'tests/fixtures/pth';

interface ExpectedTensor {
  shape: number[];
  dtype: string;
  values: number[];
}
interface ExpectedFile {
  how: string;
  path?: string[];
  tensors?: Record<string, ExpectedTensor>;
}
const expected = JSON.parse(readFileSync(`${kDir}/expected.json`, 'utf8')) as { torch: string; files: Record<string, ExpectedFile> };

const isTorchFile = (name: string) => /\.pth?$/.test(name);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${kDir}/${name}`));
}

/** Throws unless `bytes` are refused with a WeightsFileError whose message holds every fragment. */
function refusal(bytes: Uint8Array, fragments: string[], where: { tensor?: string; byteOffset?: number } = {}): WeightsFileError {
  let error: unknown;
  try {
    readPth(bytes);
  } catch (e) {
    error = e;
  }
  expect(error, 'readPth should have thrown').toBeInstanceOf(WeightsFileError);
  const e = error as WeightsFileError;
  expect(e.code).toBe('weights-file');
  for (const fragment of ['expected', 'found', ...fragments]) expect(e.message).toContain(fragment);
  if ('tensor' in where) {
    expect(e.tensor).toBe(where.tensor);
    expect(e.message).toContain(`tensor '${where.tensor}'`);
  }
  if ('byteOffset' in where) expect(e.byteOffset).toBe(where.byteOffset);
  return e;
}

/** File offset of a zip entry's data, read from the central directory and local header. */
function entryData(bytes: Uint8Array, name: string): number {
  const entry = oracleZipEntries(bytes).find((e) => e.name === name);
  if (!entry) throw new Error(`no entry ${name}`);
  return entry.data;
}

test.describe('files PyTorch wrote', () => {
  test(`expected.json comes from torch ${expected.torch} and lists every fixture`, () => {
    const files = readdirSync(kDir).filter(isTorchFile).sort();
    expect(Object.keys(expected.files).sort()).toEqual(files);
    expect(files.length).toBeGreaterThanOrEqual(18);
  });

  for (const [name, file] of Object.entries(expected.files).filter(([, f]) => f.tensors)) {
    test(`${name}: every tensor exactly as torch.load gave it (${file.how})`, () => {
      const bytes = fixture(name);
      expect(looksLikePth(bytes)).toBe(true);
      const contents = readPth(bytes);
      expect(contents.format).toBe('pth');
      // A checkpoint says where its state_dict was; a state_dict saved alone has no metadata.
      expect(contents.metadata).toEqual(name === 'checkpoint.pth' ? { 'pth.state_dict': "checkpoint['model']" } : {});
      expect(contents.architecture).toBeUndefined();
      const want = file.tensors!;
      expect([...contents.tensors.keys()]).toEqual(Object.keys(want));
      for (const [tensor, { shape, values }] of Object.entries(want)) {
        const got = contents.tensors.get(tensor)!;
        expect(got.shape, tensor).toEqual(shape);
        expect(got.data.length, tensor).toBe(values.length);
        const wrong = values.flatMap((v, i) => (Object.is(got.data[i], Math.fround(v)) ? [] : [`[${i}] expected ${v}, found ${got.data[i]}`]));
        expect(wrong.slice(0, 5), `${tensor}: ${wrong.length} values differ`).toEqual([]);
      }
    });
  }

  test('lenet.pth in every dtype and layout holds the same net: float16/bfloat16 within their rounding of float32', () => {
    const reference = readPth(fixture('lenet.pth')).tensors;
    for (const name of ['lenet-protocol4.pth', 'lenet-legacy.pth']) {
      const other = readPth(fixture(name)).tensors;
      for (const [tensor, { data }] of reference) expect(other.get(tensor)!.data, `${name} ${tensor}`).toEqual(data);
    }
    for (const [name, relative] of [['lenet-f16.pth', 2 ** -11], ['lenet-bf16.pth', 2 ** -8]] as const) {
      const other = readPth(fixture(name)).tensors;
      for (const [tensor, { data }] of reference) {
        const got = other.get(tensor)!.data;
        data.forEach((v, i) => expect(Math.abs(got[i]! - v), `${name} ${tensor}[${i}]`).toBeLessThanOrEqual(relative * Math.abs(v) + 2 ** -24));
      }
    }
  });

  test('views.pth: offsets, transposes, column slices, stride-0 expands, 0-d and empty tensors', () => {
    const t = readPth(fixture('views.pth')).tensors;
    const base = Array.from({ length: 24 }, (_, i) => (i + 1) / 8);
    expect(t.get('whole')!.shape).toEqual([4, 6]);
    expect([...t.get('transposed')!.data]).toEqual(Array.from({ length: 24 }, (_, i) => base[(i % 4) * 6 + Math.floor(i / 4)]));
    expect([...t.get('columns')!.data]).toEqual([0, 1, 2, 3].flatMap((r) => [2, 3, 4].map((c) => base[r * 6 + c])));
    expect([...t.get('every_other')!.data]).toEqual([3, 8, 13, 18, 23].map((i) => base[i]));
    expect(t.get('element')!.shape).toEqual([]);
    expect([...t.get('element')!.data]).toEqual([3]);
    expect([...t.get('expanded')!.data]).toEqual(new Array(12).fill(0.125));
    expect(t.get('empty')!.shape).toEqual([4, 0]);
    expect(t.get('empty')!.data.length).toBe(0);
  });

  test('tensors own their memory: not views of the file, not of each other', () => {
    const bytes = fixture('views.pth');
    const t = readPth(bytes).tensors;
    const before = [...t.get('whole')!.data];
    t.get('same_as_whole')!.data[0] = 99;
    bytes.fill(0);
    expect([...t.get('whole')!.data]).toEqual(before);
  });

  test("checkpoint.pth: the state_dict under 'model' is read; the optimizer's tensors and the epoch are not", () => {
    const contents = readPth(fixture('checkpoint.pth'));
    expect([...contents.tensors.keys()]).toEqual(Object.keys(expected.files['checkpoint.pth']!.tensors!));
  });
});

test.describe('files PyTorch wrote that the reader refuses, saying why', () => {
  test('module.pth (torch.save(model)): save model.state_dict() instead', () => {
    const bytes = fixture('module.pth');
    refusal(bytes, ["'__main__.TinyLeNet'", 'torch.save(model)', 'model.state_dict()'], { byteOffset: entryData(bytes, 'module/data.pkl') + 2 });
  });

  test('module-legacy.pth (torch.save(model), legacy format): the class is a persistent id; save model.state_dict() instead', () => {
    refusal(fixture('module-legacy.pth'), ['global __main__.TinyLeNet', 'torch.save(model)', 'model.state_dict()']);
  });

  test('torchscript.pt (torch.jit.save): TorchScript, not a state_dict', () => {
    refusal(fixture('torchscript.pt'), ['TorchScript archive', 'model.state_dict()'], { byteOffset: 0 });
  });

  test('batchnorm.pth: the int64 num_batches_tracked is read and set aside, the float tensors kept', () => {
    const contents = readPth(fixture('batchnorm.pth'));
    expect(contents.ignored).toEqual([{ name: 'bn1.num_batches_tracked', dtype: 'int64', shape: [] }]);
    expect([...contents.tensors.keys()]).toEqual(['conv1.weight', 'conv1.bias', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var']);
  });

  test('int-tensor.pth: an int32 tensor is read and set aside, not converted', () => {
    const contents = readPth(fixture('int-tensor.pth'));
    expect(contents.ignored).toEqual([expect.objectContaining({ name: 'fc.index', dtype: 'int32' })]);
    expect(contents.tensors.has('fc.index')).toBe(false);
  });

  test('nan.pth: the NaN named by tensor, element and byte', () => {
    const bytes = fixture('nan.pth');
    refusal(bytes, ['element 1 (of 2)', 'NaN'], { tensor: 'fc.bias', byteOffset: entryData(bytes, 'nan/data/1') + 4 });
  });

  test('overflow-f64.pth: a float64 beyond float32 named by tensor, element and byte', () => {
    const bytes = fixture('overflow-f64.pth');
    refusal(bytes, ['element 1 (of 2)', '-1e+39', "beyond float32's range"], { tensor: 'fc.weight', byteOffset: entryData(bytes, 'overflow-f64/data/0') + 8 });
  });

  test('tensor.pth (torch.save(tensor)): a state_dict is expected', () => {
    refusal(fixture('tensor.pth'), ['a state_dict', 'torch.save(tensor)']);
  });

  test("ambiguous.pth ({'model': …, 'ema': …}): the one under 'model' is read, and said", () => {
    const contents = readPth(fixture('ambiguous.pth'));
    expect(contents.metadata['pth.state_dict']).toBe("checkpoint['model']");
    expect(contents.tensors.size).toBeGreaterThan(0);
  });
});

test.describe('what torch 1.13 does not write', () => {
  const weight: TensorSpec = { name: 'fc.weight', storage: '0', numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] };
  const values = [0.5, -1, 2, 0.25, -0.125, 3];
  const encoder = new TextEncoder();
  const bigEndian = (bytes: Uint8Array) => Uint8Array.from(bytes, (_, i) => bytes[i - (i % 4) + 3 - (i % 4)]!);

  test("byteorder 'big' (PyTorch 2.x on big-endian machines): storages byte-swapped to the same values", () => {
    const bytes = writePth(stateDictPickle([weight]), { '0': bigEndian(f32(...values)) }, [{ name: 'archive/byteorder', data: encoder.encode('big') }]);
    expect([...readPth(bytes).tensors.get('fc.weight')!.data]).toEqual(values);
  });

  test('deflated entries, and archives written by fflate: the same tensors', () => {
    const pickle = stateDictPickle([weight]);
    const entries = [{ name: 'w/data.pkl', data: pickle }, { name: 'w/data/0', data: f32(...values) }];
    for (const bytes of [
      writeZip(entries.map((e) => ({ ...e, method: 8 }))).bytes,
      writeZip(entries, 'plain').bytes,
    ]) {
      expect([...readPth(bytes).tensors.get('fc.weight')!.data]).toEqual(values);
    }
  });

  test('the legacy format, big-endian', () => {
    const pickle = new PickleWriter().proto(2).emptyDict().str('fc.weight').global('torch._utils', '_rebuild_tensor_v2').mark()
      .mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).none().tuple().persid()
      .int(0).ints([2, 3]).ints([3, 1]).bool(false).emptyDict().tuple().reduce().setitem().stop().bytes();
    const bytes = writeLegacy(pickle, [['0', 6, bigEndian(f32(...values))]], false);
    expect(looksLikePth(bytes)).toBe(true);
    expect([...readPth(bytes).tensors.get('fc.weight')!.data]).toEqual(values);
  });

  test('a pickle calling os.system is refused by name, and nothing runs', () => {
    const marker = `/tmp/lenet5-pth-${process.pid}-${Date.now()}`;
    for (const global of [['os', 'system'], ['posix', 'system'], ['subprocess', 'call']]) {
      const pickle = new PickleWriter().proto(2).global(global[0]!, global[1]!).str(`touch ${marker}`).tupleN(1).reduce().stop().bytes();
      refusal(writePth(pickle, {}), [`'${global.join('.')}'`, 'nothing was called']);
    }
    expect(existsSync(marker)).toBe(false);
  });

  test('every crafted refusal names its reason (the fuzz test runs them all; here the messages)', () => {
    const wrong: string[] = [];
    for (const c of craftedPthCases().filter((c) => c.outcome === 'file' && c.bytes.length < 200_000)) {
      try {
        readPth(c.bytes);
        wrong.push(`${c.name}: accepted`);
      } catch (e) {
        const message = e instanceof WeightsFileError ? e.message : `not a WeightsFileError: ${String(e)}`;
        if (!(e instanceof WeightsFileError) || !message.includes('expected') || !message.includes('found') || (c.says && !message.includes(c.says))) {
          wrong.push(`${c.name}: ${message}`);
        }
      }
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });
});

test('looksLikePth: zip and legacy files yes; safetensors, ONNX, empty and text no', () => {
  for (const name of readdirSync(kDir).filter(isTorchFile)) expect(looksLikePth(fixture(name)), name).toBe(true);
  const safetensors = new Uint8Array(readFileSync('tests/fixtures/pytorch/seed-pytorch.safetensors'));
  expect(looksLikePth(safetensors)).toBe(false);
  const onnx = concat(Uint8Array.of(0x08, 0x07, 0x12, 0x07), new TextEncoder().encode('pytorch'));
  expect(looksLikePth(onnx)).toBe(false);
  expect(looksLikePth(new Uint8Array(0))).toBe(false);
  expect(looksLikePth(new TextEncoder().encode('PK'))).toBe(false);
  expect(looksLikePth(Uint8Array.of(0x80, 0x02, 0x7d, 0x2e))).toBe(false); // a pickle, but not PyTorch's legacy magic
});
