/**
 * What SwiftShader's JIT makes of a kernel, measured: `perf` samples this process while the
 * kernel runs, the JIT's machine code is read back from this process's memory and
 * disassembled with `objdump`, and each sample is put on the instruction it landed on. Used by
 * `npm run probe:kernel -- --profile`; Linux on x86-64 only, with `perf` and `objdump`
 * installed and perf allowed to sample this process (root, or perf_event_paranoid ≤ 1).
 *
 * SwiftShader (Subzero) keeps its generated code in executable mappings of a memfd named
 * `swiftshader_jit`; the mappings that appear while a pipeline is created hold that
 * pipeline's code. Samples skid: one often lands on the instruction after the one that
 * stalled, so kinds of instructions are a better guide than single addresses.
 *
 * @example
 * const before = jitCodeRanges();
 * const pipeline = await device.createComputePipelineAsync(…);
 * const code = readCode(newRanges(before, jitCodeRanges()));
 * const ips = await sampleWhile(10, runKernelOnce);
 * for (const line of profileReport(code, ips)) console.log(line);
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An executable range of this process's memory, [start, end). */
export interface CodeRange {
  readonly start: number;
  readonly end: number;
}

/** One disassembled instruction of JIT code. */
export interface Instruction {
  readonly address: number;
  readonly mnemonic: string;
  readonly operands: string;
}

/** An Error unless this is Linux on x86-64 (the code is read through /proc and disassembled as x86-64). */
function requireLinuxX64(): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`--profile reads x86-64 code through /proc: Linux on x64 only, found ${process.platform} on ${process.arch}`);
}

/** The executable `swiftshader_jit` mappings of this process now. */
export function jitCodeRanges(): CodeRange[] {
  requireLinuxX64();
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const ranges: CodeRange[] = [];
  for (const line of maps.split('\n')) {
    const [span, perms] = line.split(/\s+/);
    if (!span || !perms?.includes('x') || !line.includes('swiftshader_jit')) continue;
    const [start, end] = span.split('-').map((hex) => parseInt(hex, 16));
    ranges.push({ start: start!, end: end! });
  }
  return ranges;
}

/** The ranges in `after` that were not in `before`: the code JIT-compiled in between. */
export function newRanges(before: readonly CodeRange[], after: readonly CodeRange[]): CodeRange[] {
  return after.filter((r) => !before.some((b) => b.start === r.start && b.end === r.end));
}

