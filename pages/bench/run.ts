/**
 * The benchmark: for each model, each engine (fused WebGPU plan, layered WebGPU plan, the CPU
 * reference; tfjs on WebGPU and WASM for the seed model when asked) is timed the way a user
 * calls it — `infer(pixels, n)` from raw bytes to classes read back — over a batch sweep, plus
 * batch-1 latency percentiles and, for the WebGPU plans, GPU time per kernel.
 */
import classicUrl from '../../weights/classic.safetensors?url';
import seedUrl from '../../weights/seed.safetensors?url';
import {
  createEngine,
  multiplyAdds,
  preprocess,
  randomWeights,
  resolveWeights,
  seedModel,
  type InferenceEngine,
  type ModelWeights,
} from '../../src/index.js';
import { classicModel } from '../../src/model/classic.js';
import { measureFloors } from './floors.js';
import { kernelTimes } from './kernels.js';
import { benchPixels, percentile, repeat } from './measure.js';
import type { BenchMeta, BenchOptions, BenchResult, EngineResult, ModelResult, SweepPoint } from './types.js';

const kFullBatches = [1, 4, 16, 64, 256, 1024, 4096];
const kQuickBatches = [1, 4, 16];
/** Images on which a framework's logits are checked against ours before it is timed. */
const kCheckImages = 64;
/** A sweep stops after a batch that took longer than this (ms): larger ones would take minutes. */
const kSweepStopMs = 3000;
/** The CPU reference is slow: it runs the small end of the sweep only. */
const kCpuMaxBatch = 64;

/** Progress lines for the page. */
export type Log = (line: string) => void;

/**
 * Runs the whole benchmark on `device` (shared by every WebGPU engine).
 *
 * @example
 * const result = await runBenchmark(device, adapterInfo, { quick: true, frameworks: false, models: ['seed'] }, console.log);
 */
export async function runBenchmark(device: GPUDevice, info: GPUAdapterInfo, options: BenchOptions, log: Log): Promise<BenchResult> {
  const batches = options.quick ? kQuickBatches : kFullBatches;
  const meta: BenchMeta = {
    date: new Date().toISOString(),
    userAgent: navigator.userAgent,
    browser: browserName(),
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    timestampQuery: device.features.has('timestamp-query'),
    hardwareConcurrency: navigator.hardwareConcurrency,
    quick: options.quick,
    frameworks: options.frameworks,
    batches,
  };
  log('round-trip floors');
  const floors = await measureFloors(device, options.quick);
  const models: ModelResult[] = [];
  for (const model of options.models) models.push(await benchModel(device, model, batches, options, log));
  return { meta, floors, models };
}

async function benchModel(device: GPUDevice, model: 'seed' | 'classic', batches: readonly number[], options: BenchOptions, log: Log): Promise<ModelResult> {
  const { weights, source } = await modelWeights(model);
  const macs = weights.spec.layers.reduce((s, l) => s + multiplyAdds(l), 0);
  const engines: EngineResult[] = [];
  const maxBatch = Math.max(...batches);
  const pixels = benchPixels(Math.max(maxBatch, kCheckImages));
  const kernelBatch = options.quick ? 16 : 1024;
  for (const plan of ['fused', 'layered'] as const) {
    log(`${model}: WebGPU ${plan} plan`);
    const engine = await createEngine(weights, { backend: 'webgpu', device, plan, maxBatch });
    try {
      const kind = (engine as InferenceEngine & { planKind?: string }).planKind ?? plan;
      const result = await timeEngine(engine, pixels, batches, macs, options.quick, log);
      log(`${model}: ${plan} kernels at batch ${kernelBatch}`);
      const kernels = await kernelTimes(device, weights, plan, kernelBatch, options.quick ? 3 : 10);
      engines.push({ engine: `webgpu-${plan}`, detail: plan === 'fused' ? `fused, ${fusedKind(kernels.kernels[0]?.label)}` : kind, ...result, kernels });
    } finally {
      engine.destroy();
    }
  }
  log(`${model}: CPU reference`);
  const cpu = await createEngine(weights, { backend: 'cpu' });
  engines.push({ engine: 'cpu-reference', detail: 'float64 JS', ...(await timeEngine(cpu, pixels, batches.filter((b) => b <= kCpuMaxBatch), macs, true, log)) });
  cpu.destroy();
  if (options.frameworks && model === 'seed') {
    const ours = await createEngine(weights, { backend: 'webgpu', device, plan: 'fused', maxBatch: 64 });
    try {
      for (const backend of ['webgpu', 'wasm'] as const) {
        log(`${model}: tfjs ${backend}`);
        engines.push(await timeFramework(weights, backend, ours, pixels, batches, macs, options.quick));
      }
    } finally {
      ours.destroy();
    }
  }
  return { model, weights: source, multiplyAddsPerImage: macs, engines };
}

