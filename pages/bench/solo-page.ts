/**
 * The solo page (`bench.html?engine=ENGINE&model=MODEL[&batches=1,64,1024][&quick][&fullspeed]`):
 * one engine alone in this page, on one model of the family (solo.ts). `npm run bench` opens
 * it in a fresh headless Chromium per engine and reads `window.solo`. Each file is served by
 * this site: public/models/ at the site's root, the others bundled as assets (Vite `?url`).
 */
import classicUrl from '../../weights/classic.safetensors?url';
import seedUrl from '../../weights/seed.safetensors?url';
import caffeUrl from '../../tests/fixtures/family/caffe-lenet.onnx?url';
import tutorialUrl from '../../tests/fixtures/family/pytorch-tutorial.onnx?url';
import { fetchBytes } from './fetch-bytes.js';
import { kFamilyIds, type FamilyId } from './family.js';
import { soloRun, type SoloEngine, type SoloHost, type SoloOutcome } from './solo.js';
import { kPeers } from './types.js';

const kUrls: Record<string, string> = {
  'public/models/seed.onnx': 'models/seed.onnx',
  'public/models/d2l-lenet-bn.onnx': 'models/d2l-lenet-bn.onnx',
  'public/models/pytorch-cifar10-tutorial.onnx': 'models/pytorch-cifar10-tutorial.onnx',
  'tests/fixtures/family/caffe-lenet.onnx': caffeUrl,
  'tests/fixtures/family/pytorch-tutorial.onnx': tutorialUrl,
  'weights/seed.safetensors': seedUrl,
  'weights/classic.safetensors': classicUrl,
};

function urlOf(file: string): string {
  const url = kUrls[file];
  if (!url) throw new Error(`the page serves no '${file}'`);
  return new URL(url, document.baseURI).href;
}

const pageSoloHost: SoloHost = {
  kind: 'browser',
  now: () => performance.now(),
  ours: () => import('../../src/index.js'),
  oursSource: urlOf,
  bytes: (file) => fetchBytes(urlOf(file)),
  ort: async (backend) => (await import('./ort.js')).ortForPage(backend),
  tfjs: async (backend) => (await import('./tfjs-model.js')).loadTfjs(backend),
};

const kSoloEngines: readonly SoloEngine[] = ['webgpu-default', 'webgpu-fused', 'webgpu-layered', ...kPeers];

/**
 * Runs the request the page's URL holds and leaves the outcome on `window.solo`, with
 * `document.body.dataset.state` 'done' or 'error'.
 *
 * @example
 * // bench.html?engine=ort-wasm&model=caffe-lenet&batches=1,64&quick
 * await startSoloPage(new URLSearchParams(location.search));
 */
export async function startSoloPage(params: URLSearchParams): Promise<SoloOutcome> {
  const engine = kSoloEngines.find((e) => e === params.get('engine'));
  const model = kFamilyIds.find((m) => m === (params.get('model') ?? 'seed')) as FamilyId | undefined;
  const batches = (params.get('batches') ?? '1,64,1024').split(',').map(Number);
  let outcome: SoloOutcome;
  if (!engine || !model || !batches.every((b) => Number.isInteger(b) && b >= 1 && b <= 4096)) {
    outcome = {
      engine: engine ?? 'webgpu-default',
      model: model ?? 'seed',
      host: 'browser',
      error: `bad request: engine '${params.get('engine')}' (expected one of ${kSoloEngines.join(', ')}), model '${params.get('model')}' (expected one of ${kFamilyIds.join(', ')}), batches '${params.get('batches')}' (integers 1..4096)`,
    };
  } else {
    outcome = await soloRun({ engine, model, batches, quick: params.has('quick'), fullSpeed: params.has('fullspeed') }, pageSoloHost);
  }
  window.solo = outcome;
  document.getElementById('log')!.textContent = JSON.stringify(outcome, null, 1);
  document.body.dataset['state'] = 'error' in outcome ? 'error' : 'done';
  return outcome;
}

declare global {
  interface Window {
    /** Set by the solo page when its run has finished (or failed). */
    solo?: SoloOutcome;
  }
}
