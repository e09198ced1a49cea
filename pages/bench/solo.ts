/**
 * One engine alone: the unit of the fair benchmark. A page that holds one engine
 * (`bench.html?engine=ENGINE&model=MODEL`, opened in a fresh headless Chromium by
 * `npm run bench`) or a fresh Node process (`npm run bench -- --node`) loads only that engine
 * and only its model's file, then measures, on the clock that started with the page (or the
 * process):
 *
 * - the cold start: library imported, model ready, first logits of one image;
 * - ours with default options on the seed model: the time to full speed (batch-1024 runs until
 *   the plan it settles on runs steadily, speed.ts);
 * - the logits of the first kCheckImages images, for the caller to compare across engines;
 * - batch-1 latency percentiles and images/s over the batch sweep, after our default engine
 *   settled on its fastest plan.
 *
 * Every engine is given the same raw bytes (benchBytes) and converts them itself inside the
 * timed call: ours in `infer`, the peers in their `logits` (peers.ts).
 */
import { kFullBudget, kQuickBudget, kFullSpeedBatch, timeToFullSpeed } from './speed.js';
import { benchBytes, percentile, repeat } from './measure.js';
import type { PeerModel } from './peers.js';
import { familyModel, kFairEngines, kSeedSafetensors, type FamilyId, type FamilyModel } from './family.js';
import type { ColdPhase, OursId, PeerId, SpeedSample } from './types.js';
import type { createEngine } from '../../src/index.js';
import type { OrtBackend } from './ort.js';
import type { TfBackend } from './tfjs-model.js';

export type SoloEngine = OursId | PeerId;

/** Images whose logits every engine returns, to be checked equal across engines. */
export const kCheckImages = 16;
/**
 * A sweep skips a batch whose run would take longer than this (ms), predicted from the last
 * batch's time per image (ONNX Runtime Web's and tfjs's WebGPU backends on SwiftShader take
 * about a minute a batch of 1024; two such runs per engine and round would take most of a run).
 * Never for the two engines the family table compares, ours (default options) and ONNX
 * Runtime Web WASM: their figure at 1024 is the one to quote, however slow.
 */
const kSweepMaxPredictedMs = 30_000;
const kSweepAlways: readonly SoloEngine[] = ['webgpu-default', 'ort-wasm'];
/** The longest our default engine is given to settle on its fastest plan before the sweep. */
const kSettleMaxMs = 120_000;

/** What to run. */
export interface SoloRequest {
  readonly engine: SoloEngine;
  readonly model: FamilyId;
  /** The sweep's batch sizes (images/s at each). */
  readonly batches: readonly number[];
  /** Fewer samples per point, and the short budget for time to full speed. */
  readonly quick: boolean;
  /** Ours, default options: also measure the time to full speed (batch-1024 runs). */
  readonly fullSpeed: boolean;
}

/** What the page or the process provides: the engines' modules and the model's files. */
export interface SoloHost {
  readonly kind: 'browser' | 'node';
  /** Milliseconds since the page (or process) started: the cold start's clock. */
  now(): number;
  /** The library as a user imports it: `lenet5-webgpu` in the page, `lenet5-webgpu/node` in Node. */
  ours(): Promise<{ createEngine: typeof createEngine }>;
  /** What `createEngine` is given for a file: its URL in the page, its path in Node. */
  oursSource(file: string): string;
  /** A file's bytes, by its repository path. */
  bytes(file: string): Promise<Uint8Array>;
  ort(backend: OrtBackend): Promise<typeof import('onnxruntime-web')>;
  tfjs(backend: TfBackend): Promise<typeof import('@tensorflow/tfjs-core')>;
}

export interface SweepSample {
  readonly batch: number;
  /** Median ms per batch, raw bytes in → logits read back. */
  readonly msPerBatch: number;
  readonly imagesPerSecond: number;
  readonly samples: number;
}

