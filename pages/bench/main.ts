/**
 * bench.html's entry: the benchmark UI (ui.ts), or with `?engine=ENGINE&model=MODEL` one
 * engine alone (solo-page.ts: cold start, logits, latency and sweep), loading only what that
 * engine needs, for `npm run bench` to run in a fresh browser.
 */
const params = new URLSearchParams(location.search);
if (params.has('engine')) {
  document.body.dataset['state'] = 'solo';
  const { startSoloPage } = await import('./solo-page.js');
  await startSoloPage(params);
} else {
  const { startBenchUi } = await import('./ui.js');
  startBenchUi();
}

export {};
