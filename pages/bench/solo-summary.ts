/**
 * The fair table and the family table, from solo runs (solo.ts): each engine's runs alone
 * (fresh browser or process each), reduced to medians per model and engine, every engine's
 * logits checked against ours (default options) on the same model, and ours against ONNX
 * Runtime Web WASM. Built from the runs, so the page, `npm run bench` and the JSON agree.
 */
import { engineLabel } from './summary.js';
import { percentile } from './measure.js';
import { tolerance } from './peers.js';
import { kFamily, type FamilyId } from './family.js';
import { isFailure, type SoloEngine, type SoloOutcome, type SoloRun } from './solo.js';

/** One model and engine over its solo runs: medians. */
export interface SoloRow {
  readonly model: FamilyId;
  readonly engine: SoloEngine;
  readonly detail: string;
  /** Runs that finished, and each run's first logits (ms), in run order. */
  readonly runs: number;
  readonly coldStartsMs: readonly number[];
  /** Median page load (process start) → first logits. */
  readonly coldStartMs?: number;
  /** Ours, default options, seed model: median page load → full speed. */
  readonly fullSpeedMs?: number;
  readonly latencyP50Ms?: number;
  /** Median images/s at each batch of the sweep, by batch. */
  readonly imagesPerSecond: Readonly<Record<number, number>>;
  /** The plans ours ran (first answer → sweep), from the first run. */
  readonly plans?: readonly string[];
  /** Its first run's logits against ours (default options) on the same model and images. */
  readonly logits?: { readonly maxAbsDiff: number; readonly ok: boolean };
  /** Ours default ÷ ONNX Runtime Web WASM on the same model: images/s at the largest batch both reached, and cold start. */
  readonly vsOrtWasm?: { readonly batch: number; readonly imagesPerSecond: number; readonly coldStart: number };
  /** Runs that failed, with the first failure's message; or where the sweep stopped short. */
  readonly error?: string;
}

/** The solo runs of one `npm run bench`, and how they were run. */
export interface SoloTables {
  /** e.g. 'fresh headless Chromium per run (new profile), built site'. */
  readonly setup: string;
  readonly rounds: number;
  readonly batches: readonly number[];
  readonly rows: readonly SoloRow[];
}

/**
 * The rows of `outcomes`, one per model and engine in the order first met.
 *
 * @example
 * const rows = soloRows(outcomes);
 * rows.find((r) => r.model === 'caffe-lenet' && r.engine === 'webgpu-default')?.vsOrtWasm?.imagesPerSecond;
 */
export function soloRows(outcomes: readonly SoloOutcome[]): SoloRow[] {
  const keys: string[] = [];
  const groups = new Map<string, SoloOutcome[]>();
  for (const o of outcomes) {
    const key = `${o.model}/${o.engine}`;
    if (!groups.has(key)) {
      groups.set(key, []);
      keys.push(key);
    }
    groups.get(key)!.push(o);
  }
  const rows = keys.map((key) => reduce(groups.get(key)!));
  return rows.map((row) => compare(row, rows, groups));
}

function reduce(outcomes: readonly SoloOutcome[]): SoloRow {
  const { model, engine } = outcomes[0]!;
  const runs = outcomes.filter((o): o is SoloRun => !isFailure(o));
  const failed = outcomes.filter(isFailure);
  const skipped = runs.find((r) => r.skipped)?.skipped;
  const error = [failed.length ? `${failed.length} of ${outcomes.length} runs failed: ${failed[0]!.error}` : undefined, skipped].filter((e) => e).join('; ') || undefined;
  const median = (values: readonly number[]) => (values.length ? percentile(values, 50) : undefined);
  const imagesPerSecond: Record<number, number> = {};
  const batches = [...new Set(runs.flatMap((r) => r.sweep.map((p) => p.batch)))].sort((a, b) => a - b);
  for (const b of batches) {
    const at = median(runs.flatMap((r) => r.sweep.filter((p) => p.batch === b).map((p) => p.imagesPerSecond)));
    if (at !== undefined) imagesPerSecond[b] = at;
  }
  const full = median(runs.flatMap((r) => (r.fullSpeedMs === undefined ? [] : [r.fullSpeedMs])));
  const cold = median(runs.map((r) => r.firstLogitsMs));
  const latency = median(runs.map((r) => r.latency.p50));
  return {
    model,
    engine,
    detail: runs[0]?.detail ?? engine,
    runs: runs.length,
    coldStartsMs: runs.map((r) => r.firstLogitsMs),
    ...(cold !== undefined ? { coldStartMs: cold } : {}),
    ...(full !== undefined ? { fullSpeedMs: full } : {}),
    ...(latency !== undefined ? { latencyP50Ms: latency } : {}),
    imagesPerSecond,
    ...(runs[0]?.plans ? { plans: runs[0].plans } : {}),
    ...(error ? { error } : {}),
  };
}

