/**
 * Fuzzing the `.pth` reader (src/formats/pth.ts) with broken and hostile files: every
 * truncation of files PyTorch wrote, seeded random byte flips (raw; and, past the CRC check,
 * flips inside the pickle and inside tensor data with the entry's CRC-32 rewritten to match),
 * and the crafted cases of tests/fuzz-pth-cases.ts (zip bombs, lying sizes, overlapping
 * entries, pickles calling os.system, deep and cyclic pickles, huge length prefixes, views
 * their storages cannot hold).
 *
 * Every case must end in a WeightsFileError (any other exception fails the test) within
 * 100 ms of CPU time, or load a file that the independent oracle (oracleReadPth) confirms
 * holds exactly the tensors returned. Flips inside tensor data must be accepted exactly when
 * every value the state_dict's views read is still finite (and within float32's range), and
 * otherwise refused at the first bad element's byte, naming its tensor. A raw flip inside a
 * zip entry's contents must be refused by the CRC check. Heap growth across each run and
 * the allocation each crafted case makes are measured.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { WeightsFileError } from '../src/errors.js';
import { readPth } from '../src/formats/pth.js';
import type { WeightsFileContents } from '../src/formats/types.js';
import { kInflateSlack, kMaxInflatedBytes, kMaxInflateRatio } from '../src/formats/zip.js';
import { Prng } from '../src/model/prng.js';
import { craftedPthCases, oracleReadPth, oracleReadPthFile, oracleZipEntries, repairCrc, type OracleTensor } from './fuzz-pth-cases.js';
import { heapBytes, sleep } from './fuzz-measure.js';

const kTimeLimitMs = 100;
const kHeapGrowthBound = 8 * 2 ** 20;
/**
 * What one crafted case may allocate (heap + ArrayBuffers, transient garbage included: no GC
 * runs inside a case): 64 bytes per byte of the file, and at least 16 MiB, since a pickle at
 * the unpickler's caps (kPickleLimits) builds that many JS objects whatever the file's size;
 * plus, for a file with deflated entries, 6 × what inflating may produce
 * (the declared sizes, capped at kMaxInflateRatio × the file, plus one piece's slack): the
 * output buffer, and fflate's growing buffer and output copy. A buffer sized by a number read
 * from the file (a 4 GiB string length, 2^40 elements) would be far beyond this.
 */
function allocationAllowance(bytes: Uint8Array): number {
  let deflated = false;
  try {
    deflated = bytes[0] === 0x50 && oracleZipEntries(bytes).some((e) => e.method === 8);
  } catch {
    // not a zip the oracle can walk: no inflating either
  }
  const inflating = deflated ? Math.min(kMaxInflateRatio * bytes.length, kMaxInflatedBytes) + kInflateSlack : 0;
  return 64 * Math.max(bytes.length, 2 ** 18) + 6 * inflating;
}


interface Result {
  accepted: boolean;
  error?: WeightsFileError;
  contents?: WeightsFileContents;
  ms: number;
  cpuMs: number;
  allocated: number;
}

/** Reads `bytes`, timed (wall and process CPU) and, with `measure`, its allocation measured. */
function attempt(bytes: Uint8Array, what: string, measure: boolean): Result {
  const heapBefore = measure ? heapBytes() : 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const finish = (result: Omit<Result, 'ms' | 'cpuMs' | 'allocated'>): Result => {
    const ms = performance.now() - start;
    const { user, system } = process.cpuUsage(cpuStart);
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return { ...result, ms, cpuMs: (user + system) / 1000, allocated: measure ? heapUsed + arrayBuffers - heapBefore : 0 };
  };
  try {
    return finish({ accepted: true, contents: readPth(bytes) });
  } catch (e) {
    if (e instanceof WeightsFileError) return finish({ accepted: false, error: e });
    throw new Error(`${what}: expected a WeightsFileError, got ${String(e)}`, { cause: e });
  }
}

/** Tallies of a run, printed at its end. The bound is on CPU time; wall time is reported. */
class Tally {
  cases = 0;
  rejected = 0;
  accepted = 0;
  maxMs = 0;
  slowest = '';
  maxCpuMs = 0;
  mostCpu = '';
  retimed = 0;

