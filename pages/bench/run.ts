/**
 * The benchmark: for each model, each engine (ours as `createEngine` gives it by default, with
 * the fused plan and with the layered plan, the CPU reference; for the seed model, the peers
 * when asked: tfjs and ONNX Runtime Web on WASM and WebGPU) is timed the way a user calls it —
 * `infer(pixels, n)` from raw bytes to classes read back — over a batch sweep, plus batch-1
 * latency percentiles and, for the WebGPU plans, GPU time per kernel.
 *
 * It runs in the page and in Node alike: what differs (where the weights come from, how a
 * peer is loaded, what to call the platform) comes from the host.
 */
import { classicModel, createEngine, seedModel, type InferenceEngine, type ModelWeights, type PlanKind } from '../../src/index.js';
import { multiplyAdds, randomWeights } from '../../src/reference.js';
import { measureFloors } from './floors.js';
import { kernelTimes } from './kernels.js';
import { benchPixels, percentile, repeat } from './measure.js';
import { checkLogits, tolerance, type PeerModel } from './peers.js';
import {
  kPeers,
  type AlternatedRuns,
  type BenchMeta,
  type BenchOptions,
  type BenchResult,
  type EngineResult,
  type ModelResult,
  type OursId,
  type PeerId,
  type SweepPoint,
} from './types.js';

const kFullBatches = [1, 4, 16, 64, 256, 1024, 4096];
/** Quick runs reach batch 64, so the side-by-side table has a figure at 1 and at 64. */
const kQuickBatches = [1, 16, 64];
/** Images on which a peer's logits are checked against ours before it is timed. */
const kCheckImages = 64;
/** A sweep stops after a batch that took longer than this (ms): larger ones would take minutes. */
const kSweepStopMs = 3000;
/** The CPU reference is slow: it runs the small end of the sweep only. */
const kCpuMaxBatch = 64;
/** The alternated comparison: batch, rounds (quick, full), and the peers it takes (the WebGPU ones take seconds a batch). */
const kAlternatedBatch = 1024;
const kAlternatedRounds = { quick: 3, full: 15 } as const;
const kAlternatedPeers: readonly PeerId[] = ['ort-wasm', 'tfjs-wasm'];

/** Progress lines for the page. */
export type Log = (line: string) => void;

/** What the page and Node do differently. */
export interface BenchHost {
  readonly kind: 'browser' | 'node';
  /** e.g. 'HeadlessChrome 156.0.0.0', 'Node 20.20.2, Dawn (webgpu 0.6.2)'. */
  readonly platform: string;
  readonly userAgent: string;
  readonly hardwareConcurrency: number;
  readonly crossOriginIsolated: boolean;
  /** A model's shipped weights (weights/<model>.safetensors). */
  shippedWeights(model: 'seed' | 'classic'): Promise<ModelWeights>;
  /** Loads a peer on the seed model's weights (throws when it cannot run here). */
  loadPeer(id: PeerId, weights: ModelWeights): Promise<PeerModel>;
  /** The peers that can run on this host. */
  readonly peers: readonly PeerId[];
}

/**
 * Runs the whole benchmark on `device` (shared by every WebGPU engine).
 *
 * @example
 * const result = await runBenchmark(device, adapterInfo, { quick: true, frameworks: false, models: ['seed'] }, host, console.log);
 */
export async function runBenchmark(device: GPUDevice, info: GPUAdapterInfo, options: BenchOptions, host: BenchHost, log: Log): Promise<BenchResult> {
  const meta = benchMeta(device, info, options, host);
  const { batches, peers } = meta;
  log('round-trip floors');
  const floors = await measureFloors(device, options.quick);
  const models: ModelResult[] = [];
  for (const model of options.models) models.push(await benchModel(device, model, batches, options.quick, model === 'seed' ? peers : [], host, log));
  return { meta, floors, models };
}

/**
 * What a result says of where and how it ran: the platform, the adapter, the timer, the
 * options. Also the whole of a result without the shared run's figures (`npm run bench --
 * --no-shared`).
 *
 * @example
 * const meta = benchMeta(device, adapterInfo, { quick: true, frameworks: false, models: [] }, host);
 */
export function benchMeta(device: GPUDevice, info: GPUAdapterInfo, options: BenchOptions, host: BenchHost): BenchMeta {
  return {
    date: new Date().toISOString(),
    userAgent: host.userAgent,
    browser: host.platform,
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    timestampQuery: device.features.has('timestamp-query'),
    hardwareConcurrency: host.hardwareConcurrency,
    crossOriginIsolated: host.crossOriginIsolated,
    quick: options.quick,
    peers: options.frameworks ? (options.peers ?? kPeers).filter((p) => host.peers.includes(p)) : [],
    batches: options.quick ? kQuickBatches : kFullBatches,
    host: host.kind,
  };
}

