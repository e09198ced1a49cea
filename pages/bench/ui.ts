/**
 * bench.html: runs the benchmark on demand and shows the tables, the charts and the JSON.
 * `window.bench.run(options)` is the same entry point for `npm run bench` and the tests;
 * `window.bench.show(result)` shows a result completed elsewhere (`npm run bench` adds the cold
 * starts it measured in fresh browsers, and shows the whole before its screenshot);
 * `window.bench.charts()` gives what each chart on the page plots (its canvas id, labels and
 * datasets), for the tests and for anyone who wants the figures behind a picture.
 */
import { recommendedFeatures, recommendedLimits } from '../../src/index.js';
import { drawCharts, drawnChart, type DrawnChart } from './charts.js';
import { pageHost } from './page-host.js';
import { benchMeta, runBenchmark } from './run.js';
import { sideBySide } from './summary.js';
import { renderTable } from './table.js';
import { kPeers, type BenchOptions, type BenchResult } from './types.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = (line: string) => {
  $('log').textContent += `${line}\n`;
};
let charts: ReturnType<typeof drawCharts> = [];
let last: BenchResult | undefined;

/** A device with timestamp queries (per-kernel GPU time) and the engine's features, where the adapter has them. */
async function benchDevice(): Promise<{ device: GPUDevice; info: GPUAdapterInfo }> {
  if (!navigator.gpu) throw new Error('navigator.gpu is missing: no WebGPU in this browser (or not a secure context)');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('requestAdapter() returned no adapter');
  const requiredFeatures = [...recommendedFeatures(adapter), ...(adapter.features.has('timestamp-query') ? ['timestamp-query' as const] : [])];
  const device = await adapter.requestDevice({ label: 'bench.device', requiredFeatures, requiredLimits: recommendedLimits(adapter) });
  return { device, info: adapter.info };
}

async function run(options: BenchOptions): Promise<BenchResult> {
  document.body.dataset['state'] = 'running';
  $('log').textContent = '';
  $<HTMLButtonElement>('run').disabled = true;
  const { device, info } = await benchDevice();
  try {
    const measured = await runBenchmark(device, info, options, pageHost, log);
    const result = { ...measured, sideBySide: sideBySide(measured) };
    show(result);
    document.body.dataset['state'] = 'done';
    return result;
  } catch (e) {
    log(`error: ${(e as Error).message}`);
    document.body.dataset['state'] = 'error';
    throw e;
  } finally {
    device.destroy();
    $<HTMLButtonElement>('run').disabled = false;
  }
}

/** Shows `result`: tables, charts, JSON, download. */
function show(result: BenchResult): void {
  last = result;
  for (const c of charts) c.destroy();
  charts = drawCharts($('charts'), result);
  renderTable($('results'), result);
  $('json').textContent = JSON.stringify(result, null, 1);
  $<HTMLButtonElement>('download').disabled = false;
}

function optionsFromForm(): BenchOptions {
  const models = (['seed', 'classic'] as const).filter((m) => $<HTMLInputElement>(`model-${m}`).checked);
  const peers = kPeers.filter((p) => $<HTMLInputElement>(`peer-${p}`).checked);
  return { quick: $<HTMLInputElement>('quick').checked, frameworks: peers.length > 0, peers, models };
}

/** A result with this page's meta and no figures, for results measured elsewhere (the solo runs). */
async function meta(): Promise<BenchResult> {
  const { device, info } = await benchDevice();
  try {
    return { meta: benchMeta(device, info, { quick: false, frameworks: false, models: [] }, pageHost), models: [] };
  } finally {
    device.destroy();
  }
}

declare global {
  interface Window {
    bench: {
      run(options: BenchOptions): Promise<BenchResult>;
      show(result: BenchResult): void;
      meta(): Promise<BenchResult>;
      charts(): DrawnChart[];
    };
  }
}

/**
 * Wires the form and installs `window.bench`. A function the entry calls, not module-level
 * statements: a bundler told the package has no side effects would drop those.
 */
export function startBenchUi(): void {
  $('run').addEventListener('click', () => {
    run(optionsFromForm()).catch(() => undefined);
  });
  $('download').addEventListener('click', () => {
    if (!last) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([JSON.stringify(last, null, 1)], { type: 'application/json' }));
    a.download = `lenet5-bench-${last.meta.date.replace(/[:.]/g, '-')}.json`;
    a.click();
    URL.revokeObjectURL(a.href);
  });
  window.bench = { run, show, meta, charts: () => charts.map(drawnChart) };
  document.body.dataset['state'] = 'idle';
}
