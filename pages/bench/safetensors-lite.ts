/**
 * A few lines that read a float32 safetensors file, for the peers' cold starts: a page using
 * tfjs would not load this engine to read its weights, so their cold start does not either.
 * (The engine's own reader checks far more; this one reads the shipped file.)
 */

/**
 * The F32 tensors of a safetensors file by name.
 *
 * @example
 * const tensors = readF32Safetensors(bytes);
 * tensors.get('conv1.weight')!.length; // 150
 */
export function readF32Safetensors(bytes: Uint8Array): Map<string, Float32Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) throw new Error(`safetensors: ${bytes.length} bytes, too short for the 8-byte header length`);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) throw new Error(`safetensors: header of ${headerLength} bytes in a ${bytes.length}-byte file`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const base = 8 + headerLength;
  const tensors = new Map<string, Float32Array>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = entry.data_offsets;
    if (entry.dtype !== 'F32') throw new Error(`safetensors: ${name} is ${entry.dtype}, this reader takes F32 only`);
    if (!(begin >= 0 && begin <= end && base + end <= bytes.length && (end - begin) % 4 === 0)) throw new Error(`safetensors: ${name} has offsets [${begin}, ${end}] outside the file`);
    const data = new Float32Array((end - begin) / 4);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(base + begin + 4 * i, true);
    tensors.set(name, data);
  }
  return tensors;
}
