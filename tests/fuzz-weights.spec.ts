/**
 * Fuzzing the weights loader (`loadWeights`: safetensors parsing + model validation) with
 * hostile and broken files: every truncation of real model files, seeded random byte flips,
 * and hand-crafted headers (tests/fuzz-cases.ts).
 *
 * Every case must end in a WeightsFileError or ModelMismatchError (never another exception),
 * within 100 ms of CPU time (wall-clock time is reported, re-measured when another job
 * preempted the first try), or load a file that the independent oracle (tests/fuzz-oracle.ts) confirms
 * encodes exactly what the loader returned. Random flips inside tensor data must be accepted
 * exactly when every value they produce is finite, and otherwise rejected at the first
 * non-finite element's byte offset. Heap growth across each run is measured after forced GCs.
 */
import { expect, test } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { ModelMismatchError, WeightsFileError } from '../src/errors.js';
import { classicModel, seedModel } from '../src/model/presets.js';
import { Prng } from '../src/model/prng.js';
import { randomWeights } from '../src/model/random.js';
import type { ModelWeights } from '../src/model/model-weights.js';
import type { ModelId } from '../src/model/spec.js';
import { loadWeights, saveWeights } from '../src/formats/load.js';
import { asF16File, craftedCases, type Outcome } from './fuzz-cases.js';
import { oracleRead, oracleValues, verifyAccepted } from './fuzz-oracle.js';
import { heapBytes, sleep } from './fuzz-measure.js';

const kTimeLimitMs = 100;
/** Heap (JS + ArrayBuffers) may grow this much across a whole run: no leak, no retained files. */
const kHeapGrowthBound = 8 * 2 ** 20;
/**
 * What one crafted case may allocate (heap + ArrayBuffers, transient garbage included: no GC
 * runs inside a case), per byte of its file. Decoding a tensor needs a few copies, and
 * unoptimised code boxes doubles; a buffer sized by a header number (e.g. a shape claiming
 * 10^8 elements) would be thousands of times the file.
 */
const kAllocationPerFileByte = 64;
const kFlipsPerGeneratedFile = 5_000;
const kFlipsPerShippedFile = 2_000;


interface Result {
  outcome: Outcome;
  error?: WeightsFileError | ModelMismatchError;
  ms: number;
  /** Process CPU time (all threads, GC helpers included). */
  cpuMs: number;
  /** Heap + ArrayBuffer bytes the load left allocated (when measured; no GC runs inside it). */
  allocated: number;
}

/**
 * Loads `bytes` (timed, and with `measure` its allocation measured), then verifies an accepted
 * file against the oracle. Any exception other than the two typed errors fails the test.
 */
function attempt(bytes: Uint8Array, what: string, measure: boolean): Result {
  const heapBefore = measure ? heapBytes() : 0;
  const allocated = () => {
    if (!measure) return 0;
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers - heapBefore;
  };
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const cpuMs = () => {
    const { user, system } = process.cpuUsage(cpuStart);
    return (user + system) / 1000;
  };
  let weights: ModelWeights;
  try {
    weights = loadWeights(bytes);
  } catch (e) {
    const ms = performance.now() - start;
    if (e instanceof WeightsFileError) return { outcome: 'file', error: e, ms, cpuMs: cpuMs(), allocated: allocated() };
    if (e instanceof ModelMismatchError) return { outcome: 'model', error: e, ms, cpuMs: cpuMs(), allocated: allocated() };
    throw new Error(`${what}: expected WeightsFileError or ModelMismatchError, got ${String(e)}`, { cause: e });
  }
  const result: Result = { outcome: 'accept', ms: performance.now() - start, cpuMs: cpuMs(), allocated: allocated() };
  verifyAccepted(bytes, weights);
  return result;
}

/** Tallies of a run, printed at its end. */
class Tally {
  cases = 0;
  rejected = 0;
  accepted = 0;
  maxMs = 0;
  slowest = '';
  /** Process CPU time of the first try: what the case costs, whatever else runs on the machine. */
  maxCpuMs = 0;
  mostCpu = '';
  /** Cases over the time limit on first try, re-timed to tell preemption from real cost. */
  retimed = 0;
  maxFirstMs = 0;
  readonly acceptedBy = new Map<string, number>();

  /**
   * Runs one case, timing it. The CPU is shared (other jobs preempt this one for tens of ms),
   * so a case over the limit in wall time is re-timed up to 4 times, 30 ms apart, and the best
   * wall time is reported; the first try's CPU time is what the bound applies to.
   */
  run(bytes: Uint8Array, what: string, measure = false): Result {
    let result = attempt(bytes, what, measure);
    if (result.ms > kTimeLimitMs) {
      this.retimed++;
      this.maxFirstMs = Math.max(this.maxFirstMs, result.ms);
      for (let i = 0; i < 4 && result.ms > kTimeLimitMs; i++) {
        sleep(30);
        const again = attempt(bytes, what, false);
        result = { ...result, ms: Math.min(result.ms, again.ms) };
      }
    }
    this.cases++;
    if (result.outcome === 'accept') this.accepted++;
    else this.rejected++;
    if (result.ms > this.maxMs) [this.maxMs, this.slowest] = [result.ms, what];
    if (result.cpuMs > this.maxCpuMs) [this.maxCpuMs, this.mostCpu] = [result.cpuMs, what];
    return result;
  }