  /** Runs one case; one over the limit in CPU time is re-timed up to 3 times (the CPU is shared). */
  run(bytes: Uint8Array, what: string, measure = false): Result {
    let result = attempt(bytes, what, measure);
    for (let i = 0; i < 3 && result.cpuMs > kTimeLimitMs; i++) {
      this.retimed++;
      sleep(30);
      const again = attempt(bytes, what, false);
      result = { ...result, ms: Math.min(result.ms, again.ms), cpuMs: Math.min(result.cpuMs, again.cpuMs) };
    }
    this.cases++;
    if (result.accepted) this.accepted++;
    else this.rejected++;
    if (result.ms > this.maxMs) [this.maxMs, this.slowest] = [result.ms, what];
    if (result.cpuMs > this.maxCpuMs) [this.maxCpuMs, this.mostCpu] = [result.cpuMs, what];
    return result;
  }

  report(title: string, heapGrowth: number): void {
    console.log(
      `[fuzz-pth] ${title}: ${this.cases} cases, ${this.rejected} rejected with a WeightsFileError, ${this.accepted} accepted and ` +
        `verified; slowest ${this.maxMs.toFixed(2)} ms wall (${this.slowest}), ${this.maxCpuMs.toFixed(2)} ms CPU (${this.mostCpu}); ` +
        `${this.retimed} re-timed; heap growth ${(heapGrowth / 1024).toFixed(0)} KiB`,
    );
    expect(this.maxCpuMs, `costliest case: ${this.mostCpu}`).toBeLessThanOrEqual(kTimeLimitMs);
    expect(heapGrowth).toBeLessThan(kHeapGrowthBound);
  }
}

/** An accepted file must hold exactly what the oracle reads: names in order, shapes, every value's bits, all finite. */
function verifyAccepted(bytes: Uint8Array, contents: WeightsFileContents, what: string, original?: readonly OracleTensor[]): void {
  const fail = (message: string): never => {
    throw new Error(`${what}: accepted, but ${message}`);
  };
  const oracle = oracleReadPth(bytes);
  // The only metadata a .pth gives is where in a checkpoint its state_dict was.
  if (contents.format !== 'pth' || Object.keys(contents.metadata).some((k) => k !== 'pth.state_dict')) fail('format or metadata wrong');
  const names = [...contents.tensors.keys()];
  if (names.join('\n') !== oracle.map((t) => t.name).join('\n')) fail(`tensors [${names.join(', ')}], the file holds [${oracle.map((t) => t.name).join(', ')}]`);
  for (const t of oracle) {
    const got = contents.tensors.get(t.name)!;
    if (got.shape.join() !== t.shape.join()) fail(`'${t.name}' shape [${got.shape.join()}], the file says [${t.shape.join()}]`);
    const gotBits = new Uint32Array(got.data.buffer, got.data.byteOffset, got.data.length);
    const wantBits = new Uint32Array(t.values.buffer, t.values.byteOffset, t.values.length);
    if (gotBits.length !== wantBits.length) fail(`'${t.name}' has ${gotBits.length} values, the file ${wantBits.length}`);
    for (let i = 0; i < wantBits.length; i++) {
      if (!t.finite[i]) fail(`'${t.name}'[${i}] is ${t.values[i]} in the file`);
      if (gotBits[i] !== wantBits[i]) fail(`'${t.name}'[${i}] = ${got.data[i]}, the file holds ${t.values[i]}`);
    }
  }
  // A mutant that got past the CRC unchanged must give the unchanged tensors.
  if (original) {
    const same = original.length === oracle.length && original.every((t, i) => t.name === oracle[i]!.name && t.values.every((v, j) => Object.is(v, oracle[i]!.values[j])));
    if (!same) fail('its tensors differ from the unflipped file, yet every CRC matched');
  }
}

interface FuzzFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly isZip: boolean;
  readonly elementSize: 2 | 4 | 8;
  /** Which bits of an element's top two bytes make its exponent all ones (Inf or NaN). */
  readonly exponentBits: [top: number, next: number];
}

function fuzzFile(name: string, elementSize: 2 | 4 | 8, exponentBits: [number, number]): FuzzFile {
  const bytes = new Uint8Array(readFileSync(`tests/fixtures/pth/${name}`));
  return { name, bytes, isZip: bytes[0] === 0x50, elementSize, exponentBits };
}

const kF32: [number, number] = [0x7f, 0x80];
const files = {
  lenet: fuzzFile('lenet.pth', 4, kF32),
  views: fuzzFile('views.pth', 4, kF32),
  legacy: fuzzFile('lenet-legacy.pth', 4, kF32),
  protocol4: fuzzFile('lenet-protocol4.pth', 4, kF32),
  f16: fuzzFile('lenet-f16.pth', 2, [0x7c, 0x00]),
  bf16: fuzzFile('lenet-bf16.pth', 2, kF32),
  f64: fuzzFile('lenet-f64.pth', 8, [0x7f, 0xf0]),
};

