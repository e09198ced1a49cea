/**
 * `npm run bench [-- OPTIONS]`: the fair benchmark, ours against the peers, printed as tables.
 *
 * The fair table and the family table come from solo runs: each engine ALONE, in a fresh
 * headless Chromium (new profile: empty HTTP, code and shader caches) opening bench.html?engine=
 * ENGINE&model=MODEL, or with --node in a fresh Node process; each loads only its engine and
 * its model's file, is given the same raw bytes as every other, and reports its cold start
 * (page load → first logits), our default engine's time to full speed, the logits of 16
 * images (checked equal to ours), batch-1 latency and images/s over a batch sweep. The runs
 * go in rounds, each round every engine once in a rotating order, so the machine's drift falls
 * on every engine alike; the tables give medians. The fair table is the seed model, every
 * engine (ours with default options and each plan, ONNX Runtime Web and TensorFlow.js on WASM
 * and WebGPU); the family table is every model of the family on one file (its ONNX export),
 * ours with default options beside ONNX Runtime Web WASM and WebGPU.
 *
 * Then, unless --no-shared, the shared page (or process) for what needs one device: per-kernel
 * GPU time of each plan, the round-trip floors, the CPU reference, and in Node our default
 * engine and the WASM peers alternated run by run in one process.
 *
 * In the browser the site is built (`vite build`, into a temporary folder) and served on
 * 127.0.0.1 (`vite preview`), so every engine loads as a deployed page would (--dev serves the
 * sources through Vite's dev server instead). The server, browsers and child processes are
 * closed on every exit path, errors included.
 */
import { writeFileSync } from 'node:fs';
import { kFairEngines, kFamily, kFamilyIds, type FamilyId } from '../pages/bench/family.js';
import { percentile } from '../pages/bench/measure.js';
import type { SoloEngine, SoloHost, SoloOutcome } from '../pages/bench/solo.js';
import { familyTitle, soloMarkdown, soloRows, type SoloRow, type SoloTables } from '../pages/bench/solo-summary.js';
import { engineLabel, kSideBySideBatches, runComparisons, sideBySide } from '../pages/bench/summary.js';
import { kPeers, type BenchResult, type ColdStartRun, type EngineResult, type PeerId } from '../pages/bench/types.js';
import { runJsonChild } from './json-child.js';

const kUsage = `npm run bench [-- OPTIONS]

  --quick            short runs: solo sweeps at 1, 16, 64, one round, the shared page's small batches
  --json FILE        write the result as JSON
  --markdown FILE    write the README's fair table and family table as Markdown
  --screenshot FILE  PNG of the page's charts (browser only)
  --no-frameworks    ours only: no tfjs, no ONNX Runtime Web
  --peers LIST       which peers, comma-separated: ${kPeers.join(',')} (default all)
  --models LIST      the family's models, comma-separated: ${kFamilyIds.join(',')} (default all;
                     the fair table is the seed model's)
  --rounds N         solo runs per engine and model, median reported (default 3; --quick 1)
  --batches LIST     the solo runs' batch sizes (default 1,64,1024; --quick 1,16,64)
  --no-solo          skip the solo runs (no fair table, no family table)
  --no-shared        skip the shared page (or process): kernels, floors, CPU reference, alternated runs
  --dev              serve the sources with Vite's dev server instead of building the site
  --node             in Node through Dawn (the 'webgpu' package) instead of headless Chromium
  --adapter NAME     with --node: the Dawn adapter whose name contains NAME (an unknown name
                     lists the adapters); default the best present, a real GPU before SwiftShader
  --train            training images/s instead (npm run bench -- --train --help)
  --help             this text`;

/** A solo page or process that has not answered in this long has failed. */
const kSoloTimeoutMs = 600_000;
const kBatches = [1, 64, 1024];
const kQuickBatches = [1, 16, 64];
/** The engines that run in Node (their Node builds have no WebGPU). */
const kNodeSoloEngines: readonly SoloEngine[] = ['webgpu-default', 'webgpu-fused', 'webgpu-layered', 'ort-wasm', 'tfjs-wasm'];