  acceptedAs(kind: string): void {
    this.acceptedBy.set(kind, (this.acceptedBy.get(kind) ?? 0) + 1);
  }

  report(title: string, heapGrowth: number): void {
    const kinds = [...this.acceptedBy].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    console.log(
      `[fuzz] ${title}: ${this.cases} cases, ${this.rejected} rejected with a typed error, ` +
        `${this.accepted} accepted-and-verified (${kinds}); max ${this.maxMs.toFixed(2)} ms wall (${this.slowest}), ` +
        `max ${this.maxCpuMs.toFixed(2)} ms CPU (${this.mostCpu}); ` +
        `${this.retimed} over ${kTimeLimitMs} ms on first try (worst ${this.maxFirstMs.toFixed(0)} ms) and re-timed; heap growth ${(heapGrowth / 1024).toFixed(0)} KiB`,
    );
    // The bound is on CPU time: on a shared machine the wall clock also counts time other jobs
    // held the CPU (seen: 290 ms wall for a case that used 0.3 ms of CPU). Wall time is reported.
    expect(this.maxCpuMs, `costliest case: ${this.mostCpu}`).toBeLessThanOrEqual(kTimeLimitMs);
    expect(heapGrowth).toBeLessThan(kHeapGrowthBound);
  }
}

interface ModelFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly flips: number;
  /** Every truncation length too (one file per model and dtype is enough: same writer). */
  readonly truncations: boolean;
  /** Bytes per tensor element (every tensor of a file has the same dtype here). */
  readonly elementSize: 4 | 2;
}

/** The shipped weights, seeded random files of both models, and an F16 file. */
function modelFiles(): ModelFile[] {
  const shipped = readdirSync('weights').filter((f) => f.endsWith('.safetensors')).sort();
  const shippedModels = new Set(shipped.map((f) => loadWeights(new Uint8Array(readFileSync(`weights/${f}`))).spec.id));
  const generated = (name: string, bytes: Uint8Array, id: ModelId): ModelFile =>
    ({ name, bytes, flips: kFlipsPerGeneratedFile, truncations: !shippedModels.has(id), elementSize: 4 });
  return [
    generated('random seed model', saveWeights(randomWeights(seedModel, 11)), 'seed'),
    generated('random classic scaled-tanh model', saveWeights(randomWeights(classicModel('scaled-tanh'), 11)), 'classic'),
    {
      name: 'random classic sigmoid model as F16',
      bytes: asF16File(saveWeights(randomWeights(classicModel('sigmoid'), 12))),
      flips: kFlipsPerShippedFile,
      truncations: true,
      elementSize: 2,
    },
    ...shipped.map((f): ModelFile => ({
      name: `weights/${f}`,
      bytes: new Uint8Array(readFileSync(`weights/${f}`)),
      flips: kFlipsPerShippedFile,
      truncations: true,
      elementSize: 4,
    })),
  ];
}

