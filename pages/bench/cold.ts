/**
 * One cold start in the page (bench.html?cold=ENGINE, opened by `npm run bench` in a fresh
 * browser): from page load (navigation start, `performance.now()`'s zero) to the first logits
 * in JS, loading only what that engine needs — ours: the library, `createEngine(url)` (default
 * options, or one plan) and `infer` of one image; tfjs: tfjs-core and one backend, the weights
 * read from the same safetensors file; ONNX Runtime Web: its build for one backend and the ONNX
 * file. For ours, then batch-1024 runs until steady, for the time to full speed.
 */
import seedUrl from '../../weights/seed.safetensors?url';
import { fetchBytes } from './fetch-bytes.js';
import { benchPixels } from './measure.js';
import type { PeerModel } from './peers.js';
import { kFullBudget, kFullSpeedBatch, kQuickBudget, timeToFullSpeed } from './speed.js';
import { kSeedOnnxPath, type ColdPhase, type ColdStartRun, type OursId, type PeerId } from './types.js';

export type ColdEngine = OursId | PeerId;

export const kColdEngines: readonly ColdEngine[] = ['webgpu-default', 'webgpu-fused', 'webgpu-layered', 'tfjs-wasm', 'tfjs-webgpu', 'ort-wasm', 'ort-webgpu'];

/** What the cold page leaves on `window.coldStart`. */
export interface ColdOutcome {
  readonly engine: ColdEngine;
  readonly detail: string;
  readonly run?: ColdStartRun;
  readonly error?: string;
}

/**
 * Measures one cold start of `engine` in this page.
 *
 * @example
 * const outcome = await coldStart('ort-wasm', true);
 */
export async function coldStart(engine: ColdEngine, quick: boolean): Promise<ColdOutcome> {
  const phases: ColdPhase[] = [];
  const mark = (label: string) => phases.push({ label, atMs: performance.now() });
  const image = benchPixels(1);
  try {
    if (engine === 'webgpu-default' || engine === 'webgpu-fused' || engine === 'webgpu-layered') {
      const lib = await import('../../src/index.js');
      mark('imported');
      const plan = engine === 'webgpu-fused' ? 'fused' : engine === 'webgpu-layered' ? 'layered' : undefined;
      const ours = await lib.createEngine(seedUrl, plan ? { plan } : {});
      mark('ready');
      const { scores } = await ours.infer(image, 1);
      mark('first logits');
      const firstPlan = ours.plan;
      const speed = await timeToFullSpeed(ours, benchPixels(kFullSpeedBatch), quick ? kQuickBudget : kFullBudget, () => performance.now());
      const lastPlan = ours.plan;
      const detail = `${ours.backend} on ${ours.adapterName}${plan ? `, plan ${plan}` : ', createEngine default'}`;
      ours.destroy();
      return {
        engine,
        detail,
        run: {
          firstLogitsMs: phases[phases.length - 1]!.atMs,
          phases,
          logits: [...scores],
          fullSpeedMs: speed.fullSpeedMs,
          steadyImagesPerSecond: speed.steadyImagesPerSecond,
          speed: speed.speed,
          ...(firstPlan ? { plans: [firstPlan, lastPlan ?? '?'] } : {}),
        },
      };
    }
    let model: PeerModel;
    if (engine === 'tfjs-wasm' || engine === 'tfjs-webgpu') {
      const backend = engine === 'tfjs-wasm' ? 'wasm' : 'webgpu';
      const [{ loadTfjs, tfjsSeedModel }, { readF32Safetensors }, bytes] = await Promise.all([
        import('./tfjs-model.js'),
        import('./safetensors-lite.js'),
        fetchBytes(seedUrl),
      ]);
      const tf = await loadTfjs(backend);
      mark('imported');
      const tensors = readF32Safetensors(bytes);
      model = await tfjsSeedModel(tf, (name) => tensors.get(name) ?? missing(name), backend);
    } else {
      const backend = engine === 'ort-wasm' ? 'wasm' : 'webgpu';
      const [{ ortForPage, ortModel }, bytes] = await Promise.all([import('./ort.js'), fetchBytes(kSeedOnnxPath)]);
      const ort = await ortForPage(backend);
      mark('imported');
      model = await ortModel(ort, bytes, backend);
    }
    mark('ready');
    const logits = await model.logits(image, 1);
    mark('first logits');
    model.dispose();
    return { engine, detail: model.detail, run: { firstLogitsMs: phases[phases.length - 1]!.atMs, phases, logits: [...logits] } };
  } catch (e) {
    return { engine, detail: engine, error: (e as Error).message };
  }
}

function missing(name: string): never {
  throw new Error(`the seed weights have no tensor '${name}'`);
}

