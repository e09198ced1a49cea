/**
 * bench.html: runs the benchmark on demand and shows the table, the charts and the JSON.
 * `window.bench.run(options)` is the same entry point for `npm run bench` and the tests.
 */
import { recommendedFeatures } from '../../src/index.js';
import { drawCharts } from './charts.js';
import { runBenchmark } from './run.js';
import { renderTable } from './table.js';
import type { BenchOptions, BenchResult } from './types.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = (line: string) => {
  $('log').textContent += `${line}\n`;
};
let charts: Array<{ destroy(): void }> = [];
let last: BenchResult | undefined;

/** A device with timestamp queries (per-kernel GPU time) and the engine's features, where the adapter has them. */
async function benchDevice(): Promise<{ device: GPUDevice; info: GPUAdapterInfo }> {
  if (!navigator.gpu) throw new Error('navigator.gpu is missing: no WebGPU in this browser (or not a secure context)');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('requestAdapter() returned no adapter');
  const requiredFeatures = [...recommendedFeatures(adapter), ...(adapter.features.has('timestamp-query') ? ['timestamp-query' as const] : [])];
  const device = await adapter.requestDevice({ label: 'bench.device', requiredFeatures });
  return { device, info: adapter.info };
}

async function run(options: BenchOptions): Promise<BenchResult> {
  document.body.dataset['state'] = 'running';
  $('log').textContent = '';
  $<HTMLButtonElement>('run').disabled = true;
  const { device, info } = await benchDevice();
  try {
    const result = await runBenchmark(device, info, options, log);
    last = result;
    for (const c of charts) c.destroy();
    charts = drawCharts($('charts'), result);
    renderTable($('results'), result);
    $('json').textContent = JSON.stringify(result, null, 1);
    $<HTMLButtonElement>('download').disabled = false;
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

function optionsFromForm(): BenchOptions {
  const models = (['seed', 'classic'] as const).filter((m) => $<HTMLInputElement>(`model-${m}`).checked);
  return { quick: $<HTMLInputElement>('quick').checked, frameworks: $<HTMLInputElement>('frameworks').checked, models };
}

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

declare global {
  interface Window {
    bench: { run(options: BenchOptions): Promise<BenchResult> };
  }
}
window.bench = { run };
document.body.dataset['state'] = 'idle';
