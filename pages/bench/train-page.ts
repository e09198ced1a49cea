/**
 * The training solo page (`bench.html?train=ENGINE&model=MODEL&batch=B&warmup=W&steps=N&lr=X`):
 * one trainer alone in this page (train-solo.ts), for `npm run bench -- --train` to open in a
 * fresh headless Chromium and read `window.trainSolo`. MNIST's training files come from the
 * dev server (pages/demo/serve-mnist.ts); the initial weights from the seeded initialisation
 * the Node runs repeat bit for bit; tfjs with its gradients registered (tfjs-core alone
 * registers none; the @tensorflow/tfjs bundle imports the same file).
 */
import { describeAdapterInfo, trainPageHostParts } from './train-page-parts.js';
import { kTrainEngines, kTrainModels, trainSoloRun, type TrainHost, type TrainOutcome } from './train-solo.js';

const host: TrainHost = {
  kind: 'browser',
  now: () => performance.now(),
  ...trainPageHostParts,
  async gpu() {
    const { createTrainer, trainingKernelTargetOf } = await import('../../src/index.js');
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter in this page');
    const device = await adapter.requestDevice({ label: 'bench.train.device' });
    return { createTrainer, trainingKernelTargetOf, device, adapterName: describeAdapterInfo(adapter.info) };
  },
};

/**
 * Runs the request in the page's URL and leaves the outcome on `window.trainSolo`, with
 * `document.body.dataset.state` 'done' or 'error'.
 *
 * @example
 * await startTrainPage(new URLSearchParams('train=tfjs-webgpu&model=seed&batch=64&warmup=1&steps=2&lr=0.01'));
 */
export async function startTrainPage(params: URLSearchParams): Promise<TrainOutcome> {
  const engine = kTrainEngines.find((e) => e === params.get('train'));
  const model = kTrainModels.find((m) => m === params.get('model'));
  const [batch, warmup, steps] = ['batch', 'warmup', 'steps'].map((k) => Number(params.get(k)));
  const lr = Number(params.get('lr'));
  let outcome: TrainOutcome;
  if (!engine || !model || ![batch, warmup, steps].every((n) => Number.isInteger(n) && n! >= 0) || !(batch! > 0 && steps! > 0 && lr > 0)) {
    outcome = { engine: engine ?? 'ours-gpu', model: model ?? 'seed', batch: batch ?? 0, host: 'browser', error: `bad request '${params.toString()}'` };
  } else {
    outcome = await trainSoloRun({ engine, model, batch: batch!, warmup: warmup!, steps: steps!, lr }, host);
  }
  window.trainSolo = outcome;
  document.getElementById('log')!.textContent = JSON.stringify(outcome, null, 1);
  document.body.dataset['state'] = 'error' in outcome ? 'error' : 'done';
  return outcome;
}

declare global {
  interface Window {
    /** Set by the training solo page when its run has finished (or failed). */
    trainSolo?: TrainOutcome;
  }
}