interface Args {
  json?: string;
  markdown?: string;
  screenshot?: string;
  quick: boolean;
  peers: PeerId[];
  models: FamilyId[];
  rounds?: number;
  batches?: number[];
  solo: boolean;
  shared: boolean;
  dev: boolean;
  node: boolean;
  adapter?: string;
  /** Internal: one Node solo run, ENGINE:MODEL, printed as JSON on stdout. */
  soloChild?: { engine: SoloEngine; model: FamilyId; fullSpeed: boolean };
}

/** One solo run to make: an engine on a model. */
interface SoloJob {
  readonly engine: SoloEngine;
  readonly model: FamilyId;
  /** Ours with default options on the seed model: also the time to full speed. */
  readonly fullSpeed: boolean;
}

function parseArgs(argv: readonly string[]): Args | 'help' {
  const args: Args = { quick: false, peers: [...kPeers], models: [...kFamilyIds], solo: true, shared: true, dev: false, node: false };
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
    else if (a === '--markdown') args.markdown = value('a file name');
    else if (a === '--screenshot') args.screenshot = value('a file name');
    else if (a === '--quick') args.quick = true;
    else if (a === '--no-frameworks') args.peers = [];
    else if (a === '--peers') args.peers = list(kPeers);
    else if (a === '--models') args.models = list(kFamilyIds);
    else if (a === '--rounds') {
      const n = Number(value('a count'));
      if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`--rounds must be an integer 1..50, found '${argv[i]}'`);
      args.rounds = n;
    } else if (a === '--batches') {
      const text = value('a comma-separated list of batch sizes');
      const batches = text.split(',').map(Number);
      if (!batches.every((b) => Number.isInteger(b) && b >= 1 && b <= 4096)) throw new Error(`--batches: integers 1..4096, found '${text}'`);
      args.batches = batches;
    } else if (a === '--no-solo') args.solo = false;
    else if (a === '--no-shared') args.shared = false;
    else if (a === '--dev') args.dev = true;
    else if (a === '--node') args.node = true;
    else if (a === '--adapter') args.adapter = value('an adapter name (or part of one)');
    else if (a === '--solo') {
      const [engine, model, full] = value('ENGINE:MODEL').split(':');
      const e = [...kNodeSoloEngines, ...kPeers].find((x) => x === engine);
      const m = kFamilyIds.find((x) => x === model);
      if (!e || !m) throw new Error(`--solo: unknown engine or model in '${argv[i]}'`);
      args.soloChild = { engine: e, model: m, fullSpeed: full === 'full' };
    }
    else if (a === '--help' || a === '-h') return 'help';
    else throw new Error(`unknown argument '${a}'\n\n${kUsage}`);
  }
  if (args.adapter !== undefined && !args.node && !args.soloChild) throw new Error('--adapter chooses among Dawn adapters in Node: use it with --node');
  if (args.screenshot && args.node) throw new Error('--screenshot needs the page: not with --node');
  return args;
}

async function main(): Promise<void> {
  // Training speed is its own benchmark with its own flags (scripts/bench-train.ts).
  if (process.argv.slice(2).includes('--train')) return (await import('./bench-train.js')).trainBench(process.argv.slice(2));
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(kUsage);
    return;
  }
  const args = parsed;
  if (args.soloChild) return nodeSoloChild(args.soloChild, args);
  const result = args.node ? await nodeBench(args) : await browserBench(args);
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify(result, null, 1)}\n`);
    console.log(`JSON written to ${args.json}`);
  }
  if (args.markdown) {
    if (!result.solo) throw new Error('--markdown needs the solo runs: not with --no-solo');
    writeFileSync(args.markdown, soloMarkdown(result.solo));
    console.log(`Markdown tables written to ${args.markdown}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The solo runs

/**
 * The solo runs to make: the fair table (the seed model, every engine asked for that runs
 * here) and the family table (every other model asked for, each engine its file suits).
 */
