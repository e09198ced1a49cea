/**
 * The readers' new paths fuzzed through the whole loader (read, match by order/role/shape,
 * batch norm checked and folded): the issue-19 fixtures (tests/fixtures/readers) truncated and
 * bit-flipped, and crafted batch-norm statistics (a negative, NaN or infinite running variance,
 * a running mean of the wrong size). Every case ends in a typed error (WeightsFileError,
 * ModelMismatchError) or a model whose tensors are all finite, within 100 ms of CPU, and no
 * case allocates by a number the file states (heap growth bounded by a multiple of the file).
 */
import { expect, test } from '@playwright/test';
import { InputError, ModelMismatchError, WeightsFileError } from '../src/errors.js';
import { loadWeights, modelWeightsFrom, type LoadOptions } from '../src/formats/load.js';
import { readOnnx } from '../src/formats/onnx.js';
import { readPth } from '../src/formats/pth.js';
import type { RawTensor } from '../src/formats/types.js';
import { Prng } from '../src/model/prng.js';
import { readReaderFile, readReaderSummary } from './reader-fixtures.js';

const kTimeLimitMs = 100;
/** Heap a case may leave behind, per byte of max(file, 64 KiB). */
const kAllocationPerFileByte = 64;

interface Outcome {
  readonly kind: 'accept' | 'file' | 'model';
  readonly message?: string;
  readonly cpuMs: number;
  readonly allocated: number;
}

function attempt(load: () => unknown, fileBytes: number): Outcome {
  const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const cpuStart = process.cpuUsage();
  const finish = (kind: Outcome['kind'], message?: string): Outcome => {
    const { user, system } = process.cpuUsage(cpuStart);
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return { kind, ...(message ? { message } : {}), cpuMs: (user + system) / 1000, allocated: (heapUsed + arrayBuffers - heapBefore) / Math.max(fileBytes, 2 ** 16) };
  };
  try {
    const weights = load() as { tensors: ReadonlyMap<string, Float32Array> };
    for (const [name, data] of weights.tensors) {
      if (!data.every(Number.isFinite)) throw new Error(`accepted with a non-finite value in '${name}'`);
    }
    return finish('accept');
  } catch (e) {
    if (e instanceof WeightsFileError) return finish('file', e.message);
    if (e instanceof ModelMismatchError) return finish('model', e.message);
    throw new Error(`expected WeightsFileError or ModelMismatchError, got ${String(e)}`, { cause: e });
  }
}

/** Min CPU time of up to five tries (the CPU is shared; one slow try is not the reader's cost). */
function timed(load: () => unknown, fileBytes: number): Outcome {
  let outcome = attempt(load, fileBytes);
  for (let i = 0; i < 4 && outcome.cpuMs > kTimeLimitMs; i++) outcome = { ...outcome, cpuMs: Math.min(outcome.cpuMs, attempt(load, fileBytes).cpuMs) };
  return outcome;
}

const summary = readReaderSummary();
const kFiles = Object.keys(summary.files).filter((name) => name !== 'd2l-lenet.params');

function optionsFor(name: string): LoadOptions {
  const architecture = summary.files[name]!.architecture;
  return architecture && !name.endsWith('.onnx') ? { architecture } : {};
}