/** One engine's run alone. */
export interface SoloRun {
  readonly engine: SoloEngine;
  readonly model: FamilyId;
  readonly host: 'browser' | 'node';
  /** e.g. 'webgpu on SwiftShader…, createEngine default', 'onnxruntime-web 1.30.0 wasm, 1 thread'. */
  readonly detail: string;
  /** 'imported', 'ready', 'first logits': ms from page load (process start in Node). */
  readonly phases: readonly ColdPhase[];
  readonly firstLogitsMs: number;
  /** Ours, default options, when asked: end of the first batch-1024 run at ≥ 90% of steady. */
  readonly fullSpeedMs?: number;
  readonly steadyImagesPerSecond?: number;
  readonly speed?: readonly SpeedSample[];
  /** Ours: the plan at the first logits, and the one the sweep ran on. */
  readonly plans?: readonly string[];
  /** kCheckImages × 10 logits of the first kCheckImages bench images. */
  readonly logits: readonly number[];
  readonly latency: { readonly p50: number; readonly p95: number; readonly samples: number };
  readonly sweep: readonly SweepSample[];
  /** Where the sweep stopped short of its last batch, and why. */
  readonly skipped?: string;
}

/** A run that failed: what and where. */
export interface SoloFailure {
  readonly engine: SoloEngine;
  readonly model: FamilyId;
  readonly host: 'browser' | 'node';
  readonly error: string;
}

export type SoloOutcome = SoloRun | SoloFailure;

/** A loaded engine: raw bytes in, logits out. */
interface Runner {
  readonly detail: string;
  logits(pixels: Uint8Array, count: number): Promise<ArrayLike<number>>;
  readonly plan?: () => string | undefined;
  /** Ours: waits for the plan it settles on. */
  settle?(): Promise<void>;
  fullSpeed?(): Promise<{ fullSpeedMs: number; steadyImagesPerSecond: number; speed: readonly SpeedSample[] }>;
  dispose(): void;
}

/**
 * Runs `request` in this page or process; never throws (a failure is returned as such).
 *
 * @example
 * const outcome = await soloRun({ engine: 'ort-wasm', model: 'seed', batches: [1, 64], quick: true, fullSpeed: false }, pageSoloHost);
 */
export async function soloRun(request: SoloRequest, host: SoloHost): Promise<SoloOutcome> {
  const { engine } = request;
  let runner: Runner | undefined;
  try {
    const model = familyModel(request.model);
    if (!model.engines.includes(engine) && !(model.id === 'seed' && kFairEngines.includes(engine))) throw new Error(`${engine} does not run ${model.id} (its file: ${model.file})`);
    const phases: ColdPhase[] = [];
    const mark = (label: string) => phases.push({ label, atMs: host.now() });
    const perImage = model.input.channels * model.input.size * model.input.size;
    const pixels = benchBytes(Math.max(kCheckImages, ...request.batches), perImage);
    runner = await load(engine, model, host, request.quick, mark);
    mark('ready');
    const first = await runner.logits(pixels.subarray(0, perImage), 1);
    mark('first logits');
    if (first.length !== 10) throw new Error(`the first answer holds ${first.length} values, expected 10`);
    const firstPlan = runner.plan?.();
    const full = request.fullSpeed && runner.fullSpeed ? await runner.fullSpeed() : undefined;
    await runner.settle?.();
    const r = runner;
    const logits = Array.from(await r.logits(pixels.subarray(0, kCheckImages * perImage), kCheckImages));
    const one = await repeat(() => r.logits(pixels.subarray(0, perImage), 1), { minRuns: request.quick ? 5 : 30, maxRuns: request.quick ? 20 : 300, budgetMs: request.quick ? 300 : 2000, warmup: 3 });
    const sweep: SweepSample[] = [];
    let skipped: string | undefined;
    for (const batch of request.batches) {
      const previous = sweep[sweep.length - 1];
      const predicted = previous ? (previous.msPerBatch / previous.batch) * batch : 0;
      if (predicted > kSweepMaxPredictedMs && !kSweepAlways.includes(engine)) {
        skipped = `batch ${batch} and up not run: ${(predicted / 1000).toFixed(0)} s a batch predicted from batch ${previous!.batch}`;
        break;
      }
      const slice = pixels.subarray(0, batch * perImage);
      const ms = await repeat(() => r.logits(slice, batch), { minRuns: request.quick ? 2 : 5, maxRuns: 50, budgetMs: request.quick ? 300 : 3000 });
      const msPerBatch = percentile(ms, 50);
      sweep.push({ batch, msPerBatch, imagesPerSecond: (batch / msPerBatch) * 1000, samples: ms.length });
    }
    const lastPlan = runner.plan?.();
    return {
      engine,
      model: model.id,
      host: host.kind,
      detail: runner.detail,
      phases,
      firstLogitsMs: phases[phases.length - 1]!.atMs,
      ...(full ? { fullSpeedMs: full.fullSpeedMs, steadyImagesPerSecond: full.steadyImagesPerSecond, speed: full.speed } : {}),
      ...(firstPlan ? { plans: [firstPlan, lastPlan ?? '?'] } : {}),
      logits,
      latency: { p50: percentile(one, 50), p95: percentile(one, 95), samples: one.length },
      sweep,
      ...(skipped ? { skipped } : {}),
    };
  } catch (e) {
    return { engine, model: request.model, host: host.kind, error: (e as Error).message };
  } finally {
    runner?.dispose();
  }
}