/** Checks that a tool runs; an Error naming it and the package that has it otherwise. */
function requireTool(tool: string, args: string[], from: string): void {
  const probe = spawnSync(tool, args, { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`--profile needs '${tool}' (${from}); running '${tool} ${args.join(' ')}' failed: ${probe.error?.message ?? probe.stderr.trim()}`);
}

/** The instructions in `ranges`, read from this process's memory and disassembled. */
export function readCode(ranges: readonly CodeRange[]): Instruction[] {
  requireLinuxX64();
  if (ranges.length === 0) throw new Error('--profile found no new swiftshader_jit code: is the adapter SwiftShader?');
  requireTool('objdump', ['--version'], 'binutils');
  const dir = mkdtempSync(join(tmpdir(), 'jit-profile-'));
  const memory = openSync('/proc/self/mem', 'r');
  try {
    const code: Instruction[] = [];
    for (const { start, end } of ranges) {
      const bytes = Buffer.alloc(end - start);
      readSync(memory, bytes, 0, bytes.length, start);
      const file = join(dir, `${start.toString(16)}.bin`);
      writeFileSync(file, bytes);
      const listing = spawnSync('objdump', ['-D', '-b', 'binary', '-m', 'i386:x86-64', `--adjust-vma=0x${start.toString(16)}`, file], {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      });
      if (listing.status !== 0) throw new Error(`objdump failed: ${listing.stderr.trim()}`);
      for (const instruction of parseListing(listing.stdout)) code.push(instruction);
    }
    return code;
  } finally {
    closeSync(memory);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The instructions of an `objdump -D` listing: lines "  address:\tbytes\tmnemonic operands";
 * a line of bytes alone continues the instruction before it.
 *
 * @example
 * parseListing('   10:\t0f 59 c1             \tmulps  %xmm1,%xmm0'); // [{ address: 16, mnemonic: 'mulps', operands: '%xmm1,%xmm0' }]
 */
export function parseListing(listing: string): Instruction[] {
  const code: Instruction[] = [];
  for (const line of listing.split('\n')) {
    const [address, , text] = line.split('\t');
    const m = /^\s*([0-9a-f]+):$/.exec(address ?? '');
    const [mnemonic, ...operands] = (text ?? '').trim().split(/\s+/);
    if (m && mnemonic && /^[a-z]/.test(mnemonic)) code.push({ address: parseInt(m[1]!, 16), mnemonic, operands: operands.join(' ') });
  }
  return code;
}

/**
 * Samples this process with `perf record` (4 kHz, every thread) for `seconds`, calling `work`
 * again and again meanwhile; the sampled instruction addresses.
 */
export async function sampleWhile(seconds: number, work: () => Promise<unknown>): Promise<number[]> {
  requireTool('perf', ['--version'], 'linux-perf');
  const dir = mkdtempSync(join(tmpdir(), 'jit-profile-'));
  const data = join(dir, 'perf.data');
  try {
    const perf = spawn('perf', ['record', '-q', '-F', '4000', '-p', String(process.pid), '-o', data, '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    perf.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve, reject) => {
      perf.on('error', reject);
      perf.on('exit', resolve);
    });
    let running = true;
    void exited.finally(() => (running = false));
    try {
      while (running) await work();
    } catch (e) {
      perf.kill();
      throw e;
    }
    const status = await exited;
    if (status !== 0) throw new Error(`perf record failed (status ${status}): ${stderr.trim()}`);
    const script = spawnSync('perf', ['script', '-F', 'ip', '-i', data], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr.trim()}`);
    return script.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /^[0-9a-f]+$/.test(line))
      .map((hex) => parseInt(hex, 16));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What an instruction does, in the terms that matter for SwiftShader's code. */
type Kind = 'float arithmetic' | 'literal load' | 'stack load/store' | 'lane by lane' | 'integer and mask' | 'branch' | 'other';

const kKinds: readonly Kind[] = ['float arithmetic', 'literal load', 'stack load/store', 'lane by lane', 'integer and mask', 'branch', 'other'];

/**
 * The kind of `code[i]`. Subzero loads a literal as `movabs $address, %reg` and then a load
 * through that register; `private` memory and spilled values live on the stack (`%rsp`); a
 * gather or scatter moves one lane at a time (`pextrd`, `insertps`, `movss`, `movslq`) behind a
 * compare and branch on that lane's mask.
 */
function kindOf(code: readonly Instruction[], i: number): Kind {
  const { mnemonic: op, operands } = code[i]!;
  if (/^(mul|add|sub|div|min|max|sqrt|rcp|rsqrt)ps$/.test(op)) return 'float arithmetic';
  if (op === 'movabs') return 'literal load';
  const previous = code[i - 1];
  if (previous?.mnemonic === 'movabs' && /^mov/.test(op)) {
    const register = /,(%r[a-z0-9]+)$/.exec(previous.operands)?.[1];
    if (register && operands.startsWith(`(${register})`)) return 'literal load';
  }
  if (/^(pextr|pinsr|insertps|extractps|movss|movslq)/.test(op)) return 'lane by lane';
  if (/^(j|cmp|test)/.test(op)) return 'branch';
  if (/^mov/.test(op) && operands.includes('(%rsp)')) return 'stack load/store';
  if (/^(p|cvt)/.test(op) || op === 'movd') return 'integer and mask';
  return 'other';
}

/**
 * The report: how many samples fell in the kernel's code; each kind's share of the
 * instructions and of the samples; and the hot ranges (runs of 1 KiB blocks holding ≥ 0.5% of
 * the samples each), with their multiplies, divisions and lane extracts counted so that a
 * range can be matched to the WGSL (a sigmoid has one `divps`; a 4-lane gather four
 * `pextrd` of offsets and four of mask lanes).
 */
export function profileReport(code: readonly Instruction[], samples: readonly number[]): string[] {
  const index = new Map<number, number>();
  code.forEach((instruction, i) => index.set(instruction.address, i));
  const hits = new Array<number>(code.length).fill(0);
  let inCode = 0;
  for (const ip of samples) {
    const i = index.get(ip);
    if (i === undefined) continue;
    hits[i]!++;
    inCode++;
  }
  if (inCode === 0) return [`no sample of ${samples.length} fell in the kernel's code`];
  const kinds = code.map((_, i) => kindOf(code, i));
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1).padStart(5)}%`;
  const lines = [
    `samples: ${samples.length} in this process, ${inCode} (${pct(inCode, samples.length).trim()}) in the kernel's ${code.length} instructions`,
    '',
    `${'kind of instruction'.padEnd(20)}  instructions  samples`,
  ];
  for (const kind of kKinds) {
    const count = kinds.filter((k) => k === kind).length;
    const hit = hits.reduce((sum, h, i) => sum + (kinds[i] === kind ? h : 0), 0);
    lines.push(`${kind.padEnd(20)}  ${pct(count, code.length).padStart(12)}  ${pct(hit, inCode).padStart(7)}`);
  }

  const blockOf = (i: number) => Math.floor((code[i]!.address - code[0]!.address) / 1024);
  const blockHits = new Map<number, number>();
  hits.forEach((h, i) => blockHits.set(blockOf(i), (blockHits.get(blockOf(i)) ?? 0) + h));
  // [first instruction, end, last block] of each run of hot blocks.
  const runs: Array<[number, number, number]> = [];
  for (let i = 0; i < code.length; ) {
    const block = blockOf(i);
    let end = i;
    while (end < code.length && blockOf(end) === block) end++;
    if ((blockHits.get(block) ?? 0) >= 0.005 * inCode) {
      const last = runs[runs.length - 1];
      if (last && last[2] === block - 1) runs[runs.length - 1] = [last[0], end, block];
      else runs.push([i, end, block]);
    }
    i = end;
  }
  lines.push('', 'hot ranges (1 KiB blocks with ≥ 0.5% of the samples, adjacent ones merged)', `${'from'.padEnd(10)}  instructions  samples  mulps  divps  pextrd  top kinds by samples`);
  let hitsInRuns = 0;
  for (const [first, end] of runs) {
    const range = code.slice(first, end);
    const count = (op: string) => range.filter((x) => x.mnemonic === op).length;
    const byKind = new Map<Kind, number>();
    for (let j = first; j < end; j++) byKind.set(kinds[j]!, (byKind.get(kinds[j]!) ?? 0) + hits[j]!);
    const rangeHits = hits.slice(first, end).reduce((a, b) => a + b, 0);
    hitsInRuns += rangeHits;
    const top = [...byKind].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, h]) => `${k} ${Math.round((100 * h) / rangeHits)}%`);
    const offset = `+0x${(code[first]!.address - code[0]!.address).toString(16)}`;
    lines.push(
      `${offset.padEnd(10)}  ${String(range.length).padStart(12)}  ${pct(rangeHits, inCode).padStart(7)}  ${String(count('mulps')).padStart(5)}  ${String(count('divps')).padStart(5)}  ${String(count('pextrd')).padStart(6)}  ${top.join(', ')}`,
    );
  }
  const inRuns = runs.reduce((sum, [first, end]) => sum + end - first, 0);
  lines.push(`${'elsewhere'.padEnd(10)}  ${String(code.length - inRuns).padStart(12)}  ${pct(inCode - hitsInRuns, inCode).padStart(7)}`);
  return lines;
}