async function benchModel(
  device: GPUDevice,
  model: 'seed' | 'classic',
  batches: readonly number[],
  quick: boolean,
  peers: readonly PeerId[],
  host: BenchHost,
  log: Log,
): Promise<ModelResult> {
  const { weights, source } = await modelWeights(model, host);
  const macs = weights.spec.layers.reduce((s, l) => s + multiplyAdds(l), 0);
  const engines: EngineResult[] = [];
  const maxBatch = Math.max(...batches);
  const pixels = benchPixels(Math.max(maxBatch, kCheckImages));
  const kernelBatch = quick ? 16 : 1024;
  for (const id of ['webgpu-default', 'webgpu-fused', 'webgpu-layered'] as const satisfies readonly OursId[]) {
    const plan = id === 'webgpu-default' ? undefined : id === 'webgpu-fused' ? ('fused' as const) : ('layered' as const);
    log(`${model}: WebGPU, ${plan ? `${plan} plan` : 'default options'}`);
    const engine = await createEngine(weights, { backend: 'webgpu', device, maxBatch, ...(plan ? { plan } : {}) });
    try {
      // The default engine may start on a cheap plan and move to a faster one in the
      // background: its figures here are the ones it settles at (cold.ts times the way there).
      const { plans } = plan ? { plans: [] } : await settle(engine, log);
      const result = await timeEngine(engine, pixels, batches, macs, quick, log);
      const running = engine.plan;
      if (!plan) {
        const path = plans.length > 1 ? `plan ${plans.join(' → ')}` : running ? `plan ${running}` : '';
        engines.push({ engine: id, detail: `createEngine default${path ? `, ${path}` : ''}`, ...result });
        continue;
      }
      log(`${model}: ${plan} kernels at batch ${kernelBatch}`);
      const kernels = await kernelTimes(device, weights, plan, kernelBatch, quick ? 3 : 10);
      const batchOneKernels = await kernelTimes(device, weights, plan, 1, quick ? 5 : 30);
      engines.push({ engine: id, detail: plan === 'fused' ? `fused, ${fusedKind(kernels.kernels[0]?.label)}` : running ?? plan, ...result, kernels, batchOneKernels });
    } finally {
      engine.destroy();
    }
  }
  log(`${model}: CPU reference`);
  const cpu = await createEngine(weights, { backend: 'cpu' });
  engines.push({ engine: 'cpu-reference', detail: 'float64 JS', ...(await timeEngine(cpu, pixels, batches.filter((b) => b <= kCpuMaxBatch), macs, true, log)) });
  cpu.destroy();
  if (peers.length > 0) {
    const ours = await createEngine(weights, { backend: 'webgpu', device, plan: 'fused', maxBatch: kCheckImages });
    try {
      for (const id of peers) {
        log(`${model}: ${id}`);
        engines.push(await timePeer(id, weights, host, ours, pixels, batches, macs, quick));
      }
    } finally {
      ours.destroy();
    }
  }
  // Only peers whose logits matched ours are compared.
  const comparable = kAlternatedPeers.filter((id) => engines.some((e) => e.engine === id && e.check?.ok));
  if (comparable.length === 0) return { model, weights: source, multiplyAddsPerImage: macs, engines };
  log(`${model}: default engine and ${comparable.join(', ')} alternated at batch ${kAlternatedBatch}`);
  const alternated = await alternate(device, weights, host, comparable, quick ? kAlternatedRounds.quick : kAlternatedRounds.full, log);
  return { model, weights: source, multiplyAddsPerImage: macs, engines, alternated };
}

/**
 * Our default engine (settled) and each of `peers`, one batch of kAlternatedBatch each per
 * round, the order rotating each round; two warm-up rounds first.
 */
async function alternate(device: GPUDevice, weights: ModelWeights, host: BenchHost, peers: readonly PeerId[], rounds: number, log: Log): Promise<AlternatedRuns> {
  const pixels = benchPixels(kAlternatedBatch);
  const ours = await createEngine(weights, { backend: 'webgpu', device, maxBatch: kAlternatedBatch });
  const loaded: PeerModel[] = [];
  try {
    await settle(ours, log);
    for (const id of peers) loaded.push(await host.loadPeer(id, weights));
    const runners = [
      { engine: 'webgpu-default' as const, detail: `createEngine default, plan ${ours.plan ?? '?'}`, run: () => ours.infer(pixels, kAlternatedBatch) },
      ...loaded.map((m) => {
        const run = () => m.logits(pixels, kAlternatedBatch);
        return { engine: m.id, detail: m.detail, run };
      }),
    ];
    const ms = runners.map(() => [] as number[]);
    for (let round = -2; round < rounds; round++) {
      for (let k = 0; k < runners.length; k++) {
        const i = (k + Math.max(round, 0)) % runners.length;
        const start = performance.now();
        await runners[i]!.run();
        if (round >= 0) ms[i]!.push(performance.now() - start);
      }
    }
    return { batch: kAlternatedBatch, rounds, engines: runners.map((r, i) => ({ engine: r.engine, detail: r.detail, ms: ms[i]! })) };
  } finally {
    ours.destroy();
    for (const m of loaded) m.dispose();
  }
}

/** The longest the default engine is given to settle on its fastest plan before it is timed. */
const kSettleMaxMs = 120_000;

