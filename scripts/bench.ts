/**
 * `npm run bench [-- OPTIONS]`: the benchmark, ours against the peers, printed as tables.
 *
 * In the browser (default): builds the site (`vite build`, into a temporary folder) and serves
 * it on 127.0.0.1 (`vite preview`), so every engine loads as a deployed page would: bundled,
 * minified, nothing transformed on request (--dev serves the sources through Vite's dev server
 * instead: quicker to start, but each of our modules is a request of its own). Times cold
 * starts, each in a fresh headless Chromium (empty caches: a new profile per launch), page load
 * to first logits, for ours (createEngine default, fused plan, layered plan; with time to full
 * speed) and the peers; then opens bench.html once more and runs the warm benchmark there
 * (tfjs and ONNX Runtime Web included unless --no-frameworks). Prints the side-by-side table
 * and the details, writes the JSON, and screenshots the page's charts.
 *
 * In Node (--node): the same figures through Dawn (the `webgpu` package) on the best adapter
 * present or the one --adapter names, with the peers that run in Node (WASM backends); each
 * cold start in a fresh Node process, from the library's import to the first logits.
 *
 * The server, browsers and child processes are closed on every exit path, errors included.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ColdEngine, ColdOutcome } from '../pages/bench/cold.js';
import { percentile } from '../pages/bench/measure.js';
import { engineLabel, kSideBySideBatches, runComparisons, sideBySide } from '../pages/bench/summary.js';
import { kPeers, type BenchResult, type ColdStart, type ColdStartRun, type EngineResult, type OursId, type PeerId } from '../pages/bench/types.js';

const kUsage = `npm run bench [-- OPTIONS]

  --quick            small batches (1, 16, 64), one cold start per engine, short runs
  --json FILE        write the result as JSON
  --screenshot FILE  PNG of the page's charts (browser only)
  --no-frameworks    ours only: no tfjs, no ONNX Runtime Web
  --peers LIST       which peers, comma-separated: ${kPeers.join(',')} (default all)
  --models LIST      seed,classic (default both; the peers run on seed)
  --no-cold          skip the cold starts
  --cold-runs N      cold starts per engine, median reported (default 3; --quick 1)
  --dev              serve the sources with Vite's dev server instead of building the site
  --node             in Node through Dawn (the 'webgpu' package) instead of headless Chromium
  --adapter NAME     with --node: the Dawn adapter whose name contains NAME (an unknown name
                     lists the adapters); default the best present, a real GPU before SwiftShader
  --help             this text`;

const kOurs: readonly OursId[] = ['webgpu-default', 'webgpu-fused', 'webgpu-layered'];
/** A cold page that has not answered in this long has failed. */
const kColdTimeoutMs = 180_000;

interface Args {
  json?: string;
  screenshot?: string;
  quick: boolean;
  peers: PeerId[];
  models: Array<'seed' | 'classic'>;
  cold: boolean;
  coldRuns?: number;
  dev: boolean;
  node: boolean;
  adapter?: string;
  /** Internal: one Node cold start of this engine, printed as JSON on stdout. */
  nodeCold?: OursId | PeerId;
}