test.describe('every truncation length is refused with a WeightsFileError', () => {
  for (const file of [files.lenet, files.views, files.legacy]) {
    test(`${file.name} (${file.bytes.length} bytes)`, () => {
      test.setTimeout(300_000);
      const tally = new Tally();
      const before = heapBytes();
      for (let length = 0; length < file.bytes.length; length++) {
        const result = tally.run(file.bytes.subarray(0, length), `${file.name} truncated to ${length} bytes`);
        if (result.accepted) throw new Error(`${file.name} truncated to ${length} bytes: accepted`);
      }
      expect(tally.cases).toBe(file.bytes.length);
      tally.report(`${file.name}, every truncation`, heapBytes() - before);
    });
  }
});

/** Picks 1–3 positions in [from, to) and XORs each with a random non-zero byte. */
function flipSome(mutant: Uint8Array, rng: Prng, from: number, to: number): number[] {
  const at: number[] = [];
  const count = 1 + (rng.next() < 0.25 ? rng.integer(3) : 0);
  for (let i = 0; i < count; i++) {
    const position = from + rng.integer(to - from);
    mutant[position]! ^= 1 + rng.integer(255);
    at.push(position);
  }
  return at;
}

test.describe('seeded random flips anywhere (no CRC repair)', () => {
  for (const file of [files.lenet, files.views, files.legacy, files.protocol4]) {
    test(`${file.name}: 1,500 mutants, each a WeightsFileError or accepted and verified`, () => {
      test.setTimeout(300_000);
      const original = oracleReadPthFile(file.bytes);
      const entries = file.isZip ? oracleZipEntries(file.bytes) : [];
      const rng = new Prng(0x9e11 + file.bytes.length);
      const tally = new Tally();
      const before = heapBytes();
      let insideEntries = 0;
      let dataFlips = 0;
      for (let i = 0; i < 1500; i++) {
        const mutant = file.bytes.slice();
        const at = flipSome(mutant, rng, 0, mutant.length);
        const what = `${file.name} mutant ${i} (bytes ${at.join(', ')} changed)`;
        const result = tally.run(mutant, what);
        // A zip entry's contents are covered by its CRC-32: a change there is always caught.
        const inEntry = file.isZip && at.every((p) => entries.some((e) => p >= e.data && p < e.data + e.compressedSize));
        if (inEntry) {
          insideEntries++;
          if (result.accepted || !result.error!.message.includes('CRC-32')) {
            throw new Error(`${what}: inside entry contents, expected a CRC-32 error, got ${result.accepted ? 'acceptance' : result.error!.message}`);
          }
        }
        const inData = !file.isZip && at.every((p) => original.storageRanges.some((r) => p >= r.start && p < r.end));
        if (inData) {
          dataFlips++;
          checkDataMutant(mutant, result, what);
        } else if (result.accepted) {
          verifyAccepted(mutant, result.contents!, what, file.isZip ? original.tensors : undefined);
        }
      }
      if (file.isZip) expect(insideEntries).toBeGreaterThan(200);
      else expect(dataFlips).toBeGreaterThan(200);
      tally.report(`${file.name}, 1,500 raw flips (${insideEntries} inside zip entries, ${dataFlips} in legacy tensor data)`, heapBytes() - before);
    });
  }
});

/**
 * A mutant whose flips all lie in storage bytes must load iff every value its views read is
 * finite (and within float32's range), and otherwise be refused at the first such element.
 */
function checkDataMutant(mutant: Uint8Array, result: Result, what: string): boolean {
  const tensors = oracleReadPth(mutant);
  for (const t of tensors) {
    const bad = t.finite.indexOf(false);
    if (bad < 0) continue;
    const error = result.error;
    if (!error || error.byteOffset !== t.positions[bad] || error.tensor !== t.name) {
      throw new Error(`${what}: '${t.name}'[${bad}] = ${t.values[bad]} at byte ${t.positions[bad]}: expected a WeightsFileError there, ` +
        `got ${result.accepted ? 'acceptance' : `${error!.message}`}`);
    }
    return false;
  }
  if (!result.accepted) throw new Error(`${what}: only finite values changed, yet refused: ${result.error!.message}`);
  verifyAccepted(mutant, result.contents!, what);
  return true;
}

