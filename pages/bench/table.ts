/**
 * The results as HTML tables (one per model), every figure labelled with its adapter and timer.
 */
import { familyTitle, type SoloRow, type SoloTables } from './solo-summary.js';
import { engineLabel, kSideBySideBatches, sideBySide } from './summary.js';
import type { BenchResult, EngineResult } from './types.js';

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

/** Replaces `container`'s content with the tables of `result`. */
export function renderTable(container: HTMLElement, result: BenchResult): void {
  const { meta } = result;
  const head = document.createElement('p');
  head.textContent =
    `${meta.browser}; adapter: ${meta.adapter.vendor} ${meta.adapter.architecture} ${meta.adapter.device} ${meta.adapter.description}`.trim() +
    `; ${meta.hardwareConcurrency} logical CPUs; kernel timer: ${meta.timestampQuery ? 'timestamp-query' : 'wall clock around onSubmittedWorkDone'}` +
    `${meta.quick ? '; QUICK run (small batches)' : ''}.`;
  container.replaceChildren(head);
  if (result.solo) container.append(...soloTables(result.solo, meta.host));
  const rows = result.sideBySide ?? sideBySide(result);
  if (rows.length > 0) {
    const table = document.createElement('table');
    table.className = 'side-by-side';
    const caption = document.createElement('caption');
    caption.textContent =
      'Side by side, seed model: cold start (fresh browser, page load → first logits), time to full speed (batch 1024 at ≥ 90% of steady), ' +
      'batch-1 latency and images/s (upload → readback), medians';
    table.append(caption, row('th', ['engine', 'cold start ms', 'full speed ms', 'batch-1 p50 ms', ...kSideBySideBatches.map((b) => `img/s b=${b}`), 'logits vs ours', 'note']));
    for (const r of rows) {
      table.append(
        row('td', [
          `${engineLabel(r.engine)} (${r.detail})`,
          fmt(r.coldStartMs ?? Number.NaN),
          fmt(r.fullSpeedMs ?? Number.NaN),
          fmt(r.latencyP50Ms ?? Number.NaN, 2),
          ...kSideBySideBatches.map((b) => fmt(r.imagesPerSecond[b] ?? Number.NaN)),
          r.logitsMatch === undefined ? '' : r.logitsMatch ? 'equal' : 'DIFFER',
          r.error ?? '',
        ]),
      );
    }
    container.append(table);
  }
  if (result.coldStarts?.length) {
    const table = document.createElement('table');
    table.className = 'cold';
    const caption = document.createElement('caption');
    caption.textContent = `Cold starts (${result.coldStartSetup ?? 'each run a fresh browser with empty caches'}): ms, the median run's phases`;
    table.append(caption, row('th', ['engine', 'runs', 'imported', 'ready', 'first logits', 'full speed', 'steady img/s @1024', 'plan', 'first logits vs ours']));
    for (const c of result.coldStarts) {
      const median = [...c.runs].sort((a, b) => a.firstLogitsMs - b.firstLogitsMs)[Math.floor((c.runs.length - 1) / 2)];
      const phase = (label: string) => median?.phases.find((p) => p.label === label)?.atMs ?? Number.NaN;
      table.append(
        row('td', [
          `${engineLabel(c.engine)} (${c.detail})`,
          String(c.runs.length),
          fmt(phase('imported')),
          fmt(phase('ready')),
          fmt(c.firstLogitsMs),
          fmt(c.fullSpeedMs ?? Number.NaN),
          fmt(median?.steadyImagesPerSecond ?? Number.NaN),
          median?.plans?.join(' → ') ?? '',
          c.error ?? (c.maxAbsDiffVsOurs === undefined ? '' : `max |Δ| ${c.maxAbsDiffVsOurs.toExponential(1)}`),
        ]),
      );
    }
    container.append(table);
  }
  if (result.floors) {
    const floors = document.createElement('table');
    floors.className = 'floors';
    const caption = document.createElement('caption');
    caption.textContent = 'Round-trip floors: upload → readback doing no real work (what batch-1 latency cannot beat), ms';
    floors.append(caption, row('th', ['round trip', 'p50', 'p95', 'runs']));
    for (const f of result.floors) floors.append(row('td', [f.label, fmt(f.p50, 2), fmt(f.p95, 2), String(f.samples)]));
    container.append(floors);
  }
  for (const model of result.models) {
    const table = document.createElement('table');
    table.className = 'model';
    const batches = [...new Set(model.engines.flatMap((e) => e.sweep.map((p) => p.batch)))].sort((a, b) => a - b);
    const caption = document.createElement('caption');
    caption.textContent = `${model.model} model (${model.weights}; ${fmt(model.multiplyAddsPerImage)} multiply-adds per image): images/s by batch size, upload → readback`;
    table.append(caption);
    const header = ['engine', 'batch-1 p50 ms', 'p95 ms', ...batches.map((b) => `b=${b}`), 'best GFLOP/s', 'kernels (GPU ms)', 'check'];
    table.append(row('th', header));
    for (const e of model.engines) table.append(row('td', engineRow(e, batches)));
    container.append(table);
  }
}

