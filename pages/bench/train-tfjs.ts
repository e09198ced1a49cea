/**
 * TensorFlow.js's peer in the training benchmark (train-solo.ts), written as TensorFlow.js's own
 * MNIST example trains a CNN: a `tf.layers` Sequential model (conv2d with its bias and
 * activation, pooling layers, flatten, dense), `model.compile` with `tf.train.sgd` and a loss,
 * and `model.fit` over the batches (batch size `batch`, no shuffle: the same batches in the same
 * order as every other trainer), here without callbacks, so no per-batch readback or yield.
 *
 * The weights are set once, laid out for tfjs (tfjs-layout.ts): filters HWIO, dense kernels
 * [in, out], and the first dense layer's rows permuted so that Keras's NHWC flatten meets the
 * channel-major flatten PyTorch (and ours) trained them for: no transpose in the model.
 *
 * The loss is `tf.losses.softmaxCrossEntropy` on the last dense layer's logits (no softmax
 * layer): softmax cross-entropy, mean over the batch (its default reduction divides the sum by
 * the batch's size), which is PyTorch's F.cross_entropy. Keras's usual pairing, a softmax
 * output with 'categoricalCrossentropy', clips the probabilities to [1e-7, 1 − 1e-7] and takes
 * the log of the softmax: not the same loss, nor the same gradient near saturation.
 */
import type * as Tf from '@tensorflow/tfjs-core';
import type * as Tfl from '@tensorflow/tfjs-layers';
import type { LabelledImages, ModelSpec, ModelWeights } from '../../src/index.js';
import { channelPreprocessing } from '../../src/model/spec.js';
import { convHwio, denseInOut, nhwcRow } from './tfjs-layout.js';

export type TfTrainBackend = 'cpu' | 'wasm' | 'webgpu';

/** tfjs-core (with `backend` and the gradients registered) and tfjs-layers over that same core. */
export interface TfjsModules {
  readonly tf: typeof Tf;
  readonly tfl: typeof Tfl;
  /** The WASM backend's thread count once it is initialised (its `getThreadsCount`). */
  readonly wasmThreads?: () => number;
  /** Why the WASM backend has the threads it has here, in words. */
  readonly threadsWhy?: string;
}

export interface TfjsTrainRequest {
  readonly batch: number;
  readonly warmup: number;
  readonly steps: number;
  readonly lr: number;
}

export interface TfjsTimed {
  readonly detail: string;
  readonly imagesPerSecond: number;
  /** Mean loss over the timed steps (fit's epoch loss: the mean of its equal batches' losses). */
  readonly loss: number;
}

/** A `tf.layers` activation name for ours; the paper's scaled tanh has none. */
type KerasActivation = 'linear' | 'sigmoid' | 'tanh' | 'relu';

function kerasActivation(activation: string, where: string): KerasActivation {
  switch (activation) {
    case 'none':
      return 'linear';
    case 'sigmoid':
    case 'tanh':
    case 'relu':
      return activation;
    default:
      throw new Error(`tf.layers has no activation '${activation}' (${where}): the tfjs peer trains sigmoid, tanh and ReLU networks`);
  }
}

/**
 * The spec as a `tf.layers` Sequential model with the spec's weights set, laid out for tfjs.
 *
 * @example
 * const model = tfjsLayersModel(tf, tfl, weights);
 * model.compile({ optimizer: tf.train.sgd(0.01), loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits) });
 */
export function tfjsLayersModel(tf: typeof Tf, tfl: typeof Tfl, weights: ModelWeights): Tfl.Sequential {
  const { spec } = weights;
  const tensor = (name: string) => weights.tensors.get(name)!;
  const model = tfl.sequential({ name: `bench_${spec.id.replace(/\W/g, '_')}` });
  model.add(tfl.layers.inputLayer({ inputShape: [spec.inputSize, spec.inputSize, spec.inputChannels] }));
  /** Set once the model is complete: each trained layer and its values in tfjs's layout. */
  const values: Array<{ layer: Tfl.layers.Layer; tensors: Array<{ data: Float32Array; shape: number[] }> }> = [];
  // The map the next layer reads (NHWC), until a dense layer flattens it.
  let map: { channels: number; size: number } | undefined = { channels: spec.inputChannels, size: spec.inputSize };
  for (const l of spec.layers) {
    switch (l.kind) {
      case 'conv5x5': {
        if (l.connectionTable) throw new Error(`tf.layers' conv2d has no connection table (${l.name})`);
        // 'same' pads a 5×5 kernel by 2 on every side; other paddings as a zero-padding layer.
        if (l.padding !== 0 && l.padding !== 2) model.add(tfl.layers.zeroPadding2d({ padding: l.padding }));
        const conv = tfl.layers.conv2d({
          name: l.name, filters: l.outChannels, kernelSize: 5, strides: 1, padding: l.padding === 2 ? 'same' : 'valid',
          activation: kerasActivation(l.activation, l.name), useBias: true,
        });
        model.add(conv);
        values.push({ layer: conv, tensors: [{ data: convHwio(tensor(l.weight), l.outChannels, l.inChannels), shape: [5, 5, l.inChannels, l.outChannels] }, { data: tensor(l.bias), shape: [l.outChannels] }] });
        map = { channels: l.outChannels, size: l.outSize };
        break;
      }
      case 'subsample2x2': {
        if (l.mode === 'trainable') throw new Error(`tf.layers has no trainable subsampling (${l.name}: window sum × coefficient + bias)`);
        const pool = { name: l.name, poolSize: 2, strides: 2, padding: 'valid' as const };
        model.add(l.mode === 'max' ? tfl.layers.maxPooling2d(pool) : tfl.layers.averagePooling2d(pool));
        if (l.activation !== 'none') model.add(tfl.layers.activation({ activation: kerasActivation(l.activation, l.name) }));
        map = { channels: l.channels, size: l.outSize };
        break;
      }
      case 'dense': {
        // Keras flattens NHWC; the weights were trained on PyTorch's channel-major flatten.
        const column = map ? nhwcRow(map.channels, map.size) : (row: number) => row;
        if (map) model.add(tfl.layers.flatten());
        map = undefined;
        const dense = tfl.layers.dense({ name: l.name, units: l.outFeatures, activation: kerasActivation(l.activation, l.name), useBias: true });
        model.add(dense);
        values.push({ layer: dense, tensors: [{ data: denseInOut(tensor(l.weight), l.outFeatures, l.inFeatures, column), shape: [l.inFeatures, l.outFeatures] }, { data: tensor(l.bias), shape: [l.outFeatures] }] });
        break;
      }
      default:
        throw new Error(`the tfjs peer has no '${l.kind}' layer (${l.name}): it trains conv, pooling and dense networks with logits out`);
    }
  }
  if (map) throw new Error(`the tfjs peer needs logits from a dense layer; '${spec.id}' ends in a map`);
  for (const { layer, tensors } of values) {
    const ts = tensors.map((t) => tf.tensor(t.data, t.shape));
    layer.setWeights(ts);
    tf.dispose(ts);
  }
  return model;
}

