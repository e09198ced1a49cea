// A Node user's script, in plain JavaScript (no types to catch a typo), against the installed
// package: misspelt options and the root entry used in Node give typed errors that say what to
// do; it classifies the first 100 MNIST test images through `lenet5-webgpu/node` with the
// package's own weights file, then destroys the engine (at once, though the 'auto' plan is
// compiling) and lets the process end by itself (no process.exit on success).
//
//   node check.mjs <folder with t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as root from 'lenet5-webgpu';
import { createEngine, EngineDestroyedError, InputError, Lenet5Error, WeightsFileError } from 'lenet5-webgpu/node';

const kCount = 100;
const kMinAccuracy = 0.95;
/**
 * How long the process may live on after destroy(): Dawn must not hold it open. It lives until
 * the 'auto' plan's abandoned background compile ends (about 3.5 s on an idle 2-core machine
 * under SwiftShader, 10–15 s with the cores shared), then destroys the device and exits.
 */
const kExitWithinMs = 30_000;

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

/** The error `promise` rejects with, or a failure where it is not an InputError whose message has `expected`. */
async function expectInputError(what, promise, expected) {
  const error = await promise.then(() => undefined, (e) => e);
  if (!(error instanceof InputError) || !error.message.includes(expected)) {
    throw new Error(`node: FAIL: ${what} gave ${error}, expected an InputError saying ${expected}`);
  }
  console.log(`node: ${what}: ${error.message}`);
}
await expectInputError('a misspelt option', createEngine(weights, { archtecture: 'seed' }), "did you mean 'architecture'?");
await expectInputError("backend: 'gpu'", createEngine(weights, { backend: 'gpu' }), "did you mean 'webgpu'?");
await expectInputError('the root entry with a file URL', root.createEngine(weights), "import createEngine from 'lenet5-webgpu/node'");

const started = performance.now();
const engine = await createEngine(weights, { backend: 'webgpu' });
const { classes } = await engine.infer(images, kCount);
let correct = 0;
for (let i = 0; i < kCount; i++) if (classes[i] === labels[i]) correct++;
console.log(`node: ${correct}/${kCount} correct on ${engine.adapterName} (${engine.backend}), ${((performance.now() - started) / 1000).toFixed(1)} s`);
const destroying = performance.now();
engine.destroy();
const destroyed = performance.now();
console.log(`node: destroy() took ${(destroyed - destroying).toFixed(1)} ms on the ${engine.plan} plan`);
if (destroyed - destroying > 250) {
  console.error('node: FAIL: destroy() blocked the thread');
  process.exitCode = 1;
}
const fastest = await engine.fastest().then((plan) => plan, (e) => e);
if (!(fastest instanceof EngineDestroyedError)) {
  console.error(`node: FAIL: fastest() after destroy() gave ${fastest}`);
  process.exitCode = 1;
}
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