function parseArgs(argv: readonly string[]): Args | 'help' {
  const args: Args = { quick: false, peers: [...kPeers], models: ['seed', 'classic'], cold: true, dev: false, node: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (what: string) => {
      const v = argv[++i];
      if (!v || v.startsWith('--')) throw new Error(`${a} needs ${what}`);
      return v;
    };
    const list = <T extends string>(allowed: readonly T[]): T[] => {
      const items = value(`a comma-separated list of ${allowed.join(', ')}`).split(',');
      for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${a}: unknown '${item}' (expected ${allowed.join(', ')})`);
      return items as T[];
    };
    if (a === '--json') args.json = value('a file name');
    else if (a === '--screenshot') args.screenshot = value('a file name');
    else if (a === '--quick') args.quick = true;
    else if (a === '--no-frameworks') args.peers = [];
    else if (a === '--peers') args.peers = list(kPeers);
    else if (a === '--models') args.models = list(['seed', 'classic'] as const);
    else if (a === '--no-cold') args.cold = false;
    else if (a === '--cold-runs') {
      const n = Number(value('a count'));
      if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`--cold-runs must be an integer 1..50, found '${argv[i]}'`);
      args.coldRuns = n;
    } else if (a === '--dev') args.dev = true;
    else if (a === '--node') args.node = true;
    else if (a === '--adapter') args.adapter = value('an adapter name (or part of one)');
    else if (a === '--node-cold') args.nodeCold = list([...kOurs, ...kPeers])[0];
    else if (a === '--help' || a === '-h') return 'help';
    else throw new Error(`unknown argument '${a}'\n\n${kUsage}`);
  }
  if (args.adapter !== undefined && !args.node && !args.nodeCold) throw new Error('--adapter chooses among Dawn adapters in Node: use it with --node');
  if (args.screenshot && args.node) throw new Error('--screenshot needs the page: not with --node');
  return args;
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(kUsage);
    return;
  }
  const args = parsed;
  if (args.nodeCold) return nodeColdChild(args.nodeCold, args);
  const result = args.node ? await nodeBench(args) : await browserBench(args);
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify(result, null, 1)}\n`);
    console.log(`JSON written to ${args.json}`);
  }
}

// ---------------------------------------------------------------------------------------------
// In the browser