/** The fair table (seed, every engine) and the family table (every model: ours and ONNX Runtime Web). */
function soloTables(solo: SoloTables, host: 'browser' | 'node'): HTMLTableElement[] {
  const cold = host === 'node' ? 'process start → first logits' : 'page load → first logits';
  const logits = (r: SoloRow) => (r.logits === undefined ? (r.engine === 'webgpu-default' ? 'reference' : '') : `${r.logits.ok ? 'equal' : 'DIFFER'} (max |Δ| ${r.logits.maxAbsDiff.toExponential(1)})`);
  const batches = solo.batches.map((b) => `img/s b=${b}`);
  const tables: HTMLTableElement[] = [];
  const fair = solo.rows.filter((r) => r.model === 'seed');
  if (fair.length) {
    const table = document.createElement('table');
    table.className = 'fair';
    const caption = document.createElement('caption');
    caption.textContent = `Fair table, seed model: each engine alone (${solo.setup}), given the same raw bytes; ${solo.rounds} round(s), medians; cold start: ${cold}`;
    table.append(caption, row('th', ['engine', 'cold start ms', 'full speed ms', 'batch-1 p50 ms', ...batches, 'logits vs ours', 'note']));
    for (const r of fair) {
      table.append(row('td', [`${engineLabel(r.engine)} (${r.detail})`, fmt(r.coldStartMs ?? Number.NaN), fmt(r.fullSpeedMs ?? Number.NaN), fmt(r.latencyP50Ms ?? Number.NaN, 2), ...solo.batches.map((b) => fmt(r.imagesPerSecond[b] ?? Number.NaN)), logits(r), r.error ?? '']));
    }
    tables.push(table);
  }
  const family = solo.rows.filter((r) => r.engine === 'webgpu-default' || r.engine === 'ort-wasm' || r.engine === 'ort-webgpu');
  if (family.length) {
    const table = document.createElement('table');
    table.className = 'family';
    const caption = document.createElement('caption');
    caption.textContent = `Family table: ours (default options) beside ONNX Runtime Web on the same file, each alone; ${solo.rounds} round(s), medians; cold start: ${cold}`;
    table.append(caption, row('th', ['model', 'engine', 'cold start ms', 'batch-1 p50 ms', ...batches, 'ours ÷ ORT WASM', 'logits vs ours', 'plan / note']));
    for (const r of family) {
      table.append(
        row('td', [
          familyTitle(r.model),
          engineLabel(r.engine),
          fmt(r.coldStartMs ?? Number.NaN),
          fmt(r.latencyP50Ms ?? Number.NaN, 2),
          ...solo.batches.map((b) => fmt(r.imagesPerSecond[b] ?? Number.NaN)),
          r.vsOrtWasm ? `${fmt(r.vsOrtWasm.imagesPerSecond, 2)}× at ${r.vsOrtWasm.batch}, cold start ${fmt(r.vsOrtWasm.coldStart, 2)}×` : '',
          logits(r),
          [r.plans?.join(' → '), r.error].filter((x) => x).join('; '),
        ]),
      );
    }
    tables.push(table);
  }
  return tables;
}

function engineRow(e: EngineResult, batches: readonly number[]): string[] {
  const at = (b: number) => e.sweep.find((p) => p.batch === b);
  const best = Math.max(...e.sweep.map((p) => p.gflops));
  const kernels = [e.kernels, e.batchOneKernels]
    .filter((k) => k !== undefined)
    .map((k) => `${fmt(k.totalMs, 2)} @${k.batch} (${k.timer})`)
    .join('; ');
  const check = e.check ? `${e.check.ok ? 'ok' : 'MISMATCH'} max |Δ| ${e.check.maxAbsDiff.toExponential(1)}` : e.error ?? '';
  return [
    `${e.engine} (${e.detail})`,
    fmt(e.latency.p50, 2),
    fmt(e.latency.p95, 2),
    ...batches.map((b) => fmt(at(b)?.imagesPerSecond ?? Number.NaN)),
    e.sweep.length ? fmt(best, 2) : '–',
    kernels,
    check,
  ];
}

function row(cell: 'th' | 'td', values: readonly string[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const v of values) {
    const c = document.createElement(cell);
    c.textContent = v;
    tr.append(c);
  }
  return tr;
}
