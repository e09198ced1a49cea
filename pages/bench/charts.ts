/**
 * The page's charts, drawn with Chart.js (bundled, no animation so screenshots are final): the
 * seed model side by side and the family (from the runs of each engine alone, where the result
 * has them), images/s against batch size per engine (log–log), one chart per model of the
 * shared page, and GPU time per kernel for each WebGPU plan.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Title,
  Tooltip,
} from 'chart.js';
import { familyTitle, type SoloRow, type SoloTables } from './solo-summary.js';
import { engineLabel, kSideBySideBatches, sideBySide } from './summary.js';
import type { BenchResult, EngineId, ModelResult, SideBySideRow } from './types.js';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, LogarithmicScale, CategoryScale, Legend, Tooltip, Title);

const kColours: Record<EngineId, string> = {
  'webgpu-default': '#9467bd',
  'webgpu-fused': '#d62728',
  'webgpu-layered': '#1f77b4',
  'cpu-reference': '#7f7f7f',
  'tfjs-webgpu': '#2ca02c',
  'tfjs-wasm': '#ff7f0e',
  'ort-wasm': '#8c564b',
  'ort-webgpu': '#17becf',
};

/** What a chart plots: its canvas id, its category labels (bar charts) and each dataset's values. */
export interface DrawnChart {
  readonly id: string;
  readonly labels: readonly string[];
  readonly datasets: ReadonlyArray<{ readonly label: string; readonly data: readonly unknown[] }>;
}

/** What `chart` plots (`window.bench.charts()`). */
export function drawnChart(chart: Chart): DrawnChart {
  return {
    id: chart.canvas.id,
    labels: (chart.data.labels ?? []).map(String),
    datasets: chart.data.datasets.map((d) => ({ label: d.label ?? '', data: [...d.data] })),
  };
}

/** Replaces the charts in `container` with those of `result`; returns them (to destroy later). */
export function drawCharts(container: HTMLElement, result: BenchResult): Chart[] {
  container.replaceChildren();
  const charts: Chart[] = [];
  const adapter = `${result.meta.adapter.vendor} ${result.meta.adapter.architecture}`.trim();
  const fair = result.solo ? fairRows(result.solo) : [];
  if (fair.length > 0) {
    charts.push(...sideBySideCharts(container, `Seed model, each engine alone in a fresh ${result.meta.host === 'node' ? 'process' : 'browser'}`, result, fair, adapter));
  } else {
    const rows = result.sideBySide ?? sideBySide(result);
    if (rows.length > 0) charts.push(...sideBySideCharts(container, 'Seed model side by side', result, rows, adapter));
  }
  if (result.solo?.rows.some((r) => r.model !== 'seed' && kFamilyEngines.includes(r.engine))) charts.push(...familyCharts(container, result, result.solo, adapter));
  for (const model of result.models) charts.push(sweepChart(container, model, adapter));
  const timed = result.models.filter((m) => m.engines.some((e) => e.kernels));
  if (timed.length > 0) charts.push(kernelChart(container, timed));
  return charts;
}

function canvas(container: HTMLElement, id: string): HTMLCanvasElement {
  const box = document.createElement('div');
  box.className = 'chart';
  const c = document.createElement('canvas');
  c.id = id;
  box.append(c);
  container.append(box);
  return c;
}

