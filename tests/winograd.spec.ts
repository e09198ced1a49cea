/**
 * Winograd's F(2×2, 5×5) as the packed lane kernel's second conv builds it
 * (shaders/fused/winograd.ts): the matrices, the transformed kernels, and the WGSL the
 * transforms are written as, evaluated here in float64 against a plain 5×5 correlation. The
 * kernel as a whole is checked against the CPU reference by e2e/fused.spec.ts.
 */
import { expect, test } from '@playwright/test';
import { Prng } from '../src/model/prng.js';
import { kWinogradTile, transformLets, winogradIdentityError, winogradKernel, winogradMatrices } from '../shaders/fused/winograd.js';

const n = kWinogradTile;

test('the matrices satisfy Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)] A = g ⋆ d, with integer Aᵀ and Bᵀ', () => {
  const m = winogradMatrices();
  expect(winogradIdentityError(m)).toBeLessThan(1e-9);
  for (const row of [...m.at, ...m.bt]) for (const c of row) expect(Number.isInteger(c), `${row}`).toBe(true);
  expect(m.bt[0]).toEqual([4, 0, -5, 0, 1, 0]);
  expect(m.at).toEqual([
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 1],
  ]);
});

test('random kernels and tiles: the 2×2 outputs through U = G g Gᵀ and the generated transforms match the direct sums', () => {
  const m = winogradMatrices();
  const rng = new Prng(7);
  const bt = evaluator(m.bt);
  const at = evaluator(m.at);
  for (let trial = 0; trial < 20; trial++) {
    const g = Float32Array.from({ length: 25 }, () => rng.next() - 0.5);
    const d = Array.from({ length: n * n }, () => 4 * rng.next() - 2);
    const u = winogradKernel(g, 0, m);
    // V = Bᵀ d B: rows across, then columns down, as the kernel does.
    const across = Array.from({ length: n }, (_, r) => bt(d.slice(r * n, r * n + n)));
    const v = Array.from({ length: n }, (_, j) => bt(across.map((row) => row[j]!)));
    // Per transformed row i: the products, Aᵀ across, then Aᵀ down.
    const s = Array.from({ length: n }, (_, i) => at(v.map((column, j) => column[i]! * u[i * n + j]!)));
    const got = [0, 1].flatMap((b) => at(s.map((pair) => pair[b]!)));
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 2; x++) {
        let want = 0;
        let scale = 0;
        for (let t = 0; t < 25; t++) {
          const term = g[t]! * d[(y + Math.floor(t / 5)) * n + x + (t % 5)]!;
          want += term;
          scale += Math.abs(term);
        }
        // got is [y0x0, y1x0, y0x1, y1x1]; U is rounded to f32, so allow f32-sized error.
        expect(Math.abs(got[x * 2 + y]! - want), `trial ${trial}, output (${y}, ${x}): ${got[x * 2 + y]} vs ${want}`).toBeLessThan(1e-5 * scale);
      }
    }
  }
});

/** out = rows · input, computed by running the WGSL `let`s transformLets writes as JavaScript. */
function evaluator(rows: readonly (readonly number[])[]): (input: readonly number[]) => number[] {
  const lines = transformLets(rows, (l) => `x${l}`, (j) => `y${j}`, '');
  const js = lines.map((line) => line.replace(/(\d)\.0\b/g, '$1')).join('\n');
  const body = `const [${rows[0]!.map((_, l) => `x${l}`).join(', ')}] = input;\n${js}\nreturn [${rows.map((_, j) => `y${j}`).join(', ')}];`;
  const fn = new Function('input', 'fma', body) as (input: readonly number[], fma: (a: number, b: number, c: number) => number) => number[];
  return (input) => fn(input, (a, b, c) => a * b + c);
}
