/**
 * PyTorch's weight layouts as TensorFlow.js's (NHWC maps, HWIO filters, [in, out] dense
 * kernels), converted once when a tfjs peer's weights are set, never per call. Shared by the
 * inference peer (tfjs-model.ts) and the training peer (train-tfjs.ts).
 */

/**
 * PyTorch's conv weight [out, in, 5, 5] as tfjs's filter [5, 5, in, out].
 *
 * @example
 * const filter = tf.tensor4d(convHwio(tensors.get('conv1.weight')!, 6, 1), [5, 5, 1, 6]);
 */
export function convHwio(w: Float32Array, out: number, inp: number): Float32Array {
  const hwio = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) for (let k = 0; k < 25; k++) hwio[(k * inp + i) * out + o] = w[(o * inp + i) * 25 + k]!;
  return hwio;
}

/**
 * PyTorch's dense weight [out, in] as tfjs's [in, out], row `r` of the result taken from
 * input column `column(r)` (the flatten order the layer before gives).
 *
 * @example
 * const kernel = denseInOut(tensors.get('fc1.weight')!, 120, 400, nhwcRow(16, 5));
 */
export function denseInOut(w: Float32Array, out: number, inp: number, column: (row: number) => number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < inp; r++) for (let o = 0; o < out; o++) t[r * out + o] = w[o * inp + column(r)]!;
  return t;
}

/**
 * NHWC flatten index (y·side + x)·channels + c → PyTorch's channel-major c·side² + y·side + x.
 *
 * @example
 * nhwcRow(16, 5)(1); // 25: NHWC's second value is channel 1 at (0, 0)
 */
export function nhwcRow(channels: number, side: number): (row: number) => number {
  return (row) => {
    const c = row % channels;
    const yx = Math.floor(row / channels);
    return c * side * side + yx;
  };
}