for (const file of modelFiles()) {
  test.describe(file.name, () => {
    if (file.truncations) {
      test('every truncation length is rejected with WeightsFileError', () => {
        test.setTimeout(600_000);
        const tally = new Tally();
        const before = heapBytes();
        for (let length = 0; length < file.bytes.length; length++) {
          const result = tally.run(file.bytes.subarray(0, length), `truncated to ${length} bytes`);
          if (result.outcome !== 'file') throw new Error(`truncated to ${length} bytes: ${result.outcome} instead of WeightsFileError`);
        }
        expect(tally.cases).toBe(file.bytes.length);
        tally.report(`${file.name}, every truncation (${file.bytes.length} bytes)`, heapBytes() - before);
      });
    }

    test(`${file.flips} seeded random byte flips: typed error, or accepted and verified`, () => {
      test.setTimeout(600_000);
      const original = oracleRead(file.bytes);
      const rng = new Prng(0x5eed + file.bytes.length);
      const tally = new Tally();
      const before = heapBytes();
      let dataFlips = 0;
      let nonFinite = 0;
      for (let i = 0; i < file.flips; i++) {
        // Half the mutants aim at the length prefix and header, where the parser's logic is; a
        // quarter anywhere; a quarter set a float's exponent to all ones (Inf or NaN), which
        // random flips in data rarely do.
        const mutant = file.bytes.slice();
        const at: number[] = [];
        if (i % 4 === 3) {
          const size = file.elementSize;
          const element = rng.integer((file.bytes.length - original.dataStart) / size);
          const position = original.dataStart + size * element + size - 1; // the sign/exponent byte
          mutant[position]! |= size === 4 ? 0x7f : 0x7c;
          if (size === 4) mutant[position - 1]! |= 0x80;
          at.push(position);
        } else {
          const span = i % 2 === 0 ? original.dataStart : file.bytes.length;
          const flips = 1 + (rng.next() < 0.25 ? rng.integer(3) : 0);
          for (let f = 0; f < flips; f++) {
            const position = rng.integer(span);
            mutant[position]! ^= 1 + rng.integer(255);
            at.push(position);
          }
        }
        const what = `mutant ${i} (bytes ${at.join(', ')} changed)`;
        const result = tally.run(mutant, what);
        if (at.every((p) => p >= original.dataStart)) {
          dataFlips++;
          if (!checkDataMutant(mutant, original, result, what)) nonFinite++;
          if (result.outcome === 'accept') tally.acceptedAs('tensor data');
        } else if (result.outcome === 'accept') {
          tally.acceptedAs(headerChangeKind(file.bytes, mutant, what));
        }
      }
      expect(tally.cases).toBe(file.flips);
      expect(dataFlips).toBeGreaterThan(file.flips / 3);
      expect(nonFinite).toBeGreaterThanOrEqual(file.flips / 4);
      tally.report(`${file.name}, ${file.flips} random flips (${dataFlips} in tensor data, ${nonFinite} of them non-finite)`, heapBytes() - before);
    });
  });
}

/**
 * A mutant whose flips all lie in tensor data must load iff every value is still finite,
 * and otherwise be rejected at the first non-finite element (in header order). Returns
 * whether every value was finite.
 */
function checkDataMutant(mutant: Uint8Array, original: ReturnType<typeof oracleRead>, result: Result, what: string): boolean {
  let firstBad: number | undefined;
  for (const entry of original.entries) {
    const values = oracleValues(mutant, original, entry);
    const index = values.findIndex((v) => !Number.isFinite(v));
    if (index >= 0) {
      firstBad = original.dataStart + entry.begin + index * (entry.dtype === 'F32' ? 4 : 2);
      break;
    }
  }
  if (firstBad === undefined) {
    if (result.outcome !== 'accept') throw new Error(`${what}: only finite values changed, yet rejected: ${result.error?.message}`);
    return true;
  }
  if (!(result.error instanceof WeightsFileError) || result.error.byteOffset !== firstBad) {
    throw new Error(`${what}: non-finite value at byte ${firstBad}: expected WeightsFileError there, got ${result.outcome} ${result.error?.message ?? ''}`);
  }
  return false;
}

/** What an accepted header mutant changed: tensor entries must be untouched. */
function headerChangeKind(originalBytes: Uint8Array, mutant: Uint8Array, what: string): string {
  const before = oracleRead(originalBytes);
  const after = oracleRead(mutant);
  if (JSON.stringify(before.entries) !== JSON.stringify(after.entries) || before.dataStart !== after.dataStart) {
    throw new Error(`${what}: accepted, but its tensor entries changed: ${JSON.stringify(after.entries).slice(0, 300)}`);
  }
  return JSON.stringify(before.metadata) === JSON.stringify(after.metadata) ? 'header whitespace' : 'metadata text';
}

test('crafted hostile headers: each gets its expected typed error, or loads and verifies', () => {
  test.setTimeout(300_000);
  const cases = craftedCases();
  const tally = new Tally();
  const before = heapBytes();
  let maxRetainedRatio = 0;
  const wrong: string[] = [];
  for (const c of cases) {
    // Measured: what the load allocates; a buffer sized by a header number would show here.
    const result = tally.run(c.bytes, c.name, true);
    maxRetainedRatio = Math.max(maxRetainedRatio, result.allocated / Math.max(c.bytes.length, 2 ** 16));
    if (result.outcome !== c.outcome) wrong.push(`${c.name}: expected ${c.outcome}, got ${result.outcome} ${result.error?.message ?? ''}`);
    const message = result.error?.message;
    if (message !== undefined && !(message.includes('expected') && message.includes('found'))) {
      wrong.push(`${c.name}: the message should say what was expected and what was found: ${message}`);
    }
    if (result.outcome === 'accept') tally.acceptedAs('valid control');
  }
  expect(wrong, wrong.join('\n')).toEqual([]);
  expect(cases.length).toBeGreaterThanOrEqual(100);
  console.log(`[fuzz] crafted: allocation left by a case at most ${maxRetainedRatio.toFixed(1)}× max(file size, 64 KiB)`);
  expect(maxRetainedRatio).toBeLessThan(kAllocationPerFileByte);
  tally.report(`${cases.length} crafted headers`, heapBytes() - before);
});
