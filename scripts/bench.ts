/**
 * `npm run bench [-- --json FILE] [--quick] [--no-frameworks] [--screenshot FILE]`
 *
 * Starts a Vite server on 127.0.0.1 (file watching and HMR off, so nothing reloads the page
 * mid-run), opens bench.html in headless Chromium, runs the benchmark (tfjs included unless
 * --no-frameworks), prints the tables labelled by adapter and browser, and writes the JSON.
 * The server and the browser are closed on every exit path, errors included.
 */
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import type { BenchResult, EngineResult } from '../pages/bench/types.js';
import { findChromium, kChromiumArgs } from './chromium.js';

interface Args {
  json?: string;
  screenshot?: string;
  quick: boolean;
  frameworks: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, frameworks: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a file name`);
      return v;
    };
    if (a === '--json') args.json = value();
    else if (a === '--screenshot') args.screenshot = value();
    else if (a === '--quick') args.quick = true;
    else if (a === '--no-frameworks') args.frameworks = false;
    else throw new Error(`unknown argument '${a}' (expected --json FILE, --screenshot FILE, --quick, --no-frameworks)`);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  };
  process.once('SIGINT', () => void close().then(() => process.exit(130)));
  try {
    server = await createServer({
      logLevel: 'warn',
      server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
    });
    await server.listen();
    const { port } = server.httpServer!.address() as AddressInfo;
    // Full-resolution timestamps (Chromium quantises them otherwise).
    browser = await chromium.launch({ executablePath: findChromium(), args: [...kChromiumArgs, '--enable-webgpu-developer-features'] });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${port}/bench.html`);
    await page.waitForFunction(() => document.body.dataset['state'] === 'idle', undefined, { timeout: 120_000 });
    let shown = 0;
    const progress = setInterval(() => {
      void page
        .evaluate(() => document.getElementById('log')?.textContent ?? '')
        .then((text) => {
          const lines = text.trim().split('\n').filter((l) => l);
          for (const line of lines.slice(shown)) process.stderr.write(`${line}\n`);
          shown = Math.max(shown, lines.length);
        })
        .catch(() => undefined);
    }, 1000);
    let result: BenchResult;
    try {
      result = await page.evaluate(
        (o) => window.bench.run(o),
        { quick: args.quick, frameworks: args.frameworks, models: ['seed', 'classic'] as Array<'seed' | 'classic'> },
      );
    } finally {
      clearInterval(progress);
    }
    console.log(formatResult(result));
    if (args.json) {
      writeFileSync(args.json, `${JSON.stringify(result, null, 1)}\n`);
      console.log(`JSON written to ${args.json}`);
    }
    if (args.screenshot) {
      const charts = page.locator('#charts');
      await charts.screenshot({ path: args.screenshot });
      console.log(`chart screenshot written to ${args.screenshot}`);
    }
    if (pageErrors.length) console.warn(`page reported: ${pageErrors.slice(0, 5).join(' | ')}`);
  } finally {
    await close();
  }
}

/** The result as plain-text tables, one per model, headed by browser and adapter. */
function formatResult(result: BenchResult): string {
  const { meta } = result;
  const lines = [
    `browser: ${meta.browser}`,
    `adapter: ${[meta.adapter.vendor, meta.adapter.architecture, meta.adapter.device, meta.adapter.description].filter((s) => s).join(' / ')}`,
    `CPUs: ${meta.hardwareConcurrency} logical; kernel timer: ${meta.timestampQuery ? 'timestamp-query' : 'wall clock (onSubmittedWorkDone)'}; ${meta.quick ? 'QUICK run' : 'full run'}; ${meta.date}`,
  ];
  if (result.floors) {
    lines.push('', 'round-trip floors (no real work; upload → readback), ms');
    lines.push(...table([['round trip', 'p50', 'p95', 'note'], ...result.floors.map((f) => [f.label, f.p50.toFixed(2), f.p95.toFixed(2), `${f.samples} runs`])]));
  }
  for (const model of result.models) {
    const batches = [...new Set(model.engines.flatMap((e) => e.sweep.map((p) => p.batch)))].sort((a, b) => a - b);
    const header = ['engine', 'b1 p50 ms', 'b1 p95 ms', ...batches.map((b) => `img/s b=${b}`), 'GFLOP/s max', 'GPU ms/batch', 'note'];
    const rows = model.engines.map((e) => row(e, batches));
    lines.push('', `${model.model} model — ${model.weights}, ${model.multiplyAddsPerImage.toLocaleString('en-US')} multiply-adds/image; upload → readback, medians`);
    lines.push(...table([header, ...rows]));
  }
  return lines.join('\n');
}

function row(e: EngineResult, batches: readonly number[]): string[] {
  const n = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
  const best = e.sweep.length ? Math.max(...e.sweep.map((p) => p.gflops)) : undefined;
  const kernels = e.kernels ? `${n(e.kernels.totalMs, 2)} @${e.kernels.batch}` : '';
  const note = e.error ?? (e.check ? `logits match ours (max |Δ| ${e.check.maxAbsDiff.toExponential(1)})` : '');
  return [
    `${e.engine} [${e.detail}]`,
    n(e.latency.p50, 2),
    n(e.latency.p95, 2),
    ...batches.map((b) => n(e.sweep.find((p) => p.batch === b)?.imagesPerSecond)),
    n(best, 2),
    kernels,
    note,
  ];
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 || c === r.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