test('the readers fixtures truncated (every 97th length) and bit-flipped (60 flips each): typed errors or finite models, within 100 ms', () => {
  test.setTimeout(240_000);
  const rng = new Prng(19);
  const wrong: string[] = [];
  let cases = 0;
  let worst = { cpuMs: 0, what: '' };
  let allocation = { ratio: 0, what: '' };
  const tally = { accept: 0, file: 0, model: 0 };
  for (const name of kFiles) {
    const bytes = readReaderFile(name);
    const options = optionsFor(name);
    const run = (mutant: Uint8Array, what: string) => {
      const outcome = timed(() => loadWeights(mutant, options), mutant.length);
      cases++;
      tally[outcome.kind]++;
      if (outcome.cpuMs > worst.cpuMs) worst = { cpuMs: outcome.cpuMs, what };
      if (outcome.allocated > allocation.ratio) allocation = { ratio: outcome.allocated, what };
      if (outcome.message && !(outcome.message.includes('expected') && outcome.message.includes('found'))) wrong.push(`${what}: ${outcome.message}`);
    };
    for (let length = 0; length < bytes.length; length += 97) run(bytes.subarray(0, length), `${name} truncated to ${length}`);
    for (let i = 0; i < 60; i++) {
      const mutant = bytes.slice();
      const position = rng.integer(bytes.length);
      mutant[position]! ^= 1 + rng.integer(255);
      run(mutant, `${name} byte ${position} flipped`);
    }
  }
  console.log(
    `[fuzz-readers] ${cases} mutants of ${kFiles.length} files: ${tally.file} WeightsFileError, ${tally.model} ModelMismatchError, ${tally.accept} accepted (finite); ` +
      `costliest ${worst.cpuMs.toFixed(1)} ms CPU (${worst.what}); heap left at most ${allocation.ratio.toFixed(1)}× max(file, 64 KiB) (${allocation.what})`,
  );
  expect(wrong, wrong.slice(0, 10).join('\n')).toEqual([]);
  expect(worst.cpuMs, worst.what).toBeLessThanOrEqual(kTimeLimitMs);
  expect(allocation.ratio, allocation.what).toBeLessThan(kAllocationPerFileByte);
});

test.describe('crafted batch-norm statistics: each a typed error naming the tensor, within 100 ms', () => {
  const bnContents = readPth(readReaderFile('bn.params'));
  const architecture = summary.files['bn.params']!.architecture!;
  const edited = (name: string, edit: (t: RawTensor) => RawTensor) =>
    new Map([...bnContents.tensors].map(([n, t]) => [n, n === name ? edit(t) : t] as const));
  const cases: [what: string, tensors: Map<string, RawTensor>, kind: Outcome['kind'], mentions: string][] = [
    ['a negative running variance', edited('1.running_var', (t) => ({ shape: t.shape, data: t.data.map((v, i) => (i === 1 ? -0.5 : v)) })), 'file', '1.running_var'],
    ['a NaN running variance', edited('5.running_var', (t) => ({ shape: t.shape, data: t.data.map((v, i) => (i === 0 ? NaN : v)) })), 'file', '5.running_var'],
    ['an infinite running mean', edited('10.running_mean', (t) => ({ shape: t.shape, data: t.data.map((v, i) => (i === 2 ? Infinity : v)) })), 'file', '10.running_mean'],
    ['a running mean of 3 values for 2 channels', edited('1.running_mean', () => ({ shape: [3], data: new Float32Array(3) })), 'model', 'running_mean [3]'],
    ['a zero-sized running variance', edited('13.running_var', () => ({ shape: [0], data: new Float32Array(0) })), 'model', 'running_var [0]'],
  ];
  for (const [what, tensors, kind, mentions] of cases) {
    test(what, () => {
      const outcome = timed(() => modelWeightsFrom({ ...bnContents, tensors }, { architecture }), 1 << 16);
      expect(outcome.kind, outcome.message).toBe(kind);
      expect(outcome.message).toContain(mentions);
      expect(outcome.cpuMs).toBeLessThanOrEqual(kTimeLimitMs);
    });
  }

  test('ONNX BatchNormalization with a negative variance (bn-graph.onnx edited): a WeightsFileError at load, naming the tensor', () => {
    const contents = readOnnx(readReaderFile('bn-graph.onnx'));
    const variance = contents.tensors.get('bn1.running_var')!;
    const tensors = new Map(contents.tensors).set('bn1.running_var', { shape: variance.shape, data: variance.data.map((v, i) => (i === 1 ? -1 : v)) });
    const outcome = timed(() => modelWeightsFrom({ ...contents, tensors }), 1 << 16);
    expect(outcome.kind, outcome.message).toBe('file');
    expect(outcome.message).toContain("'bn1.running_var'");
  });

  test('a bad labels option is an InputError, not a file error', () => {
    expect(() => loadWeights(readReaderFile('keras.onnx'), { labels: 'zero,one' as unknown as string[] })).toThrow(InputError);
  });
});