function compare(row: SoloRow, rows: readonly SoloRow[], groups: ReadonlyMap<string, readonly SoloOutcome[]>): SoloRow {
  const firstRun = (engine: SoloEngine) => groups.get(`${row.model}/${engine}`)?.find((o): o is SoloRun => !isFailure(o));
  const ours = firstRun('webgpu-default');
  const mine = firstRun(row.engine);
  let out: SoloRow = row;
  if (ours && mine && row.engine !== 'webgpu-default') {
    const { atol, rtol } = row.engine.startsWith('webgpu-') ? { atol: 1e-4, rtol: 0 } : tolerance(row.engine as Parameters<typeof tolerance>[0]);
    let maxAbsDiff = mine.logits.length === ours.logits.length ? 0 : Infinity;
    let ok = maxAbsDiff === 0;
    ours.logits.forEach((x, i) => {
      const d = Math.abs((mine.logits[i] ?? Number.NaN) - x);
      if (!(d <= atol + rtol * Math.abs(x))) ok = false;
      maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
    });
    out = { ...out, logits: { maxAbsDiff, ok } };
  }
  const ort = rows.find((r) => r.model === row.model && r.engine === 'ort-wasm');
  if (row.engine === 'webgpu-default' && ort) {
    const shared = Object.keys(row.imagesPerSecond).map(Number).filter((b) => ort.imagesPerSecond[b] !== undefined);
    const batch = shared.length ? Math.max(...shared) : undefined;
    if (batch !== undefined && row.coldStartMs !== undefined && ort.coldStartMs !== undefined) {
      out = { ...out, vsOrtWasm: { batch, imagesPerSecond: row.imagesPerSecond[batch]! / ort.imagesPerSecond[batch]!, coldStart: row.coldStartMs / ort.coldStartMs } };
    }
  }
  return out;
}

/** The family table's title for a model. */
export function familyTitle(id: FamilyId): string {
  return kFamily.find((m) => m.id === id)?.title ?? id;
}

/** A row's engine as the tables name it. */
export function soloLabel(row: Pick<SoloRow, 'engine'>): string {
  return engineLabel(row.engine);
}

/**
 * The README's two tables as Markdown, from one run's solo tables: the fair table (seed, every
 * engine) and the family table (per model: ours, ONNX Runtime Web WASM and WebGPU, images/s at
 * each batch; ours ÷ ORT WASM; cold starts). Absent figures are '–'.
 *
 * @example
 * writeFileSync('bench-tables.md', soloMarkdown(result.solo!));
 */
export function soloMarkdown(solo: SoloTables): string {
  const n = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const ms = (x: number | undefined, d = 0) => (x === undefined ? '–' : `${n(x, d)} ms`);
  const last = solo.batches[solo.batches.length - 1]!;
  const ours = solo.rows.find((r) => r.engine.startsWith('webgpu-'))?.detail.split(',')[0];
  const lines = [`Each engine alone (${solo.setup}); ${solo.rounds} round(s), medians${ours ? `; ours: ${ours}` : ''}.`, ''];
  const fair = solo.rows.filter((r) => r.model === 'seed');
  if (fair.length) {
    lines.push(`| engine | cold start | full speed | batch-1 p50 | ${solo.batches.map((b) => `images/s at ${b}`).join(' | ')} | logits |`);
    lines.push(`|---|${solo.batches.map(() => '---|').join('')}---|---|---|---|`);
    for (const r of fair) {
      const logits = r.logits ? (r.logits.ok ? 'equal' : 'DIFFER') : r.engine === 'webgpu-default' ? 'reference' : '–';
      lines.push(`| ${engineLabel(r.engine)}${r.engine.startsWith('webgpu-') ? '' : ` (${r.detail})`} | ${ms(r.coldStartMs)} | ${ms(r.fullSpeedMs)} | ${ms(r.latencyP50Ms, 2)} | ${solo.batches.map((b) => n(r.imagesPerSecond[b])).join(' | ')} | ${logits}${r.error ? `; ${r.error}` : ''} |`);
    }
    lines.push('');
  }
  const models = [...new Set(solo.rows.map((r) => r.model))];
  const at = (model: FamilyId, engine: SoloEngine) => solo.rows.find((r) => r.model === model && r.engine === engine);
  const speeds = (r: SoloRow | undefined) => (r ? solo.batches.map((b) => n(r.imagesPerSecond[b])).join(' / ') : '–');
  const per = solo.batches.join(' / ');
  lines.push(`| model | ours: images/s at ${per} | ORT WASM | ORT WebGPU | ours ÷ ORT WASM at ${last} | cold start: ours / ORT WASM | logits |`);
  lines.push('|---|---|---|---|---|---|---|');
  for (const model of models) {
    const ours = at(model, 'webgpu-default');
    const wasm = at(model, 'ort-wasm');
    const gpu = at(model, 'ort-webgpu');
    if (!ours) continue;
    const ratio = ours.vsOrtWasm && ours.vsOrtWasm.batch === last ? `${ours.vsOrtWasm.imagesPerSecond.toFixed(2)}×` : '–';
    const checked = [wasm, gpu].filter((r): r is SoloRow => !!r?.logits);
    const logits = checked.length ? (checked.every((r) => r.logits!.ok) ? 'equal' : 'DIFFER') : '–';
    lines.push(`| ${familyTitle(model)} | ${speeds(ours)} | ${speeds(wasm)} | ${speeds(gpu)} | ${ratio} | ${ms(ours.coldStartMs)} / ${ms(wasm?.coldStartMs)} | ${logits} |`);
  }
  return `${lines.join('\n')}\n`;
}