function sweepChart(container: HTMLElement, model: ModelResult, adapter: string): Chart {
  const engines = model.engines.filter((e) => e.sweep.length > 0);
  return new Chart(canvas(container, `sweep-${model.model}`), {
    type: 'line',
    data: {
      datasets: engines.map((e) => ({
        label: `${e.engine} (${e.detail})`,
        data: e.sweep.map((p) => ({ x: p.batch, y: p.imagesPerSecond })),
        borderColor: kColours[e.engine],
        backgroundColor: kColours[e.engine],
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: `${model.model} model: images/s by batch size (${adapter})` } },
      scales: {
        x: { type: 'logarithmic', title: { display: true, text: 'batch size (images)' } },
        y: { type: 'logarithmic', title: { display: true, text: 'images/s (upload → readback)' } },
      },
    },
  });
}

/**
 * The side-by-side figure: two bar charts in one row, one row of bars per engine in each —
 * images/s at batch 1, 64 and 1024 (longer is better), and the cold start and batch-1 latency
 * in ms (shorter is better) — both on log axes, so ours and the peers compare at a glance.
 */
function sideBySideCharts(container: HTMLElement, title: string, result: BenchResult, rows: readonly SideBySideRow[], adapter: string): Chart[] {
  const pair = chartPair(container, 'side-by-side', `${title} — ${runLabel(result, adapter)}`);
  const labels = rows.map((r) => engineLabel(r.engine));
  const rate = new Chart(canvas(pair, 'side-by-side-rate'), {
    type: 'bar',
    data: {
      labels,
      datasets: kSideBySideBatches.map((b, i) => ({
        label: `batch ${b}`,
        data: rows.map((r) => r.imagesPerSecond[b] ?? null),
        backgroundColor: ['#c6dbef', '#6baed6', '#08519c'][i]!,
      })),
    },
    options: barOptions('images/s, upload → readback (more is better)', 'images/s'),
  });
  const times = new Chart(canvas(pair, 'side-by-side-ms'), {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'cold start (page load → first logits)', data: rows.map((r) => r.coldStartMs ?? null), backgroundColor: '#e6550d' },
        { label: 'time to full speed (ours)', data: rows.map((r) => r.fullSpeedMs ?? null), backgroundColor: '#fdae6b' },
        { label: 'batch-1 latency p50', data: rows.map((r) => r.latencyP50Ms ?? null), backgroundColor: '#fdd0a2' },
      ],
    },
    options: barOptions('ms (less is better)', 'ms'),
  });
  return [rate, times];
}

/** The seed model's rows of the solo tables, as side-by-side rows (the same figures the fair table prints). */
function fairRows(solo: SoloTables): SideBySideRow[] {
  return solo.rows
    .filter((r) => r.model === 'seed')
    .map((r) => {
      const imagesPerSecond: { 1?: number; 64?: number; 1024?: number } = {};
      for (const b of kSideBySideBatches) if (r.imagesPerSecond[b] !== undefined) imagesPerSecond[b] = r.imagesPerSecond[b];
      return {
        engine: r.engine,
        detail: r.detail,
        ...(r.coldStartMs !== undefined ? { coldStartMs: r.coldStartMs } : {}),
        ...(r.fullSpeedMs !== undefined ? { fullSpeedMs: r.fullSpeedMs } : {}),
        ...(r.latencyP50Ms !== undefined ? { latencyP50Ms: r.latencyP50Ms } : {}),
        imagesPerSecond,
        ...(r.logits ? { logitsMatch: r.logits.ok } : {}),
        ...(r.error ? { error: r.error } : {}),
      };
    });
}

/** The engines of the family charts: ours with default options and ONNX Runtime Web on the same file. */
const kFamilyEngines: readonly EngineId[] = ['webgpu-default', 'ort-wasm', 'ort-webgpu'];

/**
 * The family figure: per model, ours (default options) against ONNX Runtime Web WASM and
 * WebGPU on the same file, each alone: images/s at the run's largest batch and the cold start,
 * on log axes; each model's label carries ours ÷ ORT WASM at that batch, the family table's
 * ratio.
 */