/**
 * Waits for the engine's `fastest()` (the plan it settles on; the default engine compiles the
 * fused plan in the background) where it has one; returns the plans it ran, in order, and how
 * long the wait took. An engine without it (one fixed plan) returns at once.
 */
async function settle(engine: InferenceEngine, log: Log): Promise<{ plans: string[]; ms: number }> {
  const first = engine.plan;
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    engine.fastest().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, kSettleMaxMs))),
  ]);
  clearTimeout(timer);
  const ms = performance.now() - start;
  const last = engine.plan;
  const plans = [first, last].filter((p, i, all): p is PlanKind => !!p && all.indexOf(p) === i);
  log(`  default engine: plan ${plans.join(' → ')}, settled after ${ms.toFixed(0)} ms`);
  return { plans, ms };
}

/** Shipped weights when they load; seeded random weights otherwise (speed is the same). */
async function modelWeights(model: 'seed' | 'classic', host: BenchHost): Promise<{ weights: ModelWeights; source: string }> {
  try {
    const weights = await host.shippedWeights(model);
    if (weights.spec.id === model) return { weights, source: `shipped weights/${model}.safetensors` };
  } catch {
    // fall through: a missing or bad file must not stop the benchmark
  }
  return { weights: randomWeights(model === 'seed' ? seedModel : classicModel('sigmoid'), 1), source: 'random (seeded)' };
}

type Timed = Pick<EngineResult, 'latency' | 'sweep'>;

async function timeEngine(engine: InferenceEngine, pixels: Uint8Array, batches: readonly number[], macs: number, quick: boolean, log: Log): Promise<Timed> {
  const one = pixels.subarray(0, 784);
  const latencySamples = await repeat(() => engine.infer(one, 1), { minRuns: quick ? 10 : 50, maxRuns: quick ? 20 : 200, budgetMs: quick ? 300 : 2000, warmup: 3 });
  const sweep: SweepPoint[] = [];
  for (const batch of batches) {
    const slice = pixels.subarray(0, batch * 784);
    const ms = await repeat(() => engine.infer(slice, batch), { minRuns: quick ? 2 : 3, maxRuns: 30, budgetMs: quick ? 200 : 1500 });
    sweep.push(point(batch, ms, macs));
    log(`  batch ${batch}: ${sweep[sweep.length - 1]!.imagesPerSecond.toFixed(0)} images/s`);
    if (sweep[sweep.length - 1]!.msPerBatch > kSweepStopMs) break;
  }
  return { latency: latencyOf(latencySamples), sweep };
}

function point(batch: number, samples: number[], macs: number): SweepPoint {
  const msPerBatch = percentile(samples, 50);
  const imagesPerSecond = (batch / msPerBatch) * 1000;
  return { batch, msPerBatch, imagesPerSecond, gflops: (2 * macs * imagesPerSecond) / 1e9, samples: samples.length };
}

function latencyOf(samples: number[]): EngineResult['latency'] {
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), samples: samples.length };
}

/**
 * A peer: its logits are checked against our engine's on the same 64 images first
 * (tolerance(id)); a mismatch is reported and nothing is timed. Timed like ours: the same raw
 * bytes in, its own conversion to floats inside the timed call, logits read back.
 */
async function timePeer(
  id: PeerId,
  weights: ModelWeights,
  host: BenchHost,
  ours: InferenceEngine,
  pixels: Uint8Array,
  batches: readonly number[],
  macs: number,
  quick: boolean,
): Promise<EngineResult> {
  let model: PeerModel | undefined;
  try {
    model = await host.loadPeer(id, weights);
    const theirs = await model.logits(pixels.subarray(0, kCheckImages * 784), kCheckImages);
    const { scores } = await ours.infer(pixels.subarray(0, kCheckImages * 784), kCheckImages);
    const check = checkLogits(theirs, scores, kCheckImages, tolerance(id));
    if (!check.ok) return { engine: id, detail: model.detail, latency: latencyOf([]), sweep: [], check, error: 'logits differ from ours: not timed' };
    const m = model;
    const run = (batch: number) => m.logits(pixels.subarray(0, batch * 784), batch);
    const latency = latencyOf(await repeat(() => run(1), { minRuns: quick ? 5 : 20, maxRuns: quick ? 10 : 100, budgetMs: quick ? 300 : 2000, warmup: 3 }));
    const sweep: SweepPoint[] = [];
    for (const batch of batches) {
      const ms = await repeat(() => run(batch), { minRuns: 2, maxRuns: 20, budgetMs: quick ? 200 : 1500 });
      sweep.push(point(batch, ms, macs));
      if (sweep[sweep.length - 1]!.msPerBatch > kSweepStopMs) break;
    }
    return { engine: id, detail: model.detail, latency, sweep, check };
  } catch (e) {
    return { engine: id, detail: model?.detail ?? id, latency: latencyOf([]), sweep: [], error: (e as Error).message };
  } finally {
    model?.dispose();
  }
}

/** 'fused.seed.invocation' → 'invocation kernel'. */
function fusedKind(label: string | undefined): string {
  return `${label?.split('.').pop() ?? '?'} kernel`;
}