function soloJobs(args: Args, runsHere: readonly SoloEngine[]): SoloJob[] {
  const wanted = (e: SoloEngine) => runsHere.includes(e) && (e.startsWith('webgpu-') || args.peers.includes(e as PeerId));
  const jobs: SoloJob[] = [];
  for (const model of kFamily) {
    if (!args.models.includes(model.id)) continue;
    const engines = model.id === 'seed' ? kFairEngines : model.engines;
    for (const engine of engines.filter(wanted)) jobs.push({ engine, model: model.id, fullSpeed: model.id === 'seed' && engine === 'webgpu-default' });
  }
  return jobs;
}

/**
 * `rounds` rounds, each job once per round, the order rotating by one each round (so that no
 * engine always runs first, or right after the same other engine); every outcome in run order.
 */
async function soloRounds(jobs: readonly SoloJob[], rounds: number, once: (job: SoloJob) => Promise<SoloOutcome>): Promise<SoloOutcome[]> {
  const outcomes: SoloOutcome[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < jobs.length; k++) {
      const job = jobs[(k + round) % jobs.length]!;
      const started = Date.now();
      const outcome = await once(job);
      outcomes.push(outcome);
      const what = 'error' in outcome
        ? `FAILED: ${outcome.error}`
        : `first logits ${outcome.firstLogitsMs.toFixed(0)} ms${outcome.fullSpeedMs !== undefined ? `, full speed ${outcome.fullSpeedMs.toFixed(0)} ms` : ''}, ${outcome.sweep.map((p) => `${p.imagesPerSecond.toFixed(0)} img/s @${p.batch}`).join(', ')}`;
      process.stderr.write(`solo ${round + 1}/${rounds} ${job.model} ${job.engine}: ${what} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    }
  }
  return outcomes;
}

function soloTables(outcomes: readonly SoloOutcome[], rounds: number, batches: readonly number[], setup: string): SoloTables {
  return { setup, rounds, batches, rows: soloRows(outcomes) };
}

// ---------------------------------------------------------------------------------------------
// In the browser

async function browserBench(args: Args): Promise<BenchResult> {
  const [{ chromium }, { findChromium, kChromiumArgs }, { serveSite }] = await Promise.all([import('playwright'), import('./chromium.js'), import('./site.js')]);
  type Browser = import('playwright').Browser;
  let site: import('./site.js').ServedSite | undefined;
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
    await site?.close().catch(() => undefined);
  };
  process.once('SIGINT', () => void close().then(() => process.exit(130)));
  try {
    site = await serveSite({ dev: args.dev, log: (line) => process.stderr.write(`${line}\n`) });
    const origin = site.origin;

    let solo: SoloTables | undefined;
    if (args.solo) {
      const batches = args.batches ?? (args.quick ? kQuickBatches : kBatches);
      const rounds = args.rounds ?? (args.quick ? 1 : 3);
      const soloPage = async (job: SoloJob, batchList: readonly number[]): Promise<SoloOutcome> => {
        const browser = await launch();
        try {
          const page = await (await browser.newContext()).newPage();
          const query = `engine=${job.engine}&model=${job.model}&batches=${batchList.join(',')}${args.quick ? '&quick' : ''}${job.fullSpeed ? '&fullspeed' : ''}`;
          await page.goto(`${origin}/bench.html?${query}`);
          await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['state'] ?? ''), undefined, { timeout: kSoloTimeoutMs });
          return (await page.evaluate(() => window.solo))!;
        } catch (e) {
          return { engine: job.engine, model: job.model, host: 'browser', error: (e as Error).message.split('\n')[0]! };
        } finally {
          await closeBrowser(browser);
        }
      };
      const jobs = soloJobs(args, [...kFairEngines]);
      if (args.dev) {
        // One unmeasured visit per engine first, so that Vite has transformed and pre-bundled
        // everything a page asks for (a user's server would not transform).
        process.stderr.write(`solo runs: warming Vite's transforms\n`);
        for (const engine of new Set(jobs.map((j) => j.engine))) await soloPage({ engine, model: 'seed', fullSpeed: false }, [1]);
      }
      const outcomes = await soloRounds(jobs, rounds, (job) => soloPage(job, batches));
      solo = soloTables(outcomes, rounds, batches, `fresh headless Chromium per run (new profile), ${args.dev ? "sources through Vite's dev server (transforms warmed first)" : 'built site (vite build, served by vite preview)'}; page load → first logits`);
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
    const sharedModels = args.models.filter((m): m is 'seed' | 'classic' => m === 'seed' || m === 'classic');
    let warm: BenchResult | undefined;
    if (args.shared && sharedModels.length) {
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
      try {
        // The peers are timed alone (the solo runs), not beside our engine in this page.
        warm = await page.evaluate((o) => window.bench.run(o), { quick: args.quick, frameworks: false, peers: [], models: sharedModels });
      } finally {
        clearInterval(progress);
      }
    }
    const result = complete(warm ?? (await emptyResult(page, args.quick)), solo);
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

/** A result with the page's meta and no shared-page figures (--no-shared). */
async function emptyResult(page: import('playwright').Page, quick: boolean): Promise<BenchResult> {
  const empty = await page.evaluate(() => window.bench.meta());
  return { ...empty, meta: { ...empty.meta, quick } };
}

function complete(warm: BenchResult, solo: SoloTables | undefined): BenchResult {
  const withSolo: BenchResult = solo ? { ...warm, solo } : warm;
  return { ...withSolo, sideBySide: sideBySide(withSolo) };
}

// ---------------------------------------------------------------------------------------------
// In Node

async function nodeBench(args: Args): Promise<BenchResult> {
  const [{ nodeHost, nodeDevice }, { runBenchmark, benchMeta }] = await Promise.all([import('../pages/bench/node.js'), import('../pages/bench/run.js')]);
  const peers = args.peers.filter((p) => nodeHost.peers.includes(p));
  const skipped = args.peers.filter((p) => !nodeHost.peers.includes(p));
  if (skipped.length) process.stderr.write(`in Node: ${skipped.join(', ')} skipped (no WebGPU in their Node builds)\n`);
  let solo: SoloTables | undefined;
  if (args.solo) {
    const batches = args.batches ?? (args.quick ? kQuickBatches : kBatches);
    const rounds = args.rounds ?? (args.quick ? 1 : 3);
    const outcomes = await soloRounds(soloJobs(args, kNodeSoloEngines), rounds, (job) => nodeSoloProcess(job, batches, args));
    solo = soloTables(outcomes, rounds, batches, 'fresh Node process per run; process start → first logits');
  }
  const { device, info, adapterName } = await nodeDevice(args.adapter);
  process.stderr.write(`adapter: ${adapterName}\n`);
  try {
    const sharedModels = args.models.filter((m): m is 'seed' | 'classic' => m === 'seed' || m === 'classic');
    // In one process: our default engine and the WASM peers alternated run by run at 1024.
    const options = { quick: args.quick, frameworks: peers.length > 0, peers, models: sharedModels };
    const warm = args.shared && sharedModels.length
      ? await runBenchmark(device, info, options, nodeHost, (line) => process.stderr.write(`${line}\n`))
      : { meta: benchMeta(device, info, options, nodeHost), models: [] };
    const result = complete(warm, solo);
    console.log(formatResult(result));
    return result;
  } finally {
    device.destroy();
  }
}

/** One solo run in a fresh Node process running this script with --solo ENGINE:MODEL. */
function nodeSoloProcess(job: SoloJob, batches: readonly number[], args: Args): Promise<SoloOutcome> {
  const argv = [
    ...process.execArgv,
    process.argv[1]!,
    '--solo',
    `${job.engine}:${job.model}${job.fullSpeed ? ':full' : ''}`,
    '--batches',
    batches.join(','),
    ...(args.quick ? ['--quick'] : []),
    ...(args.adapter ? ['--adapter', args.adapter] : []),
  ];
  return runJsonChild<SoloOutcome>(argv, kSoloTimeoutMs, (why) => ({ engine: job.engine, model: job.model, host: 'node', error: why }));
}

/** The child's side: the run, its outcome as one JSON line on stdout. */
async function nodeSoloChild(job: NonNullable<Args['soloChild']>, args: Args): Promise<void> {
  const [{ soloRun }, { nodeSoloHost, nodeDevice }] = await Promise.all([import('../pages/bench/solo.js'), import('../pages/bench/node.js')]);
  const adapter = args.adapter;
  // With --adapter, ours runs on a device of that adapter (lenet5-webgpu/node picks its own otherwise).
  const host: SoloHost = adapter === undefined ? nodeSoloHost : {
    ...nodeSoloHost,
    async ours() {
      const [lib, { device }] = await Promise.all([import('../src/node.js'), nodeDevice(adapter)]);
      const createEngine: typeof lib.createEngine = (source, options) => lib.createEngine(source, { ...options, device });
      return { createEngine } as Awaited<ReturnType<SoloHost['ours']>>;
    },
  };
  const outcome = await soloRun({ ...job, batches: args.batches ?? kBatches, quick: args.quick }, host);
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  // Dawn keeps the process alive a moment after destroy(); the answer is written.
  process.exit(0);
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
  if (result.solo) lines.push('', ...formatSolo(result.solo, meta.host));
  const rows = result.sideBySide ?? sideBySide(result);
  if (rows.length) {
    const cold = meta.host === 'node' ? 'cold start (fresh process, import → first logits)' : 'cold start (fresh browser, page load → first logits)';
    lines.push('', `shared page (engines one after another in one page), seed model — ${cold}; full speed: batch 1024 at ≥ 90% of steady; upload → readback, medians`);
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

/** The fair table (seed, every engine) and the family table (every model, ours and ORT), as text. */
export function formatSolo(solo: SoloTables, host: 'browser' | 'node'): string[] {
  const n = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const cold = host === 'node' ? 'process start → first logits' : 'page load → first logits';
  const logits = (r: SoloRow) => (r.logits === undefined ? (r.engine === 'webgpu-default' ? 'reference' : '') : `${r.logits.ok ? 'equal' : 'DIFFER'} (max |Δ| ${r.logits.maxAbsDiff.toExponential(1)})`);
  const batchHeads = solo.batches.map((b) => `img/s b=${b}`);
  const lines: string[] = [];
  const fair = solo.rows.filter((r) => r.model === 'seed');
  if (fair.length) {
    lines.push(`FAIR TABLE, seed model — each engine alone (${solo.setup}), same raw bytes; ${solo.rounds} round(s), medians; cold start: ${cold}`);
    lines.push(
      ...table([
        ['engine', 'cold start ms', 'full speed ms', 'b1 p50 ms', ...batchHeads, 'logits vs ours', 'note'],
        ...fair.map((r) => [`${engineLabel(r.engine)} [${r.detail}]`, n(r.coldStartMs), n(r.fullSpeedMs), n(r.latencyP50Ms, 2), ...solo.batches.map((b) => n(r.imagesPerSecond[b])), logits(r), r.error ?? '']),
      ]),
    );
  }
  if (solo.rows.some((r) => r.engine === 'webgpu-default')) {
    lines.push('', `FAMILY TABLE — ours (createEngine default) beside ONNX Runtime Web on the same file, each alone; ${solo.rounds} round(s), medians; cold start: ${cold}`);
    const family = solo.rows.filter((r) => r.engine === 'webgpu-default' || r.engine === 'ort-wasm' || r.engine === 'ort-webgpu');
    lines.push(
      ...table([
        ['model', 'engine', 'cold start ms', 'b1 p50 ms', ...batchHeads, 'ours ÷ ORT WASM', 'logits vs ours', 'plan / note'],
        ...family.map((r) => [
          familyTitle(r.model),
          engineLabel(r.engine),
          n(r.coldStartMs),
          n(r.latencyP50Ms, 2),
          ...solo.batches.map((b) => n(r.imagesPerSecond[b])),
          r.vsOrtWasm ? `${r.vsOrtWasm.imagesPerSecond.toFixed(2)}× @${r.vsOrtWasm.batch}, cold ${r.vsOrtWasm.coldStart.toFixed(2)}×` : '',
          logits(r),
          [r.plans?.join(' → '), r.error].filter((x) => x).join('; '),
        ]),
      ]),
    );
  }
  return lines;
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
