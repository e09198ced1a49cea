/**
 * The seed model in TensorFlow.js (`@tensorflow/tfjs-core` and one backend, imported when
 * asked for), from the seed model's tensors: the WASM backend or the WebGPU backend.
 *
 * tfjs is NHWC: the weights are laid out for it once, when the model is made (tfjsSeedModel).
 */
import type * as Tf from '@tensorflow/tfjs-core';
import { kGreyInput, pixelsToInput, type PeerModel, type SeedTensors } from './peers.js';
import { convHwio, denseInOut, nhwcRow } from './tfjs-layout.js';

export type TfBackend = 'webgpu' | 'wasm';
type TfModule = typeof Tf;

/**
 * Imports tfjs-core and `backend`'s package (which registers the backend).
 *
 * @example
 * const tf = await loadTfjs('wasm');
 */
export async function loadTfjs(backend: TfBackend): Promise<TfModule> {
  if (backend === 'wasm') {
    const [tf, { useSiteWasmFiles }] = await Promise.all([import('@tensorflow/tfjs-core'), import('./tfjs-wasm.js')]);
    useSiteWasmFiles();
    return tf;
  }
  const [tf, webgpu] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-backend-webgpu')]);
  // Importing the package registers the backend; naming it keeps the import in any bundle.
  if (!webgpu.WebGPUBackend) throw new Error('@tensorflow/tfjs-backend-webgpu has no WebGPUBackend');
  return tf;
}

/**
 * Switches tfjs to `backend` and uploads the weights, laid out once for tfjs: conv filters
 * [out, in, 5, 5] → [5, 5, in, out], dense weights [out, in] → [in, out], and fc1's rows
 * permuted so that the NHWC flatten of the last pooled maps ((y·5 + x)·16 + c) meets the
 * weight PyTorch's channel-major flatten (c·25 + y·5 + x) gave it: no transpose per call. The
 * forward pass is `tf.fused.conv2d` and `tf.fused.matMul` with bias and sigmoid in the op, as
 * tfjs's own converter emits for such a model (FusedConv2D, _FusedMatMul), and pooling.
 * `logits(pixels, n)` converts the bytes to floats (p / 255) itself, as an application would.
 *
 * @example
 * const model = await tfjsSeedModel(await loadTfjs('wasm'), (name) => tensors.get(name)!, 'wasm');
 * const logits = await model.logits(pixels, 16);
 */
export async function tfjsSeedModel(tf: TfModule, tensor: SeedTensors, backend: TfBackend): Promise<PeerModel> {
  // One thread, as ONNX Runtime's WASM backend here (see ort.ts): in the page there are no
  // threads anyway (not cross-origin isolated); in Node this keeps the comparison the same.
  if (backend === 'wasm') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();
  const p = {
    conv1: tf.tensor4d(convHwio(tensor('conv1.weight'), 6, 1), [5, 5, 1, 6]),
    b1: tf.tensor1d(tensor('conv1.bias')),
    conv2: tf.tensor4d(convHwio(tensor('conv2.weight'), 16, 6), [5, 5, 6, 16]),
    b2: tf.tensor1d(tensor('conv2.bias')),
    fc1: tf.tensor2d(denseInOut(tensor('fc1.weight'), 120, 400, nhwcRow(16, 5)), [400, 120]),
    f1: tf.tensor1d(tensor('fc1.bias')),
    fc2: tf.tensor2d(denseInOut(tensor('fc2.weight'), 84, 120, (i) => i), [120, 84]),
    f2: tf.tensor1d(tensor('fc2.bias')),
    fc3: tf.tensor2d(denseInOut(tensor('fc3.weight'), 10, 84, (i) => i), [84, 10]),
    f3: tf.tensor1d(tensor('fc3.bias')),
  };
  const forward = (x: Tf.Tensor4D) =>
    tf.tidy(() => {
      const c1 = tf.fused.conv2d({ x, filter: p.conv1, strides: 1, pad: [[0, 0], [2, 2], [2, 2], [0, 0]], bias: p.b1, activation: 'sigmoid' });
      const s2 = tf.avgPool(c1, 2, 2, 'valid');
      const c3 = tf.fused.conv2d({ x: s2, filter: p.conv2, strides: 1, pad: 'valid', bias: p.b2, activation: 'sigmoid' });
      const s4 = tf.avgPool(c3, 2, 2, 'valid');
      const h1 = tf.fused.matMul({ a: tf.reshape(s4, [-1, 400]), b: p.fc1, bias: p.f1, activation: 'sigmoid' });
      const h2 = tf.fused.matMul({ a: h1, b: p.fc2, bias: p.f2, activation: 'sigmoid' });
      return tf.fused.matMul({ a: h2, b: p.fc3, bias: p.f3 });
    });
  let values: Float32Array | undefined;
  return {
    id: backend === 'wasm' ? 'tfjs-wasm' : 'tfjs-webgpu',
    detail: `tfjs ${tf.version_core} ${backend}${backend === 'wasm' ? ', 1 thread' : ''}, fused ops`,
    async logits(pixels, count) {
      values = pixelsToInput(pixels, count, kGreyInput, values);
      const x = tf.tensor4d(values, [count, 28, 28, 1]);
      const y = forward(x);
      try {
        return (await y.data()) as Float32Array;
      } finally {
        x.dispose();
        y.dispose();
      }
    },
    dispose() {
      for (const t of Object.values(p)) t.dispose();
    },
  };
}
