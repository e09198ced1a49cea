/**
 * Winograd's minimal filtering F(2×2, 5×5) for the second conv stage of the packed lane kernel
 * (lanes-packed.ts): the 2×2 outputs of a 5×5 correlation over a 6×6 input tile, in 36
 * multiplies instead of 100. Its 2×2 output tile is exactly one 2×2 pooling window, so the
 * stage computes one window per tile and pools it at once.
 *
 * The math (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), in 1-D:
 * y = Aᵀ [(G g) ⊙ (Bᵀ d)] for a 5-tap filter g, a 6-value input d and the 2 outputs
 * y_i = Σ_k g_k d_{i+k}; in 2-D Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A. The matrices come from the
 * Toom–Cook construction over the interpolation points 0, ±1, ±2 and ∞ (`kWinogradPoints`):
 *
 * - Aᵀ[i][j] = p_jⁱ (the ∞ column is [0, 1]),
 * - G[j][k] = p_jᵏ / f_j with f_j = Π_{l≠j} (p_j − p_l) (the ∞ row is [0, 0, 0, 0, 1]),
 * - Bᵀ[j][·] = the coefficients of Π_{l≠j} (x − p_l) (the ∞ row: of Π_l (x − p_l)).
 *
 * The divisions sit in G, so Aᵀ and Bᵀ are small integers: the input and output transforms run
 * in f32 with few roundings, and the transformed kernels U = G g Gᵀ are computed here in
 * float64 and baked into the WGSL as f32 literals, like every other conv weight. The matrices
 * are exact (integers and dyadic fractions, and G is kept as integer rows over f_j, divided
 * only when U is formed), and `winogradIdentityError` checks the identity.
 *
 * What the stage saves: per tile and map, the sum over its input maps of 36 products
 * instead of 4 × 25, at the cost of transforming each input tile once (shared by every map
 * that reads it) and each map's 6×6 sum back to 2×2. For the seed model (96 kernels) that is
 * ~6,900 operations per pooling window instead of ~11,700; the transforms cost more per
 * operation than the long literal-weight fma chains they replace (measured: the stage with
 * its products cut to one per value kept two thirds of its time), so the kernel gained
 * 1.13–1.16× images/s on the seed model and 1.03–1.14× on the classic one (60 kernels), not
 * the 1.7× the operation count suggests. Error against the float64 reference, 1,000 MNIST
 * images: at most 0.24 of the tests' allowance (1e-5 + 1e-4·|ref|) on the seed model, against
 * 0.10 for the direct sums; the points ±1/2 in place of ±2 gave 0.30.
 */
import { wgslFloat } from '../common.js';
import { pooled, usedInputs } from './lanes.js';
import type { FusedConvStage } from './layout.js';
import { finishWgsl, literalScaleShift } from './shared.js';

/** The finite interpolation points (∞ is the sixth). */
export const kWinogradPoints: readonly number[] = [0, 1, -1, 2, -2];

/** Input tile side: outputs (2) + taps (5) − 1. */
export const kWinogradTile = 6;

interface WinogradMatrices {
  /** Aᵀ: 2 × 6. */
  readonly at: number[][];
  /** G: 6 × 5, row j holding integer-scaled values; the row's divisor is gScale[j]. */
  readonly g: number[][];
  readonly gScale: number[];
  /** Bᵀ: 6 × 6. */
  readonly bt: number[][];
}

/** Aᵀ, G and Bᵀ of F(2, 5) over `points` (5 finite points; ∞ is added). */
export function winogradMatrices(points: readonly number[] = kWinogradPoints): WinogradMatrices {
  const n = kWinogradTile;
  if (points.length !== n - 1 || new Set(points).size !== points.length) throw new RangeError('F(2, 5) takes 5 distinct finite points');
  const at = [0, 1].map((i) => [...points.map((p) => p ** i), i === 1 ? 1 : 0]);
  const g = [...points.map((p) => [0, 1, 2, 3, 4].map((k) => p ** k)), [0, 0, 0, 0, 1]];
  const gScale = [...points.map((p, j) => points.reduce((f, q, l) => (l === j ? f : f * (p - q)), 1)), 1];
  const bt = [...points.map((_, j) => polynomial(points.filter((_, l) => l !== j))), polynomial(points)];
  return { at, g, gScale, bt };
}

/** Coefficients (x⁰ … x⁵) of Π (x − r) over `roots`. */
function polynomial(roots: readonly number[]): number[] {
  let c = [1];
  for (const r of roots) c = [...c, 0].map((v, i) => (i > 0 ? c[i - 1]! : 0) - r * v);
  return [...c, ...new Array<number>(kWinogradTile - c.length).fill(0)];
}

/**
 * The transformed kernel U = G g Gᵀ (6×6, row-major) of one 5×5 kernel (row-major, `at`
 * `offset` in `weights`), in float64, each value rounded once to f32.
 */
