/**
 * The demo page: draw a digit, see a LeNet classify it, layer by layer: the shipped models or
 * the visitor's own file (a PyTorch state_dict or checkpoint of any name, ONNX, safetensors).
 * For a colour model the drawing pad gives way to a picture (a file, a drop, the camera).
 * It also shows what the network looks at (saliency-view.ts: createSaliency's gradients over
 * the image) and learns a misread drawing (teach.ts, teach-view.ts: createTrainer).
 * Thin wiring over the library's public API (createEngine, infer, activations, engine.model,
 * createSaliency, createTrainer); the logic worth testing lives in digitize.ts, picture.ts,
 * pad.ts, panels.ts, model-card.ts, mnist.ts, teach.ts and saliency-view.ts.
 */
import { digitize } from './digitize.js';
import { kFullTestSet, loadDigits, loadSample, runTestSet, type DigitSet, type TestProgress } from './mnist.js';
import { ModelCard, type PickerState } from './model-card.js';
import { Models, type ModelChoice } from './models.js';
import { DrawingPad } from './pad.js';
import { InsidePanel, ScoresPanel, SeenView } from './panels.js';
import { pictureFormat } from './picture.js';
import { PictureInput } from './picture-input.js';
import { paintGray, pictureCanvas } from './viz.js';
import { takeTrainedModel } from '../train/hand-off.js';
import { demoDevice } from './gpu-device.js';
import { SaliencyView } from './saliency-view.js';
import { TeachPanel } from './teach-view.js';
import { createSaliency, type InferenceEngine, type Pixels, type SaliencyPlan } from '../../src/index.js';

/** Shortest time between two live predictions while drawing. */
const kMinIntervalMs = 60;
/** The model shown first. */
const kFirstModel = 'classic';
/** Inference times kept for the median shown in the header. */
const kTimingWindow = 15;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: element #${id} is missing`);
  return element as T;
}

/** What is being classified: the pad's drawing, one of the sample's images, or a picture (colour models). */
type Input = { kind: 'pad' } | { kind: 'sample'; index: number } | { kind: 'picture' };

/** Whether a model reads colour pictures rather than grey digits. */
function readsPictures(engine: InferenceEngine): boolean {
  return engine.model.input.channels > 1;
}

class DemoPage {
  private input: Input = { kind: 'pad' };
  private pending = false;
  private running = false;
  private readonly timings: number[] = [];
  private sample: DigitSet | null = null;
  private readonly pad = new DrawingPad(byId('pad'), () => this.fromPad());
  private readonly pictures = new PictureInput(() => this.fromPicture());
  private readonly seen = new SeenView();
  private readonly scores = new ScoresPanel();
  private readonly inside = new InsidePanel();
  private readonly card = new ModelCard((preset) => this.fileTask(() => this.runFileAs(preset)));
  private readonly looks = new SaliencyView(() => void this.updateSaliency());
  private readonly teacher = new TeachPanel({
    current: () => this.models.current,
    untaught: () => this.models.untaught,
    lastPrediction: () => (this.last && this.last.engine === this.models.current ? this.last : null),
    serially: (call) => this.serially(call),
    use: (engine) => {
      if (engine) this.models.useTaught(engine);
      else this.models.resetTaught();
      this.useModel(this.models.current, { keepLessons: true });
    },
  });
  /** What was predicted last: the field the network saw, its class, and by which engine. */
  private last: { field: Float32Array; digit: number; engine: InferenceEngine } | null = null;
  /** The saliency plan of the engine it was made for (one at a time). */
  private saliency: { engine: InferenceEngine; plan: Promise<SaliencyPlan> } | null = null;
  /** File loads and preset changes run one after another, so a preset picked mid-load applies to that file. */
  private fileTasks: Promise<void> = Promise.resolve();
  private readonly status = byId('prediction');
  private readonly statusNote = byId('prediction-note');
  /** Where the visitor's file came from, when the training page handed it over. */
  private trainedSource: string | null = null;
  /** Engine calls run one at a time: a test-set run and live predictions share the engine. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly models: Models) {}

  start(): void {
    byId('clear').addEventListener('click', () => {
      this.pad.clear();
      this.fromPad();
    });
    this.wireModelSwitch();
    this.wireFileLoading();
    this.wireTestSet();
    void this.showSample();
    this.showEngine();
    this.useModel(this.models.current);
    void this.openTrained();
  }

  /** A model handed over by the training page (`?model=trained:<id>`), loaded as the visitor's file. */
  private async openTrained(): Promise<void> {
    try {
      const trained = await takeTrainedModel(new URLSearchParams(location.search).get('model'));
      if (!trained) return;
      this.fileTask(async () => {
        await this.loadModel(trained.bytes, trained.fileName);
        if (this.models.choice !== 'file' || this.models.loadedFileName !== trained.fileName) return;
        this.trainedSource = `From the training page (train.html), handed over in this browser: ${trained.summary || trained.fileName}.`;
        this.showSource();
      });
    } catch (e) {
      this.showLoadError(`Could not open the model from the training page: ${(e as Error).message}`);
    }
  }

