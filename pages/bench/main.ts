/**
 * bench.html's entry: the benchmark UI (ui.ts); with `?engine=ENGINE&model=MODEL` one engine
 * alone (solo-page.ts: cold start, logits, latency and sweep), or with `?cold=ENGINE` one cold
 * start only (cold.ts), each loading only what that engine needs, for `npm run bench` to run
 * in a fresh browser.
 */
import type { ColdOutcome } from './cold.js';

declare global {
  interface Window {
    /** Set by a cold page when its one cold start has finished (or failed). */
    coldStart?: ColdOutcome;
  }
}

const params = new URLSearchParams(location.search);
const cold = params.get('cold');
if (params.has('engine')) {
  document.body.dataset['state'] = 'solo';
  const { startSoloPage } = await import('./solo-page.js');
  await startSoloPage(params);
} else if (cold) {
  document.body.dataset['state'] = 'cold';
  const { coldStart, kColdEngines } = await import('./cold.js');
  const engine = kColdEngines.find((e) => e === cold);
  const outcome: ColdOutcome = engine
    ? await coldStart(engine, new URLSearchParams(location.search).has('quick'))
    : { engine: 'webgpu-default', detail: cold, error: `unknown engine '${cold}' (expected one of ${kColdEngines.join(', ')})` };
  window.coldStart = outcome;
  document.getElementById('log')!.textContent = JSON.stringify(outcome, null, 1);
  document.body.dataset['state'] = outcome.error ? 'error' : 'done';
} else {
  const { startBenchUi } = await import('./ui.js');
  startBenchUi();
}
