/**
 * The seed model in TensorFlow.js, from the same weights, for a side-by-side run: the WebGPU
 * backend and the WASM (CPU) backend. Loaded only when asked for (dynamic import from
 * main.ts), with the WASM binaries served by this site (Vite `?url`), nothing from elsewhere.
 *
 * tfjs is NHWC: conv weights [out, in, 5, 5] become [5, 5, in, out], and the 16×5×5 maps are
 * transposed back to channel-major before the flatten, as PyTorch's flatten orders fc1's input.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { tensorOf, type ModelWeights } from '../../src/index.js';

export type TfBackend = 'webgpu' | 'wasm';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

/** The seed network on one tfjs backend: `logits(input, n)` takes preprocessed 28×28 images. */
export interface TfSeedModel {
  readonly backend: TfBackend;
  readonly version: string;
  /** n × 10 logits, read back to the CPU. */
  logits(input: Float32Array, count: number): Promise<Float32Array>;
  dispose(): void;
}

/**
 * Switches tfjs to `backend` and uploads the seed model's weights to it.
 *
 * @example
 * const model = await tfSeedModel(weights, 'wasm');
 * const logits = await model.logits(preprocessed, 16);
 */
export async function tfSeedModel(weights: ModelWeights, backend: TfBackend): Promise<TfSeedModel> {
  if (weights.spec.id !== 'seed') throw new Error(`the tfjs comparison builds the seed model, got '${weights.spec.id}'`);
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();
  const t = (name: string, shape: number[]) => tf.tensor(tensorOf(weights, name), shape);
  const conv = (name: string, out: number, inp: number) => tf.tidy(() => tf.transpose(t(name, [out, inp, 5, 5]), [2, 3, 1, 0]));
  const dense = (name: string, out: number, inp: number) => tf.tidy(() => tf.transpose(t(name, [out, inp])));
  const p = {
    conv1: conv('conv1.weight', 6, 1),
    b1: t('conv1.bias', [6]),
    conv2: conv('conv2.weight', 16, 6),
    b2: t('conv2.bias', [16]),
    fc1: dense('fc1.weight', 120, 400),
    f1: t('fc1.bias', [120]),
    fc2: dense('fc2.weight', 84, 120),
    f2: t('fc2.bias', [84]),
    fc3: dense('fc3.weight', 10, 84),
    f3: t('fc3.bias', [10]),
  };
  const forward = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const c1 = tf.sigmoid(tf.add(tf.conv2d(x, p.conv1 as tf.Tensor4D, 1, [[0, 0], [2, 2], [2, 2], [0, 0]]), p.b1));
      const s2 = tf.avgPool(c1 as tf.Tensor4D, 2, 2, 'valid');
      const c3 = tf.sigmoid(tf.add(tf.conv2d(s2, p.conv2 as tf.Tensor4D, 1, 'valid'), p.b2));
      const s4 = tf.avgPool(c3 as tf.Tensor4D, 2, 2, 'valid');
      const flat = tf.reshape(tf.transpose(s4, [0, 3, 1, 2]), [-1, 400]);
      const h1 = tf.sigmoid(tf.add(tf.matMul(flat as tf.Tensor2D, p.fc1 as tf.Tensor2D), p.f1));
      const h2 = tf.sigmoid(tf.add(tf.matMul(h1 as tf.Tensor2D, p.fc2 as tf.Tensor2D), p.f2));
      return tf.add(tf.matMul(h2 as tf.Tensor2D, p.fc3 as tf.Tensor2D), p.f3);
    });
  return {
    backend,
    version: tf.version.tfjs,
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
