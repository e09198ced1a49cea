/**
 * The training page's worker: it owns the data, the trainer and the GPU device, so the page's
 * charts never wait on a step. It trains in chunks of steps sized to take about a quarter of a
 * second (Pause takes effect between chunks; the trainer's step count simply continues on
 * Resume), reports the loss after each chunk, redraws the views about once a second, and at
 * each epoch's end scores the test images with an inference engine over the trained weights
 * (the confusion matrix needs each image's scores; the trainers' `evaluate` returns totals).
 */
import { createEngine, createTrainer, InputError, loadWeights, Lenet5Error, ModelMismatchError, presetModel, WebGPUUnavailableError, type LabelledImages, type ModelSpec, type ModelWeights } from '../../src/index.js';
import { acquireDevice } from '../../src/gpu/device.js';
import { kDefaultAugment } from '../../src/train/augment.js';
import { createCpuTrainer, type Trainer } from '../../src/train/cpu-trainer.js';
import { evaluate } from './evaluation.js';
import { firstImages, loadMnist } from './mnist-cache.js';
import { kTrainablePresets, type PageMessage, type Picture, type RunSettings, type RunState, type WorkerMessage } from './protocol.js';

/** A chunk of steps should take about this long: short enough for Pause, long enough to keep the GPU fed. */
const kChunkMs = 250;
const kMaxChunk = 256;
/** Shortest time between two redraws of the filters and maps. */
const kViewEveryMs = 1000;
/** The fixed test digit whose feature maps are shown (test image 0, a 7). */
const kViewDigit = 0;
const kWorstShown = 8;

interface Session {
  readonly settings: RunSettings;
  /** Where it trains (the page's choice, unless the worker had no WebGPU). */
  readonly backend: 'webgpu' | 'cpu';
  readonly trainer: Trainer;
  readonly test: LabelledImages;
  /** Training images in an epoch. */
  readonly trainCount: number;
  readonly device: GPUDevice | null;
  readonly totalSteps: number;
  paused: boolean;
  running: boolean;
  destroyed: boolean;
  chunk: number;
  /** Seconds per step, smoothed, for the time left. */
  secondsPerStep: number;
  lastView: number;
  /** Time spent running so far (steps, views, test scoring), pauses excluded. */
  runningMs: number;
}