/** Loads `engine` on `model`'s file: only what that engine needs. Marks 'imported'. */
async function load(engine: SoloEngine, model: FamilyModel, host: SoloHost, quick: boolean, mark: (label: string) => void): Promise<Runner> {
  if (engine === 'webgpu-default' || engine === 'webgpu-fused' || engine === 'webgpu-layered') {
    const lib = await host.ours();
    mark('imported');
    const plan = engine === 'webgpu-fused' ? 'fused' : engine === 'webgpu-layered' ? 'layered' : undefined;
    const ours = await lib.createEngine(host.oursSource(model.file), { maxBatch: 1024, ...(plan ? { plan } : {}) });
    return {
      detail: `${ours.backend} on ${ours.adapterName}, ${plan ? `plan ${plan}` : 'createEngine default'}`,
      logits: async (pixels, count) => (await ours.infer(pixels, count)).scores,
      plan: () => ours.plan,
      async settle() {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([ours.fastest().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, kSettleMaxMs)))]);
        clearTimeout(timer);
      },
      fullSpeed: () => {
        const perImage = model.input.channels * model.input.size * model.input.size;
        return timeToFullSpeed(ours, benchBytes(kFullSpeedBatch, perImage), quick ? kQuickBudget : kFullBudget, () => host.now());
      },
      dispose: () => ours.destroy(),
    };
  }
  let peer: PeerModel;
  if (engine === 'ort-wasm' || engine === 'ort-webgpu') {
    const backend = engine === 'ort-wasm' ? 'wasm' : 'webgpu';
    const [ort, bytes, { ortModel }] = await Promise.all([host.ort(backend), host.bytes(model.file), import('./ort.js')]);
    mark('imported');
    peer = await ortModel(ort, bytes, backend, model.input);
  } else {
    if (model.id !== 'seed') throw new Error(`${engine} builds the seed network only, not ${model.id}`);
    const backend = engine === 'tfjs-wasm' ? 'wasm' : 'webgpu';
    const [tf, bytes, { readF32Safetensors }, { tfjsSeedModel }] = await Promise.all([
      host.tfjs(backend),
      host.bytes(kSeedSafetensors),
      import('./safetensors-lite.js'),
      import('./tfjs-model.js'),
    ]);
    mark('imported');
    const tensors = readF32Safetensors(bytes);
    peer = await tfjsSeedModel(tf, (name) => tensors.get(name) ?? missing(name), backend);
  }
  const p = peer;
  return { detail: p.detail, logits: (pixels, count) => p.logits(pixels, count), dispose: () => p.dispose() };
}

function missing(name: string): never {
  throw new Error(`the seed weights have no tensor '${name}'`);
}

/** True for a failed run. */
export function isFailure(outcome: SoloOutcome): outcome is SoloFailure {
  return 'error' in outcome;
}
