/**
 * `path` (relative to the page) as bytes; throws with the HTTP status on anything but 2xx.
 *
 * @example
 * const onnx = await fetchBytes('models/seed.onnx');
 */
export async function fetchBytes(path: string): Promise<Uint8Array> {
  const url = new URL(path, document.baseURI);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url.pathname}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