export function winogradKernel(weights: ArrayLike<number>, offset: number, m = winogradMatrices()): Float32Array {
  const n = kWinogradTile;
  const u = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let a = 0; a < 5; a++) {
        for (let b = 0; b < 5; b++) s += m.g[i]![a]! * weights[offset + a * 5 + b]! * m.g[j]![b]!;
      }
      u[i * n + j] = s / (m.gScale[i]! * m.gScale[j]!);
    }
  }
  return u;
}

/**
 * Largest |Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)] A − (g ⋆ d)| over integer g and d, in float64 (0 for
 * correct matrices): the self-check of the construction.
 */
export function winogradIdentityError(m = winogradMatrices()): number {
  const n = kWinogradTile;
  let worst = 0;
  for (let trial = 0; trial < 8; trial++) {
    const g = Array.from({ length: 25 }, (_, i) => ((i * 7 + trial * 3) % 11) - 5);
    const d = Array.from({ length: 36 }, (_, i) => ((i * 5 + trial * 13) % 17) - 8);
    const u: number[] = [];
    const v: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let ui = 0;
        for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) ui += m.g[i]![a]! * g[a * 5 + b]! * m.g[j]![b]!;
        u.push(ui / (m.gScale[i]! * m.gScale[j]!));
        let vi = 0;
        for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) vi += m.bt[i]![a]! * d[a * n + b]! * m.bt[j]![b]!;
        v.push(vi);
      }
    }
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 2; x++) {
        let got = 0;
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) got += m.at[y]![i]! * u[i * n + j]! * v[i * n + j]! * m.at[x]![j]!;
        let want = 0;
        for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) want += g[a * 5 + b]! * d[(y + a) * n + x + b]!;
        worst = Math.max(worst, Math.abs(got - want));
      }
    }
  }
  return worst;
}

/**
 * WGSL `let`s for out_j = Σ_l rows[j][l] · in_l (j = 0 … rows − 1), one line per output,
 * skipping zero coefficients and writing ±1 as an add: `name(j)` names output j, `input(l)`
 * input l. Rows j and j+1 that are each other's mirror (the points ±p: equal even
 * coefficients, opposite odd ones) share their even and odd halves, E ± O.
 */
export function transformLets(rows: readonly (readonly number[])[], input: (l: number) => string, name: (j: number) => string, indent: string): string[] {
  const lines: string[] = [];
  const sum = (coefficients: readonly number[], only: (l: number) => boolean): string => {
    let expression = '';
    // A +1 term first, where there is one, so that no sum starts with a negation.
    const terms = coefficients.map((c, l) => [c, l] as const).filter(([c, l]) => c !== 0 && only(l));
    terms.sort(([a], [b]) => Number(b === 1) - Number(a === 1));
    terms.forEach(([c, l]) => {
      const x = input(l);
      if (expression === '') expression = c === 1 ? x : c === -1 ? `-${x}` : `${x} * ${wgslFloat(c)}`;
      else if (c === 1 || c === -1) expression = `${expression} ${c === 1 ? '+' : '-'} ${x}`;
      else expression = `fma(${x}, ${wgslFloat(c)}, ${expression})`;
    });
    return expression === '' ? '0.0' : expression;
  };
  for (let j = 0; j < rows.length; j++) {
    const row = rows[j]!;
    const next = rows[j + 1];
    if (next && row.some((c) => c !== 0) && row.every((c, l) => next[l] === (l % 2 === 0 ? c : -c)) && row.some((c, l) => l % 2 === 1 && c !== 0)) {
      const even = `${name(j)}e`;
      const odd = `${name(j)}o`;
      lines.push(`${indent}let ${even} = ${sum(row, (l) => l % 2 === 0)};`);
      lines.push(`${indent}let ${odd} = ${sum(row, (l) => l % 2 === 1)};`);
      lines.push(`${indent}let ${name(j)} = ${even} + ${odd};`);
      lines.push(`${indent}let ${name(j + 1)} = ${even} - ${odd};`);
      j++;
      continue;
    }
    lines.push(`${indent}let ${name(j)} = ${sum(row, () => true)};`);
  }
  return lines;
}

/**
 * The packed lane kernel's `fn stage2(k, lane)` with F(2×2, 5×5): the second conv + pooling,
 * from act1 (maps of side `side`, padding included) into image slot k of act2 (`features`
 * per image). Each step is one pooling window, i.e.
 * one 2×2 output tile over each input's 6×6 patch. The patch is transformed separably: each
 * patch row across (d B), then each column down (Bᵀ ·). The window slides down each column
 * of pooled positions, two conv rows per step; the row-transformed rows 2–5 are kept in vars
 * for the next step, so a step loads and row-transforms 2 rows per input. Then per map, per
 * transformed row i: the 6 products summed over the map's inputs, reduced at once to the 2
 * values of Aᵀ's columns, and folded into the map's 4 outputs, so a map holds ~10 values
 * live. The conv bias starts the outputs' sums; activation and pooling as in stage 1.
 */