/** Shipped weights when they load; seeded random weights otherwise (speed is the same). */
async function modelWeights(model: 'seed' | 'classic'): Promise<{ weights: ModelWeights; source: string }> {
  const url = model === 'seed' ? seedUrl : classicUrl;
  try {
    const weights = await resolveWeights(url);
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
 * tfjs on one backend: its logits are checked against our engine's on the same 64 images
 * first (|Δ| ≤ 1e-4 + 1e-3·|ours|); a mismatch is reported and nothing is timed.
 */
async function timeFramework(
  weights: ModelWeights,
  backend: 'webgpu' | 'wasm',
  ours: InferenceEngine,
  pixels: Uint8Array,
  batches: readonly number[],
  macs: number,
  quick: boolean,
): Promise<EngineResult> {
  const engine = backend === 'webgpu' ? ('tfjs-webgpu' as const) : ('tfjs-wasm' as const);
  let model: import('./frameworks.js').TfSeedModel | undefined;
  try {
    const { tfSeedModel } = await import('./frameworks.js');
    model = await tfSeedModel(weights, backend);
    const detail = `tfjs ${model.version} ${backend}`;
    const checkCount = kCheckImages;
    const input = preprocess(pixels.subarray(0, checkCount * 784), checkCount, weights.preprocessing);
    const theirs = await model.logits(input, checkCount);
    const { scores } = await ours.infer(pixels.subarray(0, checkCount * 784), checkCount);
    let maxAbsDiff = 0;
    let worstRatio = 0;
    for (let i = 0; i < scores.length; i++) {
      const d = Math.abs(theirs[i]! - scores[i]!);
      maxAbsDiff = Math.max(maxAbsDiff, d);
      worstRatio = Math.max(worstRatio, d / (1e-4 + 1e-3 * Math.abs(scores[i]!)));
    }
    const check = { images: checkCount, maxAbsDiff, worstRatio, ok: worstRatio <= 1 && theirs.length === scores.length };
    if (!check.ok) return { engine, detail, latency: latencyOf([]), sweep: [], check, error: 'logits differ from ours: not timed' };
    const m = model;
    // Timed like ours: raw bytes in, preprocessing on the CPU, logits read back.
    const run = (batch: number) => m.logits(preprocess(pixels.subarray(0, batch * 784), batch, weights.preprocessing), batch);
    const latency = latencyOf(await repeat(() => run(1), { minRuns: quick ? 5 : 20, maxRuns: quick ? 10 : 100, budgetMs: quick ? 300 : 2000, warmup: 3 }));
    const sweep: SweepPoint[] = [];
    for (const batch of batches) {
      const ms = await repeat(() => run(batch), { minRuns: 2, maxRuns: 20, budgetMs: quick ? 200 : 1500 });
      sweep.push(point(batch, ms, macs));
      if (sweep[sweep.length - 1]!.msPerBatch > kSweepStopMs) break;
    }
    return { engine, detail, latency, sweep, check };
  } catch (e) {
    return { engine, detail: `tfjs ${backend}`, latency: latencyOf([]), sweep: [], error: (e as Error).message };
  } finally {
    model?.dispose();
  }
}

/** 'fused.seed.invocation' → 'invocation kernel'. */
function fusedKind(label: string | undefined): string {
  return `${label?.split('.').pop() ?? '?'} kernel`;
}

function browserName(): string {
  const ua = navigator.userAgent;
  const m = /(HeadlessChrome|Chrome|Firefox|Safari)\/([\d.]+)/.exec(ua);
  return m ? `${m[1]} ${m[2]}` : ua;
}