/**
 * Images `first` … `first + count − 1` as the model's input (NHWC, converted as an application
 * would: background + (ink − background)·p/255, padded), and their labels one-hot.
 */
function batchTensors(tf: typeof Tf, spec: ModelSpec, preprocessing: ModelWeights['preprocessing'], data: LabelledImages, first: number, count: number): { x: Tf.Tensor4D; y: Tf.Tensor2D } {
  const side = spec.inputSize;
  const channels = spec.inputChannels;
  const { pad } = preprocessing;
  const input = new Float32Array(count * side * side * channels);
  for (let c = 0; c < channels; c++) {
    const { background, ink } = channelPreprocessing(preprocessing, c);
    for (let n = 0; n < count; n++) {
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const [iy, ix] = [y - pad, x - pad];
          const p = iy >= 0 && iy < 28 && ix >= 0 && ix < 28 ? data.images[((first + n) * 28 + iy) * 28 + ix]! / 255 : 0;
          input[((n * side + y) * side + x) * channels + c] = background + (ink - background) * p;
        }
      }
    }
  }
  const labels = tf.tensor1d(Int32Array.from(data.labels.subarray(first, first + count)), 'int32');
  const y = tf.tidy(() => tf.cast(tf.oneHot(labels, 10), 'float32') as Tf.Tensor2D);
  labels.dispose();
  return { x: tf.tensor4d(input, [count, side, side, channels]), y };
}

/**
 * Trains `weights`' network with tfjs on `backend`: `warmup` untimed batches, then `steps`
 * timed ones, each batch `batch` images in the file's order.
 *
 * @example
 * const timed = await tfjsTrain(await host.tfjs('cpu'), 'cpu', weights, data, { batch: 64, warmup: 1, steps: 2, lr: 0.01 }, () => performance.now());
 */
export async function tfjsTrain(modules: TfjsModules, backend: TfTrainBackend, weights: ModelWeights, data: LabelledImages, request: TfjsTrainRequest, now: () => number): Promise<TfjsTimed> {
  const { tf, tfl } = modules;
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();
  const { batch, warmup, steps } = request;
  const model = tfjsLayersModel(tf, tfl, weights);
  const optimizer = tf.train.sgd(request.lr);
  model.compile({ optimizer, loss: (labels, logits) => tf.losses.softmaxCrossEntropy(labels, logits) });
  // The data as tensors before the clock starts, as the example's data loader hands them over.
  const warm = batchTensors(tf, weights.spec, weights.preprocessing, data, 0, warmup * batch);
  const timed = batchTensors(tf, weights.spec, weights.preprocessing, data, warmup * batch, steps * batch);
  const fit = { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 as const };
  const threads = backend === 'wasm' && modules.wasmThreads ? `, ${modules.wasmThreads()} thread(s)${modules.threadsWhy ? `: ${modules.threadsWhy}` : ''}` : '';
  const peer = `tfjs ${tf.version_core} ${backend}${threads}`;
  try {
    let history: Tfl.History;
    let seconds: number;
    try {
      if (warmup > 0) await model.fit(warm.x, warm.y, fit);
      const started = now();
      history = await model.fit(timed.x, timed.y, fit);
      seconds = (now() - started) / 1000;
    } catch (e) {
      // Say which tfjs failed (e.g. WASM: its threads), as the detail of a figure would.
      throw new Error(`${(e as Error).message} (${peer})`);
    }
    const loss = history.history['loss']?.[0];
    if (typeof loss !== 'number') throw new Error(`tfjs's fit reported no loss (history: ${JSON.stringify(history.history)})`);
    return {
      detail: `${peer}, tf.layers Sequential + model.fit, tf.train.sgd, tf.losses.softmaxCrossEntropy on logits`,
      imagesPerSecond: (steps * batch) / seconds,
      loss,
    };
  } finally {
    tf.dispose([warm.x, warm.y, timed.x, timed.y]);
    model.dispose();
    optimizer.dispose();
  }
}
