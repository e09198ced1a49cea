/**
 * Handing a trained model from the training page to the demo without a download: the
 * safetensors bytes go into the browser's Cache API (same origin) under an id, and the demo,
 * opened as `index.html?model=trained:<id>`, takes them from there. Nothing leaves the browser.
 */
import { InputError } from '../../src/index.js';

const kCacheName = 'lenet5-trained-models';
/** Models kept: older ones are dropped when a new one is stored. */
const kKept = 5;
const kIdPattern = /^[a-z0-9-]{1,40}$/;

/** The prefix of the demo's `model` parameter for a handed-off model. */
export const kTrainedPrefix = 'trained:';

function keyUrl(id: string): string {
  return new URL(`trained-models/${id}.safetensors`, document.baseURI).href;
}

/**
 * Stores a trained model; resolves the demo's URL that opens it.
 *
 * @example
 * location.assign(await storeTrainedModel(bytes, 'seed-200-steps.safetensors', 'seed, 200 steps'));
 */
export async function storeTrainedModel(bytes: Uint8Array, fileName: string, summary: string): Promise<string> {
  if (typeof caches === 'undefined') throw new InputError('this browser has no Cache API here (it needs https or localhost): download the file and load it in the demo instead');
  const cache = await caches.open(kCacheName);
  const id = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const headers = { 'Content-Type': 'application/octet-stream', 'X-Lenet5-File-Name': encodeURIComponent(fileName), 'X-Lenet5-Summary': encodeURIComponent(summary) };
  await cache.put(keyUrl(id), new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
  const keys = await cache.keys();
  for (const old of keys.slice(0, Math.max(0, keys.length - kKept))) await cache.delete(old);
  return new URL(`index.html?model=${kTrainedPrefix}${id}`, document.baseURI).href;
}

/** A handed-off model: its bytes, file name and a line saying what it is. */
export interface TrainedModel {
  readonly bytes: Uint8Array;
  readonly fileName: string;
  readonly summary: string;
}

/**
 * The model the demo's `model` parameter names (`trained:<id>`), or null when the parameter
 * names none. Throws, saying why, when it names one this browser no longer has.
 *
 * @example
 * const trained = await takeTrainedModel(new URLSearchParams(location.search).get('model'));
 */
export async function takeTrainedModel(parameter: string | null): Promise<TrainedModel | null> {
  if (!parameter?.startsWith(kTrainedPrefix)) return null;
  const id = parameter.slice(kTrainedPrefix.length);
  if (!kIdPattern.test(id)) throw new InputError(`model=${parameter}: expected trained:<id> as the training page writes it`);
  const cached = typeof caches === 'undefined' ? undefined : await (await caches.open(kCacheName)).match(keyUrl(id));
  if (!cached) throw new InputError(`the trained model '${id}' is not in this browser's cache (another browser, or cleared): train it again, or load its downloaded file`);
  const header = (name: string, fallback: string) => decodeURIComponent(cached.headers.get(name) ?? '') || fallback;
  return { bytes: new Uint8Array(await cached.arrayBuffer()), fileName: header('X-Lenet5-File-Name', `${id}.safetensors`), summary: header('X-Lenet5-Summary', '') };
}