function familyCharts(container: HTMLElement, result: BenchResult, solo: SoloTables, adapter: string): Chart[] {
  const batch = solo.batches[solo.batches.length - 1]!;
  const pair = chartPair(container, 'family', `The family, each engine alone — ${runLabel(result, adapter)}`);
  const shown = solo.rows.filter((r) => kFamilyEngines.includes(r.engine));
  const models = [...new Set(shown.map((r) => r.model))];
  const row = (model: string, engine: EngineId): SoloRow | undefined => shown.find((r) => r.model === model && r.engine === engine);
  const labels = models.map((model) => {
    const ratio = row(model, 'webgpu-default')?.vsOrtWasm;
    const name = familyTitle(model).split(' (')[0]!;
    return ratio && ratio.batch === batch ? `${name} (${ratio.imagesPerSecond.toFixed(2)}×)` : name;
  });
  const engines = kFamilyEngines.filter((e) => shown.some((r) => r.engine === e));
  const datasets = (figure: (r: SoloRow) => number | undefined) =>
    engines.map((engine) => ({
      label: engineLabel(engine),
      data: models.map((model) => {
        const r = row(model, engine);
        return (r && figure(r)) ?? null;
      }),
      backgroundColor: kColours[engine],
    }));
  const rate = new Chart(canvas(pair, 'family-rate'), {
    type: 'bar',
    data: { labels, datasets: datasets((r) => r.imagesPerSecond[batch]) },
    options: barOptions(`images/s at batch ${batch}, upload → readback (more is better); ours ÷ ORT WASM in brackets`, 'images/s'),
  });
  const cold = new Chart(canvas(pair, 'family-cold'), {
    type: 'bar',
    data: { labels, datasets: datasets((r) => r.coldStartMs) },
    options: barOptions(`cold start, ${result.meta.host === 'node' ? 'process start' : 'page load'} → first logits, ms (less is better)`, 'ms'),
  });
  return [rate, cold];
}

/** A heading and a row for two charts side by side; returns the row. */
function chartPair(container: HTMLElement, id: string, title: string): HTMLElement {
  const pair = document.createElement('div');
  pair.className = 'pair';
  pair.id = id;
  const heading = document.createElement('h2');
  heading.textContent = title;
  container.append(heading, pair);
  return pair;
}

/** 'HeadlessChrome 156.0.0.0, google swiftshader, 2026-12-07' (and ', QUICK run' for a quick one). */
function runLabel(result: BenchResult, adapter: string): string {
  return `${result.meta.browser}, ${adapter}${result.meta.quick ? ', QUICK run' : ''}${result.meta.date ? `, ${result.meta.date.slice(0, 10)}` : ''}`;
}

/** Horizontal bars on a log axis: one row of bars per category. */
function barOptions(title: string, axis: string) {
  return {
    animation: false as const,
    responsive: true,
    maintainAspectRatio: false,
    indexAxis: 'y' as const,
    plugins: { title: { display: true, text: title } },
    scales: { x: { type: 'logarithmic' as const, title: { display: true, text: axis }, ticks: { callback: decadeTick } } },
  };
}

/** Log-axis labels at 1, 2 and 5 of each decade only, as plain numbers. */
function decadeTick(value: string | number): string {
  const v = Number(value);
  const mantissa = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6) ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : '';
}

function kernelChart(container: HTMLElement, models: readonly ModelResult[]): Chart {
  const rows = models.flatMap((m) =>
    m.engines.filter((e) => e.kernels).map((e) => ({ name: `${m.model} ${e.detail}`, kernels: e.kernels! })),
  );
  const labels = [...new Set(rows.flatMap((r) => r.kernels.kernels.map((k) => shortLabel(k.label))))];
  const timer = rows[0]?.kernels.timer ?? 'wall';
  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  return new Chart(canvas(container, 'kernels'), {
    type: 'bar',
    data: {
      labels: rows.map((r) => `${r.name} @${r.kernels.batch}`),
      datasets: labels.map((label, i) => ({
        label,
        data: rows.map((r) => r.kernels.kernels.filter((k) => shortLabel(k.label) === label).reduce((s, k) => s + k.ms, 0)),
        backgroundColor: palette[i % palette.length],
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: 'y',
      plugins: { title: { display: true, text: `GPU time per kernel, ms (${timer})` } },
      scales: { x: { stacked: true, title: { display: true, text: 'ms per batch' } }, y: { stacked: true } },
    },
  });
}

/** 'C3.conv5x5' stays; 'fused.seed.invocation' becomes 'fused'. */
function shortLabel(label: string): string {
  return label.startsWith('fused.') ? 'fused (whole network)' : label;
}