test.describe('seeded random flips inside the pickle, CRC-32 rewritten to match', () => {
  for (const file of [files.lenet, files.protocol4, files.views]) {
    test(`${file.name}: 2,500 mutants of data.pkl, each a WeightsFileError or accepted and verified`, () => {
      test.setTimeout(300_000);
      const pickle = oracleZipEntries(file.bytes).find((e) => e.name.endsWith('/data.pkl'))!;
      const rng = new Prng(0x91c1e + file.bytes.length);
      const tally = new Tally();
      const before = heapBytes();
      for (let i = 0; i < 2500; i++) {
        const mutant = file.bytes.slice();
        const at = flipSome(mutant, rng, pickle.data, pickle.data + pickle.compressedSize);
        repairCrc(mutant, pickle);
        const what = `${file.name} pickle mutant ${i} (pickle bytes ${at.map((p) => p - pickle.data).join(', ')} changed)`;
        const result = tally.run(mutant, what);
        if (result.accepted) verifyAccepted(mutant, result.contents!, what);
      }
      tally.report(`${file.name}, 2,500 pickle flips with CRC repaired`, heapBytes() - before);
    });
  }
});

test.describe('seeded random flips inside tensor data, CRC-32 rewritten to match', () => {
  for (const file of [files.lenet, files.views, files.f16, files.bf16, files.f64]) {
    test(`${file.name}: 800 mutants, accepted iff every value read is finite, else refused at the first bad element`, () => {
      test.setTimeout(300_000);
      const entries = oracleZipEntries(file.bytes).filter((e) => e.name.includes('/data/'));
      const rng = new Prng(0xda7a + file.bytes.length);
      const tally = new Tally();
      const before = heapBytes();
      let nonFinite = 0;
      for (let i = 0; i < 800; i++) {
        const mutant = file.bytes.slice();
        const entry = entries[rng.integer(entries.length)]!;
        let at: number[];
        if (i % 4 === 3) {
          // Set an element's exponent to all ones (Inf or NaN), which random flips rarely do.
          const size = file.elementSize;
          const element = rng.integer(entry.compressedSize / size);
          const top = entry.data + element * size + size - 1;
          mutant[top]! |= file.exponentBits[0];
          if (size > 1) mutant[top - 1]! |= file.exponentBits[1];
          at = [top];
        } else {
          at = flipSome(mutant, rng, entry.data, entry.data + entry.compressedSize);
        }
        repairCrc(mutant, entry);
        const what = `${file.name} data mutant ${i} (${entry.name}, bytes ${at.join(', ')} changed)`;
        const result = tally.run(mutant, what);
        if (!checkDataMutant(mutant, result, what)) nonFinite++;
      }
      expect(nonFinite).toBeGreaterThanOrEqual(file.name === 'views.pth' ? 50 : 150);
      tally.report(`${file.name}, 800 data flips with CRC repaired (${nonFinite} non-finite)`, heapBytes() - before);
    });
  }
});

test('crafted hostile files: each its expected typed error naming the reason, or accepted and verified', () => {
  test.setTimeout(300_000);
  const cases = craftedPthCases();
  const tally = new Tally();
  const before = heapBytes();
  let maxRatio = 0;
  let hungriest = '';
  let maxShare = 0;
  let greediest = '';
  const wrong: string[] = [];
  for (const c of cases) {
    const result = tally.run(c.bytes, c.name, true);
    const ratio = result.allocated / Math.max(c.bytes.length, 2 ** 16);
    if (ratio > maxRatio) [maxRatio, hungriest] = [ratio, c.name];
    const share = result.allocated / allocationAllowance(c.bytes);
    if (share > maxShare) [maxShare, greediest] = [share, c.name];
    if (share > 1) wrong.push(`${c.name}: allocated ${result.allocated} bytes, over its allowance of ${allocationAllowance(c.bytes)}`);
    if (result.accepted !== (c.outcome === 'accept')) {
      wrong.push(`${c.name}: expected ${c.outcome}, got ${result.accepted ? 'accepted' : result.error!.message}`);
      continue;
    }
    if (result.accepted) verifyAccepted(c.bytes, result.contents!, c.name);
    else {
      const message = result.error!.message;
      if (!message.includes('expected') || !message.includes('found')) wrong.push(`${c.name}: should say what was expected and found: ${message}`);
      if (c.says && !message.includes(c.says)) wrong.push(`${c.name}: should say '${c.says}': ${message}`);
    }
  }
  expect(wrong, wrong.join('\n')).toEqual([]);
  expect(cases.length).toBeGreaterThanOrEqual(150);
  console.log(
    `[fuzz-pth] crafted: allocation by a case at most ${maxRatio.toFixed(1)}× max(file size, 64 KiB) (${hungriest}); ` +
      `at most ${(100 * maxShare).toFixed(0)}% of its allowance (${greediest})`,
  );
  tally.report(`${cases.length} crafted files`, heapBytes() - before);
});
