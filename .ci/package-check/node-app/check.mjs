// A Node user's script against the installed package: classifies the first 100 MNIST test
// images through `lenet5-webgpu/node` with the package's own weights file, then destroys the
// engine and lets the process end by itself (no process.exit on success).
//
//   node check.mjs <folder with t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as root from 'lenet5-webgpu';
import { createEngine, Lenet5Error, WeightsFileError } from 'lenet5-webgpu/node';

const kCount = 100;
const kMinAccuracy = 0.95;
/** How long the process may live on after destroy(): Dawn must not hold it open. */
const kExitWithinMs = 10_000;

const mnist = process.argv[2];
if (!mnist) throw new Error('usage: node check.mjs MNIST_FOLDER');
// IDX files: a 16-byte header before the images, 8 bytes before the labels.
const images = readFileSync(join(mnist, 't10k-images-idx3-ubyte')).subarray(16, 16 + kCount * 784);
const labels = readFileSync(join(mnist, 't10k-labels-idx1-ubyte')).subarray(8, 8 + kCount);

// The built bundle keeps every error class's name, and both entries share one copy of each.
for (const [name, value] of Object.entries(root)) {
  if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
  const made = new value('x');
  if (made.name !== name) throw new Error(`node: FAIL: new ${name}('x').name is '${made.name}'`);
}
if (root.WeightsFileError !== WeightsFileError) throw new Error('node: FAIL: the root and node entries hold two WeightsFileError classes');
const bad = await createEngine(new Uint8Array(16), { backend: 'cpu' }).catch((e) => e);
if (!(bad instanceof WeightsFileError) || !(bad instanceof Lenet5Error)) throw new Error(`node: FAIL: 16 zero bytes gave ${bad}`);
console.log(`node: error classes keep their names (${bad.name}: ${bad.message})`);

const weights = import.meta.resolve('lenet5-webgpu/weights/seed.safetensors');
const started = performance.now();
const engine = await createEngine(weights, { backend: 'webgpu' });
const { classes } = await engine.infer(images, kCount);
let correct = 0;
for (let i = 0; i < kCount; i++) if (classes[i] === labels[i]) correct++;
console.log(`node: ${correct}/${kCount} correct on ${engine.adapterName} (${engine.backend}), ${((performance.now() - started) / 1000).toFixed(1)} s`);
engine.destroy();

const destroyed = performance.now();
setTimeout(() => {
  console.error(`node: FAIL: the process was still running ${kExitWithinMs / 1000} s after engine.destroy()`);
  process.exit(3);
}, kExitWithinMs).unref();
process.on('exit', (code) => {
  if (code === 0) console.log(`node: exited by itself ${(performance.now() - destroyed).toFixed(0)} ms after destroy()`);
});
if (correct < kMinAccuracy * kCount) {
  console.error(`node: FAIL: accuracy ${correct}% is below ${100 * kMinAccuracy}%`);
  process.exitCode = 1;
}
