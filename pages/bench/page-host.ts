/**
 * The benchmark's host in the page: the shipped weights as Vite serves them, the peers loaded
 * on demand (tfjs from frameworks.ts, ONNX Runtime Web from ort.ts with the ONNX file under
 * public/models/), and the browser's name.
 */
import classicUrl from '../../weights/classic.safetensors?url';
import seedUrl from '../../weights/seed.safetensors?url';
import { resolveWeights, type ModelWeights } from '../../src/index.js';
import { fetchBytes } from './fetch-bytes.js';
import type { PeerModel } from './peers.js';
import type { BenchHost } from './run.js';
import { kPeers, kSeedOnnxPath, type PeerId } from './types.js';

export const pageHost: BenchHost = {
  kind: 'browser',
  platform: browserName(),
  userAgent: navigator.userAgent,
  hardwareConcurrency: navigator.hardwareConcurrency,
  crossOriginIsolated: globalThis.crossOriginIsolated ?? false,
  shippedWeights: (model) => resolveWeights(model === 'seed' ? seedUrl : classicUrl),
  loadPeer,
  peers: kPeers,
};

async function loadPeer(id: PeerId, weights: ModelWeights): Promise<PeerModel> {
  if (id === 'tfjs-wasm' || id === 'tfjs-webgpu') {
    const { tfSeedModel } = await import('./frameworks.js');
    return tfSeedModel(weights, id === 'tfjs-wasm' ? 'wasm' : 'webgpu');
  }
  const backend = id === 'ort-wasm' ? 'wasm' : 'webgpu';
  const [{ ortForPage, ortModel }, bytes] = await Promise.all([import('./ort.js'), fetchBytes(kSeedOnnxPath)]);
  return ortModel(await ortForPage(backend), bytes, backend);
}

/** 'HeadlessChrome 156.0.0.0' and the like, from the user agent. */
export function browserName(): string {
  const ua = navigator.userAgent;
  const m = /(HeadlessChrome|Chrome|Firefox|Safari)\/([\d.]+)/.exec(ua);
  return m ? `${m[1]} ${m[2]}` : ua;
}
