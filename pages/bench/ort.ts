/**
 * A model of the family in ONNX Runtime Web, from its ONNX file (the seed model's is the one
 * scripts/pytorch/export_onnx.py makes of the shipped weights, public/models/seed.onnx; the
 * family table's are listed in family.ts): the WASM backend (one thread) or the WebGPU
 * backend, with every graph optimisation on (`graphOptimizationLevel: 'all'`: constant
 * folding, node fusions such as Conv + activation, layout transforms), as ORT's performance
 * docs advise. Loaded only when asked for.
 *
 * In the page, each backend is an ORT build with its .wasm binary served by this site (Vite
 * `?url`): the JS glue is part of the bundle, so nothing else is fetched, and nothing from
 * another origin. WASM: `onnxruntime-web/wasm` (the WASM-only build). WebGPU: `onnxruntime-web`
 * (the default build; its WebGPU backend is JSEP, kernels written in JS). Not
 * `onnxruntime-web/webgpu`: in 1.30 that is the new native WebGPU EP, and on SwiftShader it
 * computes this model's second convolution (6 → 16 channels, 5×5, no padding) wrongly — its
 * logits were 9.4 away from ours and from ORT WASM's, while its first convolution, pooling and
 * sigmoid agreed to 4 decimals; the JSEP build's logits equal ours. In Node, `onnxruntime-web`
 * is its Node build, which reads the .wasm from its package folder (WASM backend only).
 *
 * One thread: ORT's WASM backend runs its kernels on a pool of Web Workers sharing memory, which
 * needs SharedArrayBuffer, which a page has only when cross-origin isolated (served with
 * COOP/COEP headers). This site is not (Vite's server and a static host send no such headers),
 * so ORT could not start threads; `numThreads = 1` says so rather than leaving ORT to find out,
 * and is set in Node too, so the figure means the same in both. tfjs's WASM backend is single
 * threaded here for the same reason.
 */
import type * as Ort from 'onnxruntime-web';
import { kGreyInput, pixelsToInput, type PeerModel, type PixelInput } from './peers.js';

export type OrtBackend = 'wasm' | 'webgpu';
type OrtModule = typeof Ort;

/** The page's ORT for `backend`: its own build, its .wasm served by this site. */
export async function ortForPage(backend: OrtBackend): Promise<OrtModule> {
  const [ort, wasm] =
    backend === 'wasm'
      ? await Promise.all([import('onnxruntime-web/wasm'), import('onnxruntime-web/ort-wasm-simd-threaded.wasm?url')])
      : await Promise.all([import('onnxruntime-web'), import('onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url')]);
  ort.env.wasm.wasmPaths = { wasm: new URL(wasm.default, document.baseURI).href };
  return ort;
}

/**
 * An ONNX Runtime session of `model` (an ONNX file's bytes) on `backend`, one thread. Its
 * `logits(pixels, n)` converts the raw bytes to the file's float input (`input`: p / 255,
 * zero-padded where the network wants a larger image) into a buffer kept between calls,
 * then runs the session.
 *
 * @example
 * const model = await ortModel(await ortForPage('wasm'), bytes, 'wasm');
 * const logits = await model.logits(pixels, 16);
 */
export async function ortModel(ort: OrtModule, model: Uint8Array, backend: OrtBackend, input: PixelInput = kGreyInput): Promise<PeerModel> {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(model, { executionProviders: [backend], graphOptimizationLevel: 'all' });
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  if (!inputName || !outputName) throw new Error(`the ONNX model has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]: expected one of each`);
  const side = input.size + 2 * input.pad;
  const perImage = input.channels * side * side;
  let values: Float32Array | undefined;
  return {
    id: backend === 'wasm' ? 'ort-wasm' : 'ort-webgpu',
    detail: `onnxruntime-web ${ort.env.versions.web ?? '?'} ${backend === 'wasm' ? 'wasm, 1 thread' : 'webgpu (JSEP)'}`,
    async logits(pixels, count) {
      values = pixelsToInput(pixels, count, input, values);
      const x = new ort.Tensor('float32', values.subarray(0, count * perImage), [count, input.channels, side, side]);
      const outputs = await session.run({ [inputName]: x });
      const y = outputs[outputName];
      if (!y) throw new Error(`ONNX Runtime returned no '${outputName}'`);
      try {
        const data = await y.getData(true);
        if (!(data instanceof Float32Array) || data.length !== count * 10) {
          throw new Error(`ONNX Runtime returned ${data.constructor.name}[${data.length}], expected Float32Array[${count * 10}]`);
        }
        return data;
      } finally {
        y.dispose();
      }
    },
    dispose() {
      void session.release();
    },
  };
}