async function browserBench(args: Args): Promise<BenchResult> {
  const [{ chromium }, vite, { findChromium, kChromiumArgs }] = await Promise.all([import('playwright'), import('vite'), import('./chromium.js')]);
  type Browser = import('playwright').Browser;
  let server: { close(): Promise<void>; httpServer: import('node:http').Server | import('node:http2').Http2SecureServer | null } | undefined;
  const site = args.dev ? undefined : mkdtempSync(join(tmpdir(), 'lenet5-bench-site-'));
  const browsers = new Set<Browser>();
  const launch = async () => {
    // Full-resolution timestamps (Chromium quantises them otherwise). Each launch is a new
    // temporary profile: empty HTTP, code and GPU shader caches.
    const browser = await chromium.launch({ executablePath: findChromium(), args: [...kChromiumArgs, '--enable-webgpu-developer-features'] });
    browsers.add(browser);
    return browser;
  };
  const closeBrowser = async (browser: Browser) => {
    browsers.delete(browser);
    await browser.close().catch(() => undefined);
  };
  const close = async () => {
    for (const b of [...browsers]) await closeBrowser(b);
    await server?.close().catch(() => undefined);
    if (site) rmSync(site, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void close().then(() => process.exit(130)));
  try {
    if (site) {
      process.stderr.write(`building the site into ${site}\n`);
      await vite.build({ logLevel: 'warn', build: { outDir: site, emptyOutDir: true } });
      server = await vite.preview({ logLevel: 'warn', build: { outDir: site }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    } else {
      const dev = await vite.createServer({ logLevel: 'warn', server: { host: '127.0.0.1', port: 0, hmr: false, watch: null } });
      server = dev;
      await dev.listen();
    }
    const { port } = server.httpServer!.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;

    let coldStarts: ColdStart[] = [];
    if (args.cold) {
      const engines: ColdEngine[] = [...kOurs, ...args.peers];
      const coldPage = async (engine: ColdEngine, extra: string): Promise<ColdOutcome> => {
        const browser = await launch();
        try {
          const page = await (await browser.newContext()).newPage();
          await page.goto(`${origin}/bench.html?cold=${engine}${args.quick ? '&quick' : ''}${extra}`);
          await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['state'] ?? ''), undefined, { timeout: kColdTimeoutMs });
          return (await page.evaluate(() => window.coldStart))!;
        } catch (e) {
          return { engine, detail: engine, error: (e as Error).message.split('\n')[0]! };
        } finally {
          await closeBrowser(browser);
        }
      };
      if (args.dev) {
        // One unmeasured visit per set of modules first, so that Vite has transformed and
        // pre-bundled everything a cold page asks for (a user's server would not transform).
        const warmups = engines.filter((e) => e === 'webgpu-layered' || !kOurs.includes(e as OursId));
        process.stderr.write(`cold start: warming Vite's transforms (${warmups.join(', ')})\n`);
        for (const engine of warmups) await coldPage(engine, '&quick');
      }
      coldStarts = await coldStartRounds(engines, args.coldRuns ?? (args.quick ? 1 : 3), (engine) => coldPage(engine, ''));
    }

    const browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(`${origin}/bench.html`);
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
    let warm: BenchResult;
    try {
      warm = await page.evaluate((o) => window.bench.run(o), { quick: args.quick, frameworks: args.peers.length > 0, peers: args.peers, models: args.models });
    } finally {
      clearInterval(progress);
    }
    const setup = `fresh headless Chromium per run (new profile), ${site ? 'built site (vite build, served by vite preview)' : "sources through Vite's dev server (transforms warmed first)"}; page load → first logits`;
    const result = complete(warm, coldStarts, setup);
    await page.evaluate((r) => window.bench.show(r), result);
    console.log(formatResult(result));
    if (args.screenshot) {
      await page.locator('#charts').screenshot({ path: args.screenshot });
      console.log(`chart screenshot written to ${args.screenshot}`);
    }
    if (pageErrors.length) console.warn(`page reported: ${pageErrors.slice(0, 5).join(' | ')}`);
    return result;
  } finally {
    await close();
  }
}

/**
 * `runs` rounds, each engine once per round in the listed order, so that the machine's drift
 * falls on every engine alike; then the median per engine.
 */
async function coldStartRounds(engines: readonly ColdEngine[], runs: number, once: (engine: ColdEngine) => Promise<ColdOutcome>): Promise<ColdStart[]> {
  const outcomes = new Map<ColdEngine, ColdOutcome[]>(engines.map((e) => [e, []]));
  for (let round = 1; round <= runs; round++) {
    for (const engine of engines) {
      const outcome = await once(engine);
      outcomes.get(engine)!.push(outcome);
      const r = outcome.run;
      process.stderr.write(
        `cold start ${round}/${runs} ${engine}: ${r ? `first logits ${r.firstLogitsMs.toFixed(0)} ms${r.fullSpeedMs !== undefined ? `, full speed ${r.fullSpeedMs.toFixed(0)} ms (${r.steadyImagesPerSecond!.toFixed(0)} img/s)` : ''}` : `FAILED: ${outcome.error}`}\n`,
      );
    }
  }
  const starts = engines.map((engine): ColdStart => {
    const all = outcomes.get(engine)!;
    const runsOk = all.flatMap((o) => (o.run ? [o.run] : []));
    const detail = all.find((o) => o.run)?.detail ?? all[0]?.detail ?? engine;
    if (runsOk.length === 0) return { engine, detail, runs: [], firstLogitsMs: Number.NaN, error: all[0]?.error ?? 'no run' };
    const full = runsOk.flatMap((r) => (r.fullSpeedMs === undefined ? [] : [r.fullSpeedMs]));
    const failed = all.length - runsOk.length;
    return {
      engine,
      detail,
      runs: runsOk,
      firstLogitsMs: median(runsOk.map((r) => r.firstLogitsMs)),
      ...(full.length ? { fullSpeedMs: median(full) } : {}),
      ...(failed ? { error: `${failed} of ${all.length} runs failed: ${all.find((o) => o.error)?.error}` } : {}),
    };
  });
  // Every engine's first answer against ours (the default engine's, else the first that ran).
  const reference = (starts.find((s) => s.engine === 'webgpu-default' && s.runs.length) ?? starts.find((s) => s.runs.length))?.runs[0]?.logits;
  return starts.map((s) => {
    const logits = s.runs[0]?.logits;
    if (!reference || !logits) return s;
    let max = 0;
    for (let i = 0; i < reference.length; i++) max = Math.max(max, Math.abs((logits[i] ?? Number.NaN) - reference[i]!));
    return { ...s, maxAbsDiffVsOurs: Number.isNaN(max) ? Infinity : max };
  });
}

/** The middle value (the lower of the two middles for an even count: a run that happened). */
function median(values: readonly number[]): number {
  return percentile(values, 50);
}

function complete(warm: BenchResult, coldStarts: readonly ColdStart[], setup: string): BenchResult {
  const withCold: BenchResult = coldStarts.length ? { ...warm, coldStarts, coldStartSetup: setup } : warm;
  return { ...withCold, sideBySide: sideBySide(withCold) };
}

// ---------------------------------------------------------------------------------------------
// In Node

async function nodeBench(args: Args): Promise<BenchResult> {
  const [{ nodeHost, nodeDevice, kNodeColdEngines }, { runBenchmark }] = await Promise.all([import('../pages/bench/node.js'), import('../pages/bench/run.js')]);
  const peers = args.peers.filter((p) => nodeHost.peers.includes(p));
  const skipped = args.peers.filter((p) => !nodeHost.peers.includes(p));
  if (skipped.length) process.stderr.write(`in Node: ${skipped.join(', ')} skipped (no WebGPU in their Node builds)\n`);
  let coldStarts: ColdStart[] = [];
  if (args.cold) {
    const engines = kNodeColdEngines.filter((e) => kOurs.includes(e as OursId) || peers.includes(e as PeerId));
    coldStarts = await coldStartRounds(engines, args.coldRuns ?? (args.quick ? 1 : 3), (engine) => nodeColdProcess(engine, args));
  }
  const { device, info, adapterName } = await nodeDevice(args.adapter);
  process.stderr.write(`adapter: ${adapterName}\n`);
  try {
    const warm = await runBenchmark(device, info, { quick: args.quick, frameworks: peers.length > 0, peers, models: args.models }, nodeHost, (line) => process.stderr.write(`${line}\n`));
    const result = complete(warm, coldStarts, 'fresh Node process per run; import of the library → first logits');
    console.log(formatResult(result));
    return result;
  } finally {
    device.destroy();
  }
}

/** One cold start in a fresh Node process running this script with --node-cold. */
function nodeColdProcess(engine: ColdEngine, args: Args): Promise<ColdOutcome> {
  const argv = [...process.execArgv, process.argv[1]!, '--node-cold', engine, ...(args.quick ? ['--quick'] : []), ...(args.adapter ? ['--adapter', args.adapter] : [])];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), kColdTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ColdOutcome);
      } catch {
        const why = err.trim().split('\n').filter((l) => !/XDG_RUNTIME_DIR/.test(l)).slice(-3).join(' / ');
        resolve({ engine, detail: engine, error: `the process exited with ${code}: ${why || 'no output'}` });
      }
    });
  });
}

