/**
 * `npm run bench -- --train [OPTIONS]`: training images/s, each trainer ALONE in a fresh
 * headless Chromium (bench.html?train=…, served by Vite's dev server, which serves MNIST) or a
 * fresh Node process (pages/bench/train-solo.ts: same initial weights, same batches, same
 * loss, SGD), in rounds (every trainer once per round, in a rotating order, so the machine's drift falls
 * on all alike); medians, ratios to ours on the GPU, and each trainer's mean loss over its
 * timed steps (equal losses: the same computation; a wrong trainer shows).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { kTrainEngines, kTrainModels, type TrainEngine, type TrainModel, type TrainOutcome, type TrainRequest } from '../pages/bench/train-solo.js';
import { percentile } from '../pages/bench/measure.js';
import { runJsonChild } from './json-child.js';
import { parseCommandLine, positiveInteger, UsageError } from './cli.js';

export const kTrainBenchUsage = `npm run bench -- --train [OPTIONS]   (each trainer alone: a fresh headless Chromium or Node process)

  --train-hosts LIST     browser,node (default both; --node: node). The browser runs ours on the GPU and tfjs
                         on its WebGPU, WASM and CPU backends; Node runs ours on the GPU (Dawn)
                         and our CPU trainer (and tfjs's CPU and WASM backends when named in
                         --train-engines)
  --train-batches LIST   batch sizes (default 64,256)
  --train-models LIST    ${kTrainModels.join(',')} (default both)
  --train-engines LIST   ${kTrainEngines.join(',')} (default: each host's)
  --train-warmup N       untimed steps first (default 1)
  --train-steps N        timed steps (default 2)
  --train-lr X           SGD's learning rate (default 0.01)
  --rounds N             runs of each trainer, median reported (default 1)
  --adapter NAME         ours on the Dawn adapter whose name contains NAME
  --json FILE            write the outcomes as JSON
  --help                 this text`;

/** A trainer process that has not answered in this long has failed. */
const kTrainSoloTimeoutMs = 900_000;

type TrainHostKind = 'browser' | 'node';
const kHosts: readonly TrainHostKind[] = ['browser', 'node'];
/** What each host runs unless --train-engines names others. */
const kDefaultEngines: Record<TrainHostKind, readonly TrainEngine[]> = {
  browser: ['ours-gpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'],
  node: ['ours-gpu', 'ours-cpu'],
};

interface TrainBenchArgs {
  readonly hosts: TrainHostKind[];
  readonly batches: number[];
  readonly models: TrainModel[];
  readonly engines?: TrainEngine[];
  readonly warmup: number;
  readonly steps: number;
  readonly lr: number;
  readonly rounds: number;
  readonly adapter?: string;
  readonly json?: string;
  readonly child?: { engine: TrainEngine; model: TrainModel; batch: number };
  readonly help: boolean;
}

function list<T extends string>(option: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',');
  for (const item of items) if (!allowed.includes(item as T)) throw new UsageError(`--${option}: unknown '${item}' (expected ${allowed.join(', ')})`);
  return items as T[];
}

