/**
 * bench.html's entry: the benchmark UI (ui.ts), or with `?engine=ENGINE&model=MODEL` one
 * engine alone (solo-page.ts: cold start, logits, latency and sweep), loading only what that
 * engine needs, for `npm run bench` to run in a fresh browser; with `?train=ENGINE&…` one
 * trainer alone (train-page.ts, for `npm run bench -- --train`).
 */
const params = new URLSearchParams(location.search);
if (params.has('engine')) {
  document.body.dataset['state'] = 'solo';
  const { startSoloPage } = await import('./solo-page.js');
  await startSoloPage(params);
} else if (params.has('train')) {
  document.body.dataset['state'] = 'solo';
  const { startTrainPage } = await import('./train-page.js');
  await startTrainPage(params);
} else {
  const { startBenchUi } = await import('./ui.js');
  startBenchUi();
}

export {};