async function nodeColdChild(engine: OursId | PeerId, args: Args): Promise<void> {
  const { nodeColdStart } = await import('../pages/bench/node.js');
  let outcome: ColdOutcome;
  try {
    const { detail, run } = await nodeColdStart(engine, args.adapter, args.quick);
    outcome = { engine, detail, run };
  } catch (e) {
    outcome = { engine, detail: engine, error: (e as Error).message };
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Printing

/** The result as plain-text tables: side by side first, then cold starts, floors, per model. */
function formatResult(result: BenchResult): string {
  const { meta } = result;
  const n = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const lines = [
    `${meta.host === 'node' ? 'platform' : 'browser'}: ${meta.browser}`,
    `adapter: ${[meta.adapter.vendor, meta.adapter.architecture, meta.adapter.device, meta.adapter.description].filter((s) => s).join(' / ')}`,
    `CPUs: ${meta.hardwareConcurrency} logical; kernel timer: ${meta.timestampQuery ? 'timestamp-query' : 'wall clock (onSubmittedWorkDone)'}; ${meta.quick ? 'QUICK run' : 'full run'}; ${meta.date}`,
  ];
  const rows = result.sideBySide ?? sideBySide(result);
  if (rows.length) {
    const cold = meta.host === 'node' ? 'cold start (fresh process, import → first logits)' : 'cold start (fresh browser, page load → first logits)';
    lines.push('', `side by side, seed model — ${cold}; full speed: batch 1024 at ≥ 90% of steady; upload → readback, medians`);
    lines.push(
      ...table([
        ['engine', 'cold start ms', 'full speed ms', 'b1 p50 ms', ...kSideBySideBatches.map((b) => `img/s b=${b}`), 'note'],
        ...rows.map((r) => [
          `${engineLabel(r.engine)} [${r.detail}]`,
          n(r.coldStartMs),
          n(r.fullSpeedMs),
          n(r.latencyP50Ms, 2),
          ...kSideBySideBatches.map((b) => n(r.imagesPerSecond[b])),
          [r.logitsMatch === undefined ? '' : r.logitsMatch ? 'logits = ours' : 'LOGITS DIFFER', r.error ?? ''].filter((s) => s).join('; '),
        ]),
      ]),
    );
  }
  const comparisons = runComparisons(result);
  if (comparisons.length) {
    lines.push('', 'within this run');
    lines.push(...table(comparisons.map((c) => [c.label, c.unit === '×' ? `${c.value.toFixed(2)}×` : `${c.value.toFixed(2)} ms`])));
  }
  if (result.coldStarts?.length) {
    lines.push('', `cold starts: ${result.coldStartSetup ?? ''}; ms, median over runs (phases of the median run)`);
    lines.push(
      ...table([
        ['engine', 'runs', 'imported', 'ready', 'first logits', 'full speed', 'steady img/s', 'plan', 'note'],
        ...result.coldStarts.map((c) => {
          const mid = middleRun(c.runs);
          const phase = (label: string) => mid?.phases.find((p) => p.label === label)?.atMs;
          const runs = c.runs.map((r) => r.firstLogitsMs.toFixed(0)).join('/');
          return [
            engineLabel(c.engine),
            `${c.runs.length} (${runs})`,
            n(phase('imported')),
            n(phase('ready')),
            n(c.firstLogitsMs),
            n(c.fullSpeedMs),
            n(mid?.steadyImagesPerSecond),
            mid?.plans?.join(' → ') ?? '',
            c.error ?? (c.maxAbsDiffVsOurs === undefined ? '' : `first logits vs ours max |Δ| ${c.maxAbsDiffVsOurs.toExponential(1)}`),
          ];
        }),
      ]),
    );
  }
  if (result.floors) {
    lines.push('', 'round-trip floors (no real work; upload → readback), ms');
    lines.push(...table([['round trip', 'p50', 'p95', 'note'], ...result.floors.map((f) => [f.label, f.p50.toFixed(2), f.p95.toFixed(2), `${f.samples} runs`])]));
  }
  for (const model of result.models) {
    const batches = [...new Set(model.engines.flatMap((e) => e.sweep.map((p) => p.batch)))].sort((a, b) => a - b);
    const header = ['engine', 'b1 p50 ms', 'b1 p95 ms', ...batches.map((b) => `img/s b=${b}`), 'GFLOP/s max', 'GPU ms/batch', 'note'];
    lines.push('', `${model.model} model — ${model.weights}, ${model.multiplyAddsPerImage.toLocaleString('en-US')} multiply-adds/image; upload → readback, medians`);
    lines.push(...table([header, ...model.engines.map((e) => row(e, batches))]));
    const alt = model.alternated;
    if (alt) {
      lines.push('', `${model.model} model — batch ${alt.batch}, engines alternated run by run (${alt.rounds} rounds, order rotating); upload → readback`);
      lines.push(
        ...table([
          ['engine', 'median ms', 'fastest ms', 'img/s (median)', 'note'],
          ...alt.engines.map((e) => {
            const median = percentile([...e.ms], 50);
            return [`${engineLabel(e.engine)} [${e.detail}]`, median.toFixed(1), Math.min(...e.ms).toFixed(1), ((alt.batch / median) * 1000).toFixed(0), ''];
          }),
        ]),
      );
    }
  }
  return lines.join('\n');
}

function middleRun(runs: readonly ColdStartRun[]): ColdStartRun | undefined {
  return [...runs].sort((a, b) => a.firstLogitsMs - b.firstLogitsMs)[Math.floor((runs.length - 1) / 2)];
}

function row(e: EngineResult, batches: readonly number[]): string[] {
  const n = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
  const best = e.sweep.length ? Math.max(...e.sweep.map((p) => p.gflops)) : undefined;
  const kernels = [e.kernels, e.batchOneKernels]
    .filter((k) => k !== undefined)
    .map((k) => `${n(k.totalMs, 2)} @${k.batch}`)
    .join('; ');
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