  private serially<T>(call: () => Promise<T>): Promise<T> {
    const next = this.queue.then(call, call);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private fromPad(): void {
    this.input = { kind: 'pad' };
    this.markSample(null);
    this.schedule();
  }

  private fromPicture(): void {
    this.input = { kind: 'picture' };
    this.schedule();
  }

  /** Runs a prediction soon; while one runs, at most one more is queued (live throttling). */
  private schedule(): void {
    this.pending = true;
    if (!this.running) void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.pending) {
      this.pending = false;
      const started = performance.now();
      await this.predict();
      const wait = kMinIntervalMs - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.running = false;
  }

  private currentPixels(engine: InferenceEngine): Float32Array | Uint8Array | null {
    if (readsPictures(engine)) {
      const { channels, size } = engine.model.input;
      return this.input.kind === 'picture' ? this.pictures.pixels(channels, size) : null;
    }
    if (this.input.kind === 'sample' && this.sample) {
      const i = this.input.index;
      return this.sample.pixels.subarray(i * 784, (i + 1) * 784);
    }
    return this.input.kind === 'pad' && this.pad.hasInk ? digitize(this.pad.ink()) : null;
  }

  private async predict(): Promise<void> {
    const engine = this.models.current;
    let raw: Float32Array | Uint8Array | null;
    try {
      raw = this.currentPixels(engine);
    } catch (e) {
      // A picture for a model of another number of channels than a picture has (InputError).
      this.showClass('–');
      this.statusNote.textContent = `This picture cannot be classified by this model: ${(e as Error).message}`;
      return;
    }
    const field = raw instanceof Uint8Array ? Float32Array.from(raw, (v) => v / 255) : raw;
    if (!field) {
      this.showClass('–');
      this.statusNote.textContent = readsPictures(engine)
        ? 'Choose a picture, drop one on the page, or use the camera.'
        : 'Draw a digit, or pick one of the MNIST test digits below.';
      this.seen.show(null, engine);
      this.scores.show(null);
      this.inside.show(null);
      this.last = null;
      this.looks.clear(readsPictures(engine) ? 'Show it a picture to see which pixels push its score up or down.' : 'Draw a digit to see which pixels push its score up or down.');
      return;
    }
    try {
      const result = await this.serially(async () => {
        const t0 = performance.now();
        const r = await engine.infer(field, 1);
        this.recordTiming(performance.now() - t0);
        return r;
      });
      const activations = await this.serially(() => engine.activations(field));
      if (engine !== this.models.current) return; // the model changed meanwhile; the next run shows it
      const digit = result.classes[0]!;
      this.showClass(engine.model.labels?.[digit] ?? String(digit));
      this.statusNote.textContent = this.describeInput(digit);
      this.seen.show(field, engine);
      this.scores.show(result);
      this.inside.show(activations);
      this.last = { field, digit, engine };
      this.teacher.predicted(digit);
      await this.updateSaliency();
    } catch (e) {
      // A replaced file's engine is destroyed while its last prediction may be in flight.
      if (engine === this.models.current) this.statusNote.textContent = `Prediction failed: ${(e as Error).message}`;
    }
  }

  /**
   * The saliency map of the last prediction: the predicted class's score, or "why not" the
   * class picked. Computed by the GPU backward kernels on the page's tool device.
   */
  private async updateSaliency(): Promise<void> {
    const last = this.last;
    if (!last || last.engine !== this.models.current) return;
    const { engine, field, digit } = last;
    if (engine.backend !== 'webgpu') {
      this.looks.clear('The saliency map comes from the GPU backward kernels: it needs WebGPU, which this browser does not give.');
      return;
    }
    if (this.saliency?.engine !== engine) {
      const previous = this.saliency;
      const plan = demoDevice().then((device) => createSaliency(engine.weights, { device }));
      plan.catch(() => undefined);
      this.saliency = { engine, plan };
      void previous?.plan.then((p) => p.destroy(), () => undefined);
    }
    try {
      const plan = await this.saliency.plan;
      const versus = this.looks.whyNot;
      const target = versus === null || versus === digit ? { class: digit } : { class: digit, versus };
      const [saliency] = await plan.inputGradients(field, [target]);
      if (this.last !== last || !saliency) return; // a newer prediction shows its own
      const { channels, size } = engine.model.input;
      const name = (c: number) => engine.model.labels?.[c] ?? String(c);
      this.looks.show(field, saliency, channels, size, name, plan.score === 'logits' ? 'logit' : 'negated distance');
    } catch (e) {
      if (this.last === last) this.looks.clear(`No saliency map for this model: ${(e as Error).message}`);
    }
  }

  /** The predicted class (a digit, or a name such as 'automobile'), or '–'. */
  private showClass(text: string): void {
    this.status.textContent = text;
    this.status.classList.toggle('word', text.length > 2);
  }

  /** Says what was classified; for a sample image, also marks it right or wrong in the strip. */
  private describeInput(digit: number): string {
    if (this.input.kind === 'picture') return `Your picture (${this.pictures.source}), as the network reads it.`;
    if (this.input.kind === 'sample' && this.sample) {
      const label = this.sample.labels[this.input.index];
      const button = byId('strip').children[this.input.index];
      button?.classList.toggle('right', label === digit);
      button?.classList.toggle('wrong', label !== digit);
      return `MNIST test image ${this.input.index}, labelled ${label}: ${label === digit ? 'right' : 'wrong'}.`;
    }
    return 'Your drawing, as the network reads it.';
  }

  private recordTiming(ms: number): void {
    this.timings.push(ms);
    if (this.timings.length > kTimingWindow) this.timings.shift();
    const sorted = [...this.timings].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const timing = byId('timing');
    timing.textContent = `${median.toFixed(2)} ms`;
    timing.title = `median of the last ${sorted.length} single-image inferences`;
  }

  private showEngine(): void {
    const engine = this.models.current;
    byId('backend').textContent = engine.backend === 'webgpu' ? 'WebGPU' : 'CPU reference engine';
    const adapter = byId('adapter');
    adapter.textContent = engine.adapterName;
    adapter.title = engine.adapterName; // the full name, where a long one is cut short
    const notice = byId('no-webgpu');
    if (this.models.fallbackReason) {
      notice.hidden = false;
      notice.textContent = `WebGPU is not available here, so the page runs LeNet-5 on the CPU reference engine (plain TypeScript). ${this.models.fallbackReason}`;
    }
  }

  /**
   * Which kernels answer for `engine`: the layered plan at once, then (the default plan 'auto')
   * the whole-network kernel once it has compiled in the background, or the layered plan with
   * the reason the fused one declined. `data-settled` turns 'true' when the engine has settled.
   */
  private showKernels(engine: InferenceEngine): void {
    const kernels = byId('kernels');
    kernels.dataset['settled'] = 'false';
    kernels.title = '';
    if (engine.backend !== 'webgpu') {
      kernels.textContent = 'CPU reference';
      kernels.dataset['settled'] = 'true';
      return;
    }
    const describe = (plan: InferenceEngine['plan']) => (plan === 'fused' ? 'whole network' : 'layer by layer');
    const compiling = engine.plan === 'layered' && !engine.planFallbackReason;
    kernels.textContent = describe(engine.plan);
    kernels.title = compiling ? 'One kernel per layer answers now; the whole-network kernel is compiling and takes over when ready.' : '';
    void engine.fastest().then(
      (plan) => {
        if (this.models.current !== engine) return;
        kernels.textContent = describe(plan);
        kernels.title = plan === 'fused' ? 'One compute kernel runs the whole network.' : (engine.planFallbackReason ?? 'One kernel per layer.');
        kernels.dataset['settled'] = 'true';
      },
      () => undefined,
    );
  }

  /** Says where the visitor's file came from when the training page handed it over. */
  private showSource(): void {
    const source = byId('model-source');
    source.textContent = this.trainedSource ?? '';
    source.hidden = this.models.choice !== 'file' || this.trainedSource === null;
  }

  /** Shows a model's description, scores layout and layers, then classifies the current input with it. */
  private useModel(engine: InferenceEngine, options: { keepLessons?: boolean } = {}): void {
    this.showSource();
    this.showKernels(engine);
    const pictures = readsPictures(engine);
    byId('pad-input').hidden = pictures;
    this.pictures.visible = pictures;
    byId('draw-title').textContent = pictures ? 'Show it a picture' : 'Draw a digit';
    // The MNIST digits and test set are grey 28×28 images: not for a colour model.
    byId('samples').hidden = pictures;
    if (pictures && this.input.kind !== 'picture' && this.pictures.source) this.input = { kind: 'picture' };
    if (!pictures && this.input.kind === 'picture') this.input = { kind: 'pad' };
    this.card.show(engine, this.pickerState());
    this.seen.useModel(engine);
    this.scores.useModel(engine);
    this.inside.useModel(engine);
    this.looks.useLabels(engine.model.labels ?? Array.from({ length: 10 }, (_, c) => String(c)));
    if (!options.keepLessons) this.teacher.useModel(engine);
    this.markSample(this.input.kind === 'sample' ? this.input.index : null);
    this.schedule();
  }

  /** What the preset picker would act on: the visitor's file, if one is loaded. */
  private pickerState(): PickerState {
    const file = this.models.fileEngine;
    if (!file) return 'no-file';
    if (this.models.fileDeclaresArchitecture) return 'file-declares';
    return file.model.origin?.architectureFrom === 'option' ? 'file-chosen' : 'file-assumed';
  }

  private wireModelSwitch(): void {
    for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="model"]')) {
      radio.addEventListener('change', async () => {
        if (!radio.checked) return;
        try {
          const engine = await this.models.select(radio.value as ModelChoice);
          if (!engine) return; // a later choice is shown instead
          this.hideLoadError();
          this.useModel(engine);
          this.clearSampleVerdicts();
        } catch (e) {
          this.showLoadError(`Could not load the ${radio.value} model: ${(e as Error).message}`);
          this.checkRadio(this.models.choice);
        }
      });
    }
  }

  private checkRadio(choice: ModelChoice): void {
    const radio = document.querySelector<HTMLInputElement>(`input[name="model"][value="${choice}"]`);
    if (radio) radio.checked = true;
  }

  private wireFileLoading(): void {
    const input = byId<HTMLInputElement>('weights-file');
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      if (file) this.fileTask(() => this.loadFile(file));
      input.value = ''; // so picking the same file again fires `change` again
    });
    const zone = byId('drop-zone');
    // The whole page accepts a drop, so a file dropped a little off target isn't opened by the browser.
    document.addEventListener('dragover', (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
    document.addEventListener('dragleave', (e) => {
      if (e.relatedTarget === null) zone.classList.remove('over');
    });
    // A dropped file is a picture or a model, told apart by its bytes (never its name).
    document.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      const file = e.dataTransfer?.files[0];
      if (file) this.fileTask(() => this.dropped(file));
    });
  }

  /** A dropped picture goes to a colour model's picture input; anything else is loaded as a model. */
  private async dropped(file: File): Promise<void> {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const picture = pictureFormat(bytes);
    if (!picture) return this.loadModel(bytes, file.name);
    if (readsPictures(this.models.current)) return this.pictures.fromFile(file);
    this.showLoadError(
      `${file.name} is a ${picture} picture: pictures are for colour models (load one, such as PyTorch’s CIFAR-10 tutorial Net); ` +
        `the ${this.describeChoice()} reads digits drawn on the pad.`,
    );
  }

  private fileTask(task: () => Promise<void>): void {
    this.fileTasks = this.fileTasks.then(task).catch((e: unknown) => this.showLoadError((e as Error).message));
  }

  private async loadFile(file: File): Promise<void> {
    return this.loadModel(new Uint8Array(await file.arrayBuffer()), file.name);
  }

  private async loadModel(bytes: Uint8Array, name: string): Promise<void> {
    const preset = this.card.preset;
    try {
      const engine = await this.models.loadFile(bytes, name, preset);
      this.card.fileLoaded(preset);
      this.fileShown(name, engine);
    } catch (e) {
      this.showLoadError(`Could not load ${name}: ${(e as Error).message}\nStill using the ${this.describeChoice()}.`);
    }
  }

  /** Runs the visitor's state_dict again as another preset (picked after loading it). */
  private async runFileAs(preset: string | undefined): Promise<void> {
    if (!this.models.fileEngine || this.models.fileDeclaresArchitecture) {
      this.card.show(this.models.current, this.pickerState()); // applies to the next file
      return;
    }
    const name = this.models.loadedFileName;
    try {
      const engine = await this.models.reloadFile(preset);
      this.card.fileLoaded(preset);
      this.fileShown(name, engine);
    } catch (e) {
      this.card.revertPicker();
      const as = preset ? `as the '${preset}' preset` : 'as its tensors suggest';
      this.showLoadError(`Could not run ${name} ${as}: ${(e as Error).message}\nStill using the ${this.describeChoice()}.`);
    }
  }

  /** The visitor's file is loaded and current: its radio, no error, its model shown. */
  private fileShown(name: string, engine: InferenceEngine): void {
    this.trainedSource = null;
    this.hideLoadError();
    byId('file-name').textContent = `Your file: ${name}`;
    byId('file-choice').hidden = false;
    this.checkRadio('file');
    this.clearSampleVerdicts();
    this.useModel(engine);
  }

  /** The current model, in words, for error messages. */
  private describeChoice(): string {
    return this.models.choice === 'file' ? `model from ${this.models.loadedFileName}` : `${this.models.choice} model`;
  }

  private hideLoadError(): void {
    const error = byId('load-error');
    error.hidden = true;
    error.textContent = '';
  }

  private showLoadError(message: string): void {
    const error = byId('load-error');
    error.textContent = message;
    error.hidden = false;
  }

  private async showSample(): Promise<void> {
    const strip = byId('strip');
    try {
      this.sample = await loadSample();
    } catch (e) {
      strip.textContent = `The MNIST sample could not be loaded: ${(e as Error).message}`;
      return;
    }
    const sample = this.sample;
    for (let i = 0; i < sample.count; i++) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'sample';
      button.setAttribute('aria-label', `MNIST test image ${i}, labelled ${sample.labels[i]}`);
      const canvas = pictureCanvas('sample-image');
      paintGray(canvas, sample.pixels.subarray(i * 784, (i + 1) * 784), 28, 28, { low: 0, high: 255 });
      button.append(canvas);
      button.addEventListener('click', () => void this.classifySample(i));
      strip.append(button);
    }
  }

  private classifySample(index: number): void {
    if (readsPictures(this.models.current)) return; // the strip is hidden for colour models
    this.pad.clear();
    this.input = { kind: 'sample', index };
    this.markSample(index);
    this.schedule();
  }

  private markSample(index: number | null): void {
    [...byId('strip').children].forEach((b, i) => b.classList.toggle('selected', i === index));
  }

  private clearSampleVerdicts(): void {
    for (const b of byId('strip').children) b.classList.remove('right', 'wrong');
  }

  private wireTestSet(): void {
    const button = byId<HTMLButtonElement>('run-test-set');
    const result = byId('test-result');
    const bar = byId<HTMLProgressElement>('test-progress');
    const urls = kFullTestSet;
    let abort: AbortController | null = null;
    let testSet: DigitSet | null = null;
    const show = (p: TestProgress, engine: InferenceEngine) => {
      bar.value = p.done / p.total;
      const accuracy = p.done ? ((100 * p.correct) / p.done).toFixed(2) : '0';
      const rate = p.seconds > 0 ? Math.round(p.done / p.seconds).toLocaleString('en') : '–';
      result.textContent = `${p.done.toLocaleString('en')} / ${p.total.toLocaleString('en')} images · accuracy ${accuracy}% · ${rate} images/s (${engine.backend === 'webgpu' ? 'WebGPU' : 'CPU'}, ${this.models.choice} model)`;
    };
    button.addEventListener('click', async () => {
      if (abort) {
        abort.abort();
        return;
      }
      abort = new AbortController();
      button.textContent = 'Stop';
      try {
        if (!testSet) {
          result.textContent = 'Loading the MNIST test set…';
          testSet = await loadDigits(urls);
        }
        const engine = this.models.current;
        const infer = (pixels: Pixels, count: number) => this.serially(() => engine.infer(pixels, count));
        await runTestSet(infer, testSet, (p) => show(p, engine), abort.signal);
      } catch (e) {
        result.textContent = `The test set run failed: ${(e as Error).message}`;
      } finally {
        abort = null;
        button.textContent = 'Run the test set';
      }
    });
  }
}

async function main(): Promise<void> {
  try {
    const models = await Models.start(kFirstModel);
    new DemoPage(models).start();
  } catch (e) {
    byId('backend').textContent = 'failed to start';
    const notice = byId('no-webgpu');
    notice.hidden = false;
    notice.textContent = `The model could not be loaded: ${(e as Error).message}`;
  }
}

void main();