export function winogradStage2(stage: FusedConvStage, side: number, features: number, packed: Float32Array): string {
  const m = winogradMatrices();
  const pool = stage.poolSize;
  const inputs = usedInputs(stage);
  const load = (c: number, row: string, x: number) => `act1[${c * side * side}u + (${row}) * ${side}u + 2u * px + ${x}u]`;
  // Row r of input c's patch, transformed across: h (kept, rows 0–3) or q (new, rows 4–5).
  const rowName = (c: number, r: number, j: number) => (r < 4 ? `h${c}_${r}_${j}` : `q${c}_${r}_${j}`);
  const first: string[] = [];
  const body: string[] = [];
  for (const c of inputs) {
    for (let r = 0; r < 4; r++) {
      first.push('    {', ...rowTransform(m, (x) => load(c, `${r}u`, x), 'd', (j) => `t${j}`, '      '));
      first.push(...range(kWinogradTile).map((j) => `      h${c}_${r}_${j} = t${j};`), '    }');
    }
  }
  for (const c of inputs) {
    for (const r of [4, 5]) body.push(...rowTransform(m, (x) => load(c, `2u * py + ${r}u`, x), `d${c}_${r}_`, (j) => rowName(c, r, j), '      '));
    // Each column down: V = Bᵀ d B, named v{c}_{i}_{j}.
    for (let j = 0; j < kWinogradTile; j++) body.push(...transformLets(m.bt, (r) => rowName(c, r, j), (i) => `v${c}_${i}_${j}`, '      '));
  }
  let kernel = 0;
  stage.table.forEach((connected, o) => {
    const kernels = connected.map((c) => ({ c, u: winogradKernel(packed, stage.weightOffset + kernel++ * 25, m) }));
    const channel = literalScaleShift(packed, o);
    const window = mapTile(m, o, kernels, wgslFloat(packed[stage.biasOffset + o]!), body).map((v) => finishWgsl('C3', v, stage.afterConv, channel));
    body.push(`      act2[k * ${features}u + ${o * pool * pool}u + py * ${pool}u + px] = ${finishWgsl('S4', pooled(stage, packed, o, window), stage.afterPool, channel)};`);
  });
  const kept = inputs.flatMap((c) => [0, 1, 2, 3].flatMap((r) => range(kWinogradTile).map((j) => [c, r, j] as const)));
  return `
fn stage2(k: u32, lane: u32) {
  for (var px = 0u; px < ${pool}u; px++) {
${kept.map(([c, r, j]) => `    var h${c}_${r}_${j}: f32;`).join('\n')}
${first.join('\n')}
    for (var py = 0u; py < ${pool}u; py++) {
${body.join('\n')}
${kept.map(([c, r, j]) => `      h${c}_${r}_${j} = ${rowName(c, r + 2, j)};`).join('\n')}
    }
  }
}`;
}

/** 6 loads of one patch row (named `{loaded}{x}`), then the row transformed across (d B). */
function rowTransform(m: WinogradMatrices, load: (x: number) => string, loaded: string, name: (j: number) => string, indent: string): string[] {
  return [
    ...range(kWinogradTile).map((x) => `${indent}let ${loaded}${x} = ${load(x)};`),
    ...transformLets(m.bt, (x) => `${loaded}${x}`, name, indent),
  ];
}

/**
 * Map o's 2×2 tile, lines into `body`: per transformed row i, the 6 products summed over the
 * map's inputs (m{o}_{i}_{j}), Aᵀ across them (2 values, s{o}_{i}_{b}), and those folded into
 * the 4 outputs by Aᵀ's column i (chains started at the bias). Returns the outputs' names,
 * row-major.
 */
function mapTile(m: WinogradMatrices, o: number, kernels: ReadonlyArray<{ c: number; u: Float32Array }>, bias: string, body: string[]): string[] {
  const n = kWinogradTile;
  const y = [bias, bias, bias, bias];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = '0.0';
      kernels.forEach(({ c, u }, t) => {
        const w = wgslFloat(u[i * n + j]!);
        sum = t === 0 ? `v${c}_${i}_${j} * ${w}` : `fma(v${c}_${i}_${j}, ${w}, ${sum})`;
      });
      body.push(`      let m${o}_${i}_${j} = ${sum};`);
    }
    body.push(...transformLets(m.at, (j) => `m${o}_${i}_${j}`, (b) => `s${o}_${i}_${b}`, '      '));
    for (let a = 0; a < 2; a++) {
      const coefficient = m.at[a]![i]!;
      if (coefficient === 0) continue;
      for (let b = 0; b < 2; b++) {
        const name = `y${o}_${a}${b}_${i}`;
        const term = `s${o}_${i}_${b}`;
        const prev = y[a * 2 + b]!;
        const value = coefficient === 1 ? `${prev} + ${term}` : coefficient === -1 ? `${prev} - ${term}` : `fma(${term}, ${wgslFloat(coefficient)}, ${prev})`;
        body.push(`      let ${name} = ${value};`);
        y[a * 2 + b] = name;
      }
    }
  }
  return y;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}
