/**
 * The seed model in TensorFlow.js (`@tensorflow/tfjs-core` and one backend, imported when
 * asked for), from the seed model's tensors: the WASM backend or the WebGPU backend.
 *
 * tfjs is NHWC: conv weights [out, in, 5, 5] become [5, 5, in, out], and the 16×5×5 maps are
 * transposed back to channel-major before the flatten, as PyTorch's flatten orders fc1's input.
 */
import type * as Tf from '@tensorflow/tfjs-core';
import type { PeerModel, SeedTensors } from './peers.js';

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
 * Switches tfjs to `backend` and uploads the weights.
 *
 * @example
 * const model = await tfjsSeedModel(await loadTfjs('wasm'), (name) => tensors.get(name)!, 'wasm');
 * const logits = await model.logits(preprocessed, 16);
 */
export async function tfjsSeedModel(tf: TfModule, tensor: SeedTensors, backend: TfBackend): Promise<PeerModel> {
  // One thread, as ONNX Runtime's WASM backend here (see ort.ts): in the page there are no
  // threads anyway (not cross-origin isolated); in Node this keeps the comparison the same.
  if (backend === 'wasm') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();
  const t = (name: string, shape: number[]) => tf.tensor(tensor(name), shape);
  const conv = (name: string, out: number, inp: number) => tf.tidy(() => tf.transpose(t(name, [out, inp, 5, 5]), [2, 3, 1, 0]));
  const dense = (name: string, out: number, inp: number) => tf.tidy(() => tf.transpose(t(name, [out, inp])));
  const p = {
    conv1: conv('conv1.weight', 6, 1) as Tf.Tensor4D,
    b1: t('conv1.bias', [6]),
    conv2: conv('conv2.weight', 16, 6) as Tf.Tensor4D,
    b2: t('conv2.bias', [16]),
    fc1: dense('fc1.weight', 120, 400) as Tf.Tensor2D,
    f1: t('fc1.bias', [120]),
    fc2: dense('fc2.weight', 84, 120) as Tf.Tensor2D,
    f2: t('fc2.bias', [84]),
    fc3: dense('fc3.weight', 10, 84) as Tf.Tensor2D,
    f3: t('fc3.bias', [10]),
  };
  const forward = (x: Tf.Tensor4D) =>
    tf.tidy(() => {
      const c1 = tf.sigmoid(tf.add(tf.conv2d(x, p.conv1, 1, [[0, 0], [2, 2], [2, 2], [0, 0]]), p.b1)) as Tf.Tensor4D;
      const s2 = tf.avgPool(c1, 2, 2, 'valid');
      const c3 = tf.sigmoid(tf.add(tf.conv2d(s2, p.conv2, 1, 'valid'), p.b2)) as Tf.Tensor4D;
      const s4 = tf.avgPool(c3, 2, 2, 'valid');
      const flat = tf.reshape(tf.transpose(s4, [0, 3, 1, 2]), [-1, 400]) as Tf.Tensor2D;
      const h1 = tf.sigmoid(tf.add(tf.matMul(flat, p.fc1), p.f1)) as Tf.Tensor2D;
      const h2 = tf.sigmoid(tf.add(tf.matMul(h1, p.fc2), p.f2)) as Tf.Tensor2D;
      return tf.add(tf.matMul(h2, p.fc3), p.f3);
    });
  return {
    id: backend === 'wasm' ? 'tfjs-wasm' : 'tfjs-webgpu',
    detail: `tfjs ${tf.version_core} ${backend}${backend === 'wasm' ? ', 1 thread' : ''}`,
    async logits(input, count) {
      const x = tf.tensor4d(input.subarray(0, count * 784), [count, 28, 28, 1]);
      const y = forward(x);
      try {
        return (await y.data()) as Float32Array;
      } finally {
        x.dispose();
        y.dispose();
      }
    },
    dispose() {
      for (const tensor of Object.values(p)) tensor.dispose();
    },
  };
}