function parseTrainBenchArgs(argv: readonly string[]): TrainBenchArgs {
  const { values } = parseCommandLine({
    args: argv.filter((a) => a !== '--train' && a !== '--node'),
    options: {
      'train-batches': { type: 'string', default: '64,256' },
      'train-models': { type: 'string', default: kTrainModels.join(',') },
      'train-engines': { type: 'string' },
      'train-hosts': { type: 'string' },
      'train-warmup': { type: 'string', default: '1' },
      'train-steps': { type: 'string', default: '2' },
      'train-lr': { type: 'string', default: '0.01' },
      rounds: { type: 'string', default: '1' },
      adapter: { type: 'string' },
      json: { type: 'string' },
      'train-solo': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const batches = values['train-batches'].split(',').map((b) => positiveInteger('train-batches', b));
  const lr = Number(values['train-lr']);
  if (!(lr > 0 && Number.isFinite(lr))) throw new UsageError(`--train-lr must be a positive number, found '${values['train-lr']}'`);
  const warmup = positiveInteger('train-warmup', values['train-warmup']);
  let child: TrainBenchArgs['child'];
  if (values['train-solo'] !== undefined) {
    const [engine, model, batch] = values['train-solo'].split(':');
    child = { engine: list('train-solo', engine ?? '', kTrainEngines)[0]!, model: list('train-solo', model ?? '', kTrainModels)[0]!, batch: positiveInteger('train-solo', batch ?? '') };
  }
  return {
    batches,
    models: list('train-models', values['train-models'], kTrainModels),
    // --node, as the inference benchmark reads it: Node only, unless --train-hosts says otherwise.
    hosts: list('train-hosts', values['train-hosts'] ?? (argv.includes('--node') ? 'node' : kHosts.join(',')), kHosts),
    ...(values['train-engines'] === undefined ? {} : { engines: list('train-engines', values['train-engines'], kTrainEngines) }),
    warmup,
    steps: positiveInteger('train-steps', values['train-steps']),
    lr,
    rounds: positiveInteger('rounds', values.rounds),
    ...(values.adapter === undefined ? {} : { adapter: values.adapter }),
    ...(values.json === undefined ? {} : { json: values.json }),
    ...(child ? { child } : {}),
    help: values.help,
  };
}

/** A fresh headless Chromium per run (new profile), on one server. */
interface PageRunner {
  run(request: TrainRequest): Promise<TrainOutcome>;
  close(): Promise<void>;
}

async function pageRunner(): Promise<PageRunner> {
  const [{ chromium }, { findChromium, kChromiumArgs }, { serveSite }] = await Promise.all([import('playwright'), import('./chromium.js'), import('./site.js')]);
  // vite.config.ts pre-bundles tfjs-core with its gradients and backends (one copy of tfjs-core).
  const site = await serveSite({ dev: true });
  const origin = site.origin;
  let open: import('playwright').Browser | undefined;
  return {
    async run(request) {
      const query = new URLSearchParams({ train: request.engine, model: request.model, batch: String(request.batch), warmup: String(request.warmup), steps: String(request.steps), lr: String(request.lr) });
      open = await chromium.launch({ executablePath: findChromium(), args: [...kChromiumArgs, '--enable-webgpu-developer-features'] });
      try {
        const page = await open.newPage();
        await page.goto(`${origin}/bench.html?${query}`);
        await page.waitForFunction(() => window.trainSolo !== undefined, undefined, { timeout: kTrainSoloTimeoutMs, polling: 500 });
        return (await page.evaluate(() => window.trainSolo))!;
      } catch (e) {
        return { engine: request.engine, model: request.model, batch: request.batch, host: 'browser', error: (e as Error).message.split('\n')[0]! };
      } finally {
        await open.close().catch(() => undefined);
        open = undefined;
      }
    },
    async close() {
      await open?.close().catch(() => undefined);
      await site.close();
    },
  };
}

/** One trainer in a fresh process running this script's child mode. */
function trainProcess(request: TrainRequest, args: TrainBenchArgs): Promise<TrainOutcome> {
  const argv = [
    ...process.execArgv,
    process.argv[1]!,
    '--train',
    '--train-solo',
    `${request.engine}:${request.model}:${request.batch}`,
    '--train-warmup', String(request.warmup),
    '--train-steps', String(request.steps),
    '--train-lr', String(request.lr),
    ...(args.adapter ? ['--adapter', args.adapter] : []),
  ];
  return runJsonChild<TrainOutcome>(argv, kTrainSoloTimeoutMs, (why) => ({ engine: request.engine, model: request.model, batch: request.batch, host: 'node', error: why }));
}

function format(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

/** The table: per model and batch, each trainer's median images/s, ours ÷ it, its loss. */
export function trainTable(outcomes: readonly TrainOutcome[], args: Pick<TrainBenchArgs, 'rounds' | 'warmup' | 'steps' | 'lr'>): string[] {
  const lines = [
    `TRAINING — images/s over ${args.steps} timed steps after ${args.warmup} warm-up step(s), each trainer alone (a fresh headless Chromium or Node process); ` +
      `SGD lr ${args.lr}, F.cross_entropy mean, the same initial weights and batches; ${args.rounds} round(s), medians`,
  ];
  const keyOf = (o: TrainOutcome) => `${o.host}:${o.model}:${o.batch}`;
  const keys = [...new Set(outcomes.map(keyOf))];
  for (const key of keys) {
    const [host, model, batch] = key.split(':');
    const runs = outcomes.filter((o) => keyOf(o) === key);
    const median = (engine: TrainEngine) => {
      const rates = runs.filter((o) => o.engine === engine && o.imagesPerSecond !== undefined).map((o) => o.imagesPerSecond!);
      return rates.length ? percentile(rates, 50) : undefined;
    };
    const ours = median('ours-gpu');
    lines.push('', `${host === 'browser' ? 'headless Chromium' : 'Node'}: ${model}, batch ${batch}`);
    const rows = [['trainer', 'images/s', 'ours GPU ÷ it', 'loss (timed steps)', 'detail']];
    for (const engine of [...new Set(runs.map((o) => o.engine))]) {
      const mine = runs.filter((o) => o.engine === engine);
      const rate = median(engine);
      const losses = mine.filter((o) => o.loss !== undefined).map((o) => o.loss!.toFixed(6));
      const error = mine.find((o) => o.error)?.error;
      rows.push([engine, format(rate), rate && ours ? `${format(ours / rate, 2)}×` : '—', [...new Set(losses)].join(' / ') || '—', error ? `cannot: ${error}` : (mine[0]?.detail ?? '')]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    lines.push(...rows.map((r) => r.map((cell, c) => (c === 0 || c === r.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()));
  }
  return lines;
}

/**
 * Runs `npm run bench -- --train …` (argv: the arguments after `--`).
 *
 * @example
 * await trainBench(['--train', '--train-batches', '64', '--train-models', 'pytorch-tutorial']);
 */
export async function trainBench(argv: readonly string[]): Promise<void> {
  const args = parseTrainBenchArgs(argv);
  if (args.help) {
    console.log(kTrainBenchUsage);
    return;
  }
  if (args.child) {
    const [{ trainSoloRun }, { nodeTrainHost }] = await Promise.all([import('../pages/bench/train-solo.js'), import('../pages/bench/train-node.js')]);
    const outcome = await trainSoloRun({ ...args.child, warmup: args.warmup, steps: args.steps, lr: args.lr }, nodeTrainHost(args.adapter));
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
    process.exit(0); // Dawn and tfjs's WASM keep the process alive a moment; the answer is written
  }
  const jobs: Array<TrainRequest & { host: TrainHostKind }> = [];
  for (const host of args.hosts) {
    for (const model of args.models) {
      for (const batch of args.batches) {
        for (const engine of args.engines ?? kDefaultEngines[host]) jobs.push({ host, engine, model, batch, warmup: args.warmup, steps: args.steps, lr: args.lr });
      }
    }
  }
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the start`);
  const outcomes: TrainOutcome[] = [];
  const started = Date.now();
  const pages = args.hosts.includes('browser') ? await pageRunner() : undefined;
  process.once('SIGINT', () => void pages?.close().then(() => process.exit(130)));
  try {
    for (let round = 0; round < args.rounds; round++) {
      for (let k = 0; k < jobs.length; k++) {
        const job = jobs[(k + round) % jobs.length]!;
        const outcome = job.host === 'browser' ? await pages!.run(job) : await trainProcess(job, args);
      const what = outcome.error ? `cannot: ${outcome.error}` : `${format(outcome.imagesPerSecond)} images/s, loss ${outcome.loss?.toFixed(6)}`;
        process.stderr.write(`train ${round + 1}/${args.rounds} ${job.host} ${job.model} b=${job.batch} ${job.engine}: ${what} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
        outcomes.push(outcome);
      }
    }
  } finally {
    await pages?.close();
  }
  console.log(`load ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`);
  console.log(trainTable(outcomes, args).join('\n'));
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify({ date: new Date().toISOString(), args, outcomes }, null, 1)}\n`);
    console.log(`JSON written to ${args.json}`);
  }
}
