/**
 * The seed model in TensorFlow.js from our ModelWeights, for the side-by-side run: the WebGPU
 * backend and the WASM (CPU) backend. Loaded only when asked for (dynamic import), with the
 * WASM binaries served by this site (tfjs-wasm.ts), nothing from elsewhere.
 */
import { type ModelWeights } from '../../src/index.js';
import { tensorOf } from '../../src/reference.js';
import type { PeerModel } from './peers.js';
import { loadTfjs, tfjsSeedModel, type TfBackend } from './tfjs-model.js';

export type { TfBackend } from './tfjs-model.js';
export type TfSeedModel = PeerModel;

/**
 * Switches tfjs to `backend` and uploads the seed model's weights to it.
 *
 * @example
 * const model = await tfSeedModel(weights, 'wasm');
 * const logits = await model.logits(preprocessed, 16);
 */
export async function tfSeedModel(weights: ModelWeights, backend: TfBackend): Promise<TfSeedModel> {
  if (weights.spec.id !== 'seed') throw new Error(`the tfjs comparison builds the seed model, got '${weights.spec.id}'`);
  return tfjsSeedModel(await loadTfjs(backend), (name) => tensorOf(weights, name), backend);
}
