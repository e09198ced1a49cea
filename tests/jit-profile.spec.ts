/**
 * The arithmetic of `npm run probe:kernel -- --profile` (scripts/jit-profile.ts) on a listing
 * written out here: objdump's lines parsed, each instruction given its kind, samples put on
 * instructions and summed by kind and by hot range. Sampling itself needs `perf` and
 * SwiftShader, and is run by hand (docs/performance.md).
 */
import { expect, test } from '@playwright/test';
import { newRanges, parseListing, profileReport } from '../scripts/jit-profile.js';

// Subzero's shapes: a literal (movabs + load through the register), a multiply-add, a spill and
// reload, one lane of a gather behind its mask branch, a mask operation.
const kListing = [
  '',
  'Disassembly of section .data:',
  '',
  '00007f0000000000 <.data>:',
  '    7f0000000000:\t48 b8 c0 d2 d4 f0 ed \tmovabs $0x7fedf0d4d2c0,%rax',
  '    7f0000000007:\t7f 00 00 ',
  '    7f000000000a:\t0f 10 00             \tmovups (%rax),%xmm0',
  '    7f000000000d:\t0f 59 c1             \tmulps  %xmm1,%xmm0',
  '    7f0000000010:\t0f 58 d0             \taddps  %xmm0,%xmm2',
  '    7f0000000013:\t0f 11 94 24 a0 96 01 \tmovups %xmm2,0x196a0(%rsp)',
  '    7f000000001a:\t00 ',
  '    7f000000001b:\t66 0f 3a 16 c0 00    \tpextrd $0x0,%xmm0,%eax',
  '    7f0000000021:\t83 f8 00             \tcmp    $0x0,%eax',
  '    7f0000000024:\t0f 84 3f 00 00 00    \tje     0x7f0000000069',
  '    7f000000002a:\t66 41 0f db c6       \tpand   %xmm14,%xmm0',
].join('\n');

const at = (offset: number) => 0x7f0000000000 + offset;

test('objdump lines become instructions; a line of bytes alone is not one', () => {
  const code = parseListing(kListing);
  expect(code.map((i) => i.mnemonic)).toEqual(['movabs', 'movups', 'mulps', 'addps', 'movups', 'pextrd', 'cmp', 'je', 'pand']);
  expect(code[0]).toEqual({ address: at(0), mnemonic: 'movabs', operands: '$0x7fedf0d4d2c0,%rax' });
  expect(code[4]!.operands).toBe('%xmm2,0x196a0(%rsp)');
});

test('samples are summed by kind of instruction; samples outside the code are counted apart', () => {
  const code = parseListing(kListing);
  const samples = [
    ...Array<number>(4).fill(at(0x0d)), // mulps: float arithmetic
    at(0x10), // addps: float arithmetic
    ...Array<number>(2).fill(at(0x0a)), // the literal's load
    ...Array<number>(2).fill(at(0x13)), // the spill
    at(0x1b), // pextrd: lane by lane
    0x1234, // elsewhere in the process
    0x1235,
  ];
  const report = profileReport(code, samples);
  expect(report[0]).toBe("samples: 12 in this process, 10 (83.3%) in the kernel's 9 instructions");
  const row = (kind: string) => report.find((line) => line.startsWith(kind))!.slice(kind.length).trim().split(/\s+/);
  expect(row('float arithmetic')).toEqual(['22.2%', '50.0%']); // 2 of 9 instructions, 5 of 10 samples
  expect(row('literal load')).toEqual(['22.2%', '20.0%']); // movabs and the load through %rax
  expect(row('stack load/store')).toEqual(['11.1%', '20.0%']);
  expect(row('lane by lane')).toEqual(['11.1%', '10.0%']);
  expect(row('integer and mask')).toEqual(['11.1%', '0.0%']);
  expect(row('branch')).toEqual(['22.2%', '0.0%']);
  // All of it is one 1 KiB block, and hot: one range with its counts, nothing elsewhere.
  const range = report.find((line) => line.startsWith('+0x0 '))!.trim().split(/\s+/);
  expect(range.slice(0, 6)).toEqual(['+0x0', '9', '100.0%', '1', '0', '1']);
  expect(report.at(-1)!.trim().split(/\s+/)).toEqual(['elsewhere', '0', '0.0%']);
});

test('a kernel no sample fell in says so', () => {
  expect(profileReport(parseListing(kListing), [0x1234])).toEqual(["no sample of 1 fell in the kernel's code"]);
});

test('the code ranges new since a snapshot are those JIT-compiled in between', () => {
  const before = [{ start: 0x1000, end: 0x2000 }];
  const after = [{ start: 0x1000, end: 0x2000 }, { start: 0x5000, end: 0x9000 }];
  expect(newRanges(before, after)).toEqual([{ start: 0x5000, end: 0x9000 }]);
});