const post = (message: WorkerMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(message, transfer);
const setState = (state: RunState) => post({ kind: 'state', state });

let data: Promise<{ train: LabelledImages; test: LabelledImages }> | null = null;
let session: Session | null = null;
/** Counts starts and resets: a start that a later Reset or Train overtook while it loaded gives up. */
let generation = 0;
/** Trainer calls run one after another (a download waits for the chunk in flight). */
let queue: Promise<unknown> = Promise.resolve();

function serially<T>(call: () => Promise<T>): Promise<T> {
  const next = queue.then(call, call);
  queue = next.catch(() => undefined);
  return next;
}

function fail(e: unknown): void {
  const message = e instanceof Lenet5Error || e instanceof Error ? e.message : String(e);
  post({ kind: 'error', message });
}

async function initialWeights(settings: RunSettings): Promise<ModelWeights | ModelSpec> {
  const model = settings.model;
  if (model.kind === 'preset') {
    const spec = presetModel(model.name);
    if (!spec) throw new InputError(`unknown preset '${model.name}'; expected one of ${kTrainablePresets.join(', ')}`);
    return spec;
  }
  return loadWeights(model.bytes, model.architecture ? { architecture: model.architecture } : {});
}

async function startSession(settings: RunSettings, siteRoot: string, ticket: number): Promise<void> {
  setState('loading');
  // The model first: a bad file fails before 55 MB are fetched.
  const source = await initialWeights(settings);
  const spec = 'spec' in source ? source.spec : source;
  if (spec.inputChannels !== 1) {
    throw new ModelMismatchError(`${spec.title} reads ${spec.inputChannels}-channel pictures; this page trains on MNIST's grey digits`);
  }
  data ??= loadMnist(new URL(siteRoot), (loaded, total, fromCache) => post({ kind: 'data', loaded, total, fromCache }));
  let sets: { train: LabelledImages; test: LabelledImages };
  try {
    sets = await data;
  } catch (e) {
    data = null; // try again on the next Train
    throw e;
  }
  const train = firstImages(sets.train, settings.trainImages);
  const test = firstImages(sets.test, settings.testImages);
  const options = {
    train,
    test,
    seed: settings.seed,
    batch: settings.batch,
    optimizer: settings.optimizer,
    lr: settings.lr,
    ...(settings.optimizer === 'sgd' ? { momentum: settings.momentum } : {}),
    schedule: { epochs: settings.epochs },
    augment: settings.distort ? kDefaultAugment : null,
  };
  let trainer: Trainer;
  let device: GPUDevice | null = null;
  let described = '';
  let backend = settings.backend;
  let cpuReason = settings.cpuReason;
  if (backend === 'webgpu') {
    try {
      const gpu = await acquireDevice();
      device = gpu.device;
      described = `WebGPU (${gpu.adapterName})`;
    } catch (e) {
      // The page saw an adapter, the worker gets none: train on the CPU and say why.
      if (!(e instanceof WebGPUUnavailableError)) throw e;
      backend = 'cpu';
      cpuReason = `WebGPU is unavailable in the worker: ${e.message}`;
    }
  }
  if (device) {
    try {
      trainer = await createTrainer(source, { ...options, device });
    } catch (e) {
      device.destroy();
      throw e;
    }
  } else {
    trainer = createCpuTrainer(source, options);
    described = `CPU trainer, in a worker${cpuReason ? ` (${cpuReason})` : ''}`;
  }
  if (ticket !== generation) {
    // Reset (or another Train) while this one loaded.
    trainer.destroy();
    device?.destroy();
    return;
  }
  session = {
    settings,
    backend,
    trainer,
    test,
    trainCount: train.count,
    device,
    totalSteps: settings.epochs * trainer.stepsPerEpoch,
    paused: false,
    running: false,
    destroyed: false,
    chunk: 1,
    secondsPerStep: NaN,
    lastView: 0,
    runningMs: 0,
  };
  post({
    kind: 'ready',
    backend,
    trainer: described,
    model: spec.title,
    stepsPerEpoch: trainer.stepsPerEpoch,
    totalSteps: session.totalSteps,
    trainImages: train.count,
    testImages: test.count,
  });
  await postView(session);
  void run(session);
}

/** conv1's filters, and the fixed digit's prediction and first feature maps (CPU reference: one image). */
async function postView(s: Session): Promise<void> {
  const weights = await serially(() => s.trainer.weights());
  if (s.destroyed) return;
  const conv = weights.spec.layers.find((l) => l.kind === 'conv5x5');
  if (!conv || conv.kind !== 'conv5x5') return;
  const filters: Picture = { name: conv.name, shape: [conv.outChannels * conv.inChannels, 5, 5], data: weights.tensors.get(conv.weight)!.slice() };
  const engine = await createEngine(weights, { backend: 'cpu' });
  const pixels = s.test.images.slice(kViewDigit * 784, (kViewDigit + 1) * 784);
  const layers = await engine.activations(pixels);
  const { classes } = await engine.infer(pixels, 1);
  engine.destroy();
  // The first two convolutions' maps: what conv1's filters find, and what the next layer makes of it.
  const convNames = weights.spec.layers.filter((l) => l.kind === 'conv5x5').slice(0, 2).map((l) => l.name);
  const maps = layers.filter((l) => convNames.includes(l.name)).map((l) => ({ name: l.name, shape: l.shape, data: l.data }));
  s.lastView = performance.now();
  post({ kind: 'view', steps: s.trainer.steps, filters, digit: { pixels, label: s.test.labels[kViewDigit]!, predicted: classes[0]! }, maps });
}

/** Scores the test images with an engine over the trained weights, on the session's backend. */
async function postEpoch(s: Session): Promise<void> {
  const started = performance.now();
  const weights = await serially(() => s.trainer.weights());
  const engine = await createEngine(weights, s.device ? { backend: 'webgpu', device: s.device } : { backend: 'cpu' });
  try {
    const result = await engine.infer(s.test.images, s.test.count);
    const e = evaluate(result.scores, result.classes, s.test.labels, result.output, kWorstShown);
    const steps = s.trainer.steps;
    post({
      kind: 'epoch',
      epoch: Math.round(steps / s.trainer.stepsPerEpoch),
      steps,
      loss: e.loss,
      accuracy: e.accuracy,
      confusion: e.confusion,
      worst: e.worst.map((w) => ({ ...w, pixels: s.test.images.slice(w.index * 784, (w.index + 1) * 784) })),
      testImages: s.test.count,
      seconds: (performance.now() - started) / 1000,
    });
  } finally {
    engine.destroy();
  }
}

async function run(s: Session): Promise<void> {
  if (s.running) return;
  s.running = true;
  setState('training');
  const resumed = performance.now();
  try {
    while (!s.paused && !s.destroyed && s.trainer.steps < s.totalSteps) {
      const steps = s.trainer.steps;
      const toEpochEnd = s.trainer.stepsPerEpoch - (steps % s.trainer.stepsPerEpoch);
      const chunk = Math.min(s.chunk, toEpochEnd, s.totalSteps - steps);
      const started = performance.now();
      const progress = await serially(() => s.trainer.fit({ steps: chunk, reportEvery: chunk }));
      if (s.destroyed || !progress) return;
      const seconds = (performance.now() - started) / 1000;
      const perStep = seconds / chunk;
      s.secondsPerStep = Number.isNaN(s.secondsPerStep) ? perStep : 0.7 * s.secondsPerStep + 0.3 * perStep;
      s.chunk = Math.max(1, Math.min(kMaxChunk, Math.round((kChunkMs / 1000 / perStep + s.chunk) / 2)));
      post({
        kind: 'progress',
        steps: progress.steps,
        epoch: progress.epoch,
        loss: progress.loss,
        accuracy: progress.accuracy,
        imagesPerSecond: progress.imagesPerSecond,
        secondsLeft: (s.totalSteps - progress.steps) * s.secondsPerStep,
      });
      const epochEnd = progress.steps % s.trainer.stepsPerEpoch === 0;
      if (epochEnd || performance.now() - s.lastView >= kViewEveryMs) await postView(s);
      if (epochEnd) await postEpoch(s);
    }
  } catch (e) {
    if (!s.destroyed) {
      s.paused = true;
      fail(e);
    }
  } finally {
    s.running = false;
    s.runningMs += performance.now() - resumed;
  }
  if (s.destroyed) return;
  const done = s.trainer.steps >= s.totalSteps;
  if (done) {
    const epochs = s.settings.epochs;
    post({ kind: 'finished', steps: s.trainer.steps, epochs, images: epochs * s.trainCount, seconds: s.runningMs / 1000 });
  }
  setState(done ? 'done' : 'paused');
}

function reset(): void {
  generation++;
  const s = session;
  session = null;
  if (!s) return;
  s.destroyed = true;
  // After the chunk in flight: the trainer's buffers may be in use until then.
  void serially(async () => {
    s.trainer.destroy();
    s.device?.destroy();
  });
}

async function exportWeights(): Promise<void> {
  const s = session;
  if (!s) throw new InputError('nothing is trained yet: press Train first');
  const steps = s.trainer.steps;
  const bytes = await serially(() =>
    s.trainer.exportWeights({
      'lenet5.train.command': `the training page (train.html): ${describeSettings(s.settings)}`,
      'lenet5.train.date': new Date().toISOString(),
    }),
  );
  const model = s.settings.model.kind === 'preset' ? s.settings.model.name : s.settings.model.name.replace(/\.[^.]*$/, '');
  post(
    { kind: 'weights', bytes, fileName: `${model}-${steps}-steps.safetensors`, summary: `${model}, ${steps} steps on ${s.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}` },
    [bytes.buffer],
  );
}

function describeSettings(s: RunSettings): string {
  const model = s.model.kind === 'preset' ? `preset ${s.model.name}` : `fine-tuning ${s.model.name}`;
  const optimizer = s.optimizer === 'sgd' ? `SGD (momentum ${s.momentum})` : 'Adam';
  return `${model}, ${optimizer}, lr ${s.lr}, batch ${s.batch}, ${s.epochs} epoch(s), ${s.distort ? 'distorted' : 'plain'} images, first ${s.trainImages} training images, seed ${s.seed}`;
}

self.addEventListener('message', (event: MessageEvent<PageMessage>) => {
  const message = event.data;
  switch (message.kind) {
    case 'start': {
      reset();
      const ticket = generation;
      startSession(message.settings, message.siteRoot, ticket).catch((e: unknown) => {
        if (ticket !== generation) return;
        fail(e);
        setState('idle');
      });
      break;
    }
    case 'pause':
      if (session?.running) {
        session.paused = true;
        setState('pausing');
      }
      break;
    case 'resume':
      if (session && !session.running) {
        session.paused = false;
        void run(session);
      }
      break;
    case 'reset':
      reset();
      setState('idle');
      break;
    case 'export':
      exportWeights().catch(fail);
      break;
  }
});
