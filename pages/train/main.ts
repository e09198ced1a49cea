/**
 * The training page: the run's settings and the buttons on the main thread, the training in a
 * worker (worker.ts), so the charts and views redraw while it steps. WebGPU where the browser
 * has an adapter, else the CPU trainer, and the header says which. Thin wiring: what is worth
 * testing alone lives in evaluation.ts, mnist-cache.ts, hand-off.ts and views.ts.
 */
import { kPresetNames, presetModel } from '../../src/index.js';
import { kDefaultLearningRate } from '../../src/train/trainer-settings.js';
import { TrainingCharts } from './charts.js';
import { storeTrainedModel } from './hand-off.js';
import { kTrainablePresets, type ModelChoice, type PageMessage, type RunSettings, type RunState, type WorkerMessage } from './protocol.js';
import { finishedText, formatSeconds, type FinishedRun } from './run-summary.js';
import { drawConfusion, drawDigit, drawFilters, drawMaps, drawWorst } from './views.js';

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`training page: element #${id} is missing`);
  return element as T;
}

/** Where to train: WebGPU when this browser gives an adapter, else the CPU trainer and why. */
async function chooseBackend(): Promise<{ backend: 'webgpu' | 'cpu'; reason?: string }> {
  if (!('gpu' in navigator) || !navigator.gpu) return { backend: 'cpu', reason: 'this browser has no WebGPU: navigator.gpu is missing' };
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (adapter) return { backend: 'webgpu' };
    return { backend: 'cpu', reason: 'WebGPU gave no adapter' };
  } catch (e) {
    return { backend: 'cpu', reason: `WebGPU's requestAdapter failed: ${(e as Error).message}` };
  }
}

/** What to do with the next weights the worker sends. */
type WeightsUse = 'download' | 'demo';

/**
 * The page's learning rates by optimizer: Adam's is the trainers' default (one epoch of the
 * tutorial net at batch 32 reaches 98% with it), SGD's suits the page's momentum of 0.9
 * (0.01 with momentum 0.9 steps like 0.1, the trainers' SGD default, without it).
 */
const kPageLearningRate = { adam: kDefaultLearningRate.adam, sgd: kDefaultLearningRate.sgd / 10 } as const;

class TrainingPage {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'lenet5-trainer' });
  private readonly charts = new TrainingCharts(byId('loss-chart'), byId('accuracy-chart'));
  private state: RunState = 'idle';
  private file: { name: string; bytes: Uint8Array } | null = null;
  private weightsUse: WeightsUse[] = [];
  private totalSteps = 0;
  /** What the run is, in words (shown while it trains). */
  private runText = '';
  /** The last epoch's test accuracy, and the run's figures once it reaches its last step. */
  private lastTest: FinishedRun['test'];
  private finished: FinishedRun | undefined;
  private readonly buttons = {
    train: byId<HTMLButtonElement>('train'),
    pause: byId<HTMLButtonElement>('pause'),
    resume: byId<HTMLButtonElement>('resume'),
    reset: byId<HTMLButtonElement>('reset'),
    download: byId<HTMLButtonElement>('download'),
    demo: byId<HTMLButtonElement>('open-demo'),
  };

  constructor(private readonly backend: { backend: 'webgpu' | 'cpu'; reason?: string }) {}

  start(): void {
    this.fillModels();
    byId('backend').textContent = this.backend.backend === 'webgpu' ? 'WebGPU' : 'CPU trainer';
    if (this.backend.reason) {
      const notice = byId('no-webgpu');
      notice.hidden = false;
      notice.textContent = `WebGPU is not available (${this.backend.reason}): this page trains with the CPU trainer, the reference the GPU trainer is checked against. It is slower; choose fewer training images.`;
    }
    const optimizer = byId<HTMLSelectElement>('optimizer');
    optimizer.addEventListener('change', () => {
      const sgd = optimizer.value === 'sgd';
      byId<HTMLInputElement>('momentum').disabled = !sgd;
      // A learning rate left at one optimizer's default follows the switch to the other's.
      const lr = byId<HTMLInputElement>('lr');
      const [from, to] = sgd ? [kPageLearningRate.adam, kPageLearningRate.sgd] : [kPageLearningRate.sgd, kPageLearningRate.adam];
      if (Number(lr.value) === from) lr.value = String(to);
    });
    byId<HTMLInputElement>('weights-file').addEventListener('change', (e) => void this.fileChosen(e.target as HTMLInputElement));
    this.worker.addEventListener('message', (e: MessageEvent<WorkerMessage>) => this.received(e.data));
    this.worker.addEventListener('error', (e) => this.showError(`The training worker failed: ${e.message || 'it could not start'}`));
    this.buttons.train.addEventListener('click', () => this.train());
    this.buttons.pause.addEventListener('click', () => this.send({ kind: 'pause' }));
    this.buttons.resume.addEventListener('click', () => this.send({ kind: 'resume' }));
    this.buttons.reset.addEventListener('click', () => this.reset());
    this.buttons.download.addEventListener('click', () => this.requestWeights('download'));
    this.buttons.demo.addEventListener('click', () => this.requestWeights('demo'));
    this.showState('idle');
  }

  private send(message: PageMessage): void {
    this.worker.postMessage(message);
  }

  private fillModels(): void {
    const select = byId<HTMLSelectElement>('model');
    for (const name of kTrainablePresets) select.add(new Option(`${name}: ${presetModel(name)!.title}`, name));
    select.add(new Option('Your file (load it below)', 'file'));
    select.options[select.options.length - 1]!.disabled = true;
    const architecture = byId<HTMLSelectElement>('file-architecture');
    for (const name of kPresetNames) architecture.add(new Option(name, name));
  }

  private async fileChosen(input: HTMLInputElement): Promise<void> {
    const chosen = input.files?.[0];
    if (!chosen) return;
    this.file = { name: chosen.name, bytes: new Uint8Array(await chosen.arrayBuffer()) };
    const select = byId<HTMLSelectElement>('model');
    const option = select.options[select.options.length - 1]!;
    option.disabled = false;
    option.text = `Your file: ${chosen.name} (fine-tune)`;
    select.value = 'file';
  }

  /** The form's settings, or an error message saying which field is wrong. */
  private settings(): RunSettings | string {
    const value = (id: string) => byId<HTMLInputElement | HTMLSelectElement>(id).value;
    const number = (id: string) => Number(value(id));
    const lr = number('lr');
    if (!(lr > 0 && lr <= 10)) return `The learning rate must be a number above 0 and at most 10, found '${value('lr')}'.`;
    const momentum = number('momentum');
    if (!(momentum >= 0 && momentum < 1)) return `The momentum must be at least 0 and below 1, found '${value('momentum')}'.`;
    const epochs = number('epochs');
    if (!(Number.isInteger(epochs) && epochs >= 1 && epochs <= 50)) return `Epochs must be a whole number from 1 to 50, found '${value('epochs')}'.`;
    const seed = number('seed');
    if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31)) return `The seed must be a whole number from 0, found '${value('seed')}'.`;
    let model: ModelChoice;
    if (value('model') === 'file') {
      if (!this.file) return 'Load a model file first, or choose a preset.';
      const architecture = value('file-architecture');
      model = { kind: 'file', name: this.file.name, bytes: this.file.bytes, ...(architecture ? { architecture } : {}) };
    } else {
      model = { kind: 'preset', name: value('model') };
    }
    return {
      model,
      optimizer: value('optimizer') === 'sgd' ? 'sgd' : 'adam',
      lr,
      momentum,
      batch: number('batch'),
      epochs,
      distort: byId<HTMLInputElement>('distort').checked,
      trainImages: number('train-images'),
      testImages: number('test-images'),
      seed,
      backend: this.backend.backend,
      ...(this.backend.reason ? { cpuReason: this.backend.reason } : {}),
    };
  }

  private train(): void {
    const settings = this.settings();
    if (typeof settings === 'string') return this.showError(settings);
    this.hideError();
    this.clearViews();
    this.lastTest = this.finished = undefined;
    this.send({ kind: 'start', settings, siteRoot: new URL('./', document.baseURI).href });
  }

  private reset(): void {
    this.send({ kind: 'reset' });
    this.runText = '';
    this.lastTest = this.finished = undefined;
    this.clearViews();
    byId('status').textContent = 'Reset: choose a network and press Train.';
  }

  private clearViews(): void {
    this.charts.clear();
    for (const id of ['steps', 'epoch', 'train-loss', 'test-accuracy', 'speed', 'eta']) byId(id).textContent = '–';
    for (const id of ['filters', 'maps', 'worst']) byId(id).replaceChildren();
    byId('digit-caption').textContent = '–';
    byId('view-step').textContent = '';
    byId<HTMLTableElement>('confusion').hidden = true;
    byId('confusion-empty').hidden = false;
    byId('confusion-epoch').textContent = 'after each epoch';
    byId('export-note').textContent = '';
  }

  private requestWeights(use: WeightsUse): void {
    this.weightsUse.push(use);
    byId('export-note').textContent = 'Reading the weights…';
    this.send({ kind: 'export' });
  }

  private received(message: WorkerMessage): void {
    switch (message.kind) {
      case 'state':
        return this.showState(message.state);
      case 'data': {
        const bar = byId<HTMLProgressElement>('data-progress');
        bar.value = message.total ? message.loaded / message.total : 0;
        const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
        byId('data-label').textContent = `MNIST: ${mb(message.loaded)} of ${mb(message.total)} MB ${message.fromCache ? 'read from this browser’s cache' : 'downloaded'}`;
        return;
      }
      case 'ready': {
        this.totalSteps = message.totalSteps;
        byId('backend').textContent = message.backend === 'webgpu' ? 'WebGPU' : 'CPU trainer';
        byId('backend').title = message.trainer;
        this.runText =
          `Training ${message.model} on ${message.trainImages.toLocaleString('en')} images (${message.stepsPerEpoch} steps an epoch, ` +
          `${message.totalSteps} in all) with the ${message.trainer}; testing on ${message.testImages.toLocaleString('en')} test images after each epoch.`;
        byId('status').textContent = this.runText;
        return;
      }
      case 'progress':
        byId('steps').textContent = `${message.steps} of ${this.totalSteps}`;
        byId('epoch').textContent = String(message.epoch);
        byId('train-loss').textContent = message.loss.toFixed(4);
        byId('speed').textContent = Math.round(message.imagesPerSecond).toLocaleString('en');
        byId('eta').textContent = Number.isFinite(message.secondsLeft) ? formatSeconds(message.secondsLeft) : '–';
        this.charts.addTraining(message.steps, message.loss, message.accuracy);
        return;
      case 'view':
        byId('view-step').textContent = `at step ${message.steps}`;
        drawFilters(byId('filters'), message.filters);
        drawDigit(byId('digit'), message.digit.pixels);
        byId('digit-caption').textContent = `a ${message.digit.label}, read as ${message.digit.predicted}`;
        drawMaps(byId('maps'), message.maps);
        return;
      case 'epoch': {
        const accuracy = `${(100 * message.accuracy).toFixed(2)}%`;
        this.lastTest = { accuracy: message.accuracy, images: message.testImages };
        byId('test-accuracy').textContent = accuracy;
        this.charts.addTest(message.steps, message.loss, message.accuracy);
        const table = byId<HTMLTableElement>('confusion');
        drawConfusion(table, message.confusion);
        table.hidden = false;
        byId('confusion-empty').hidden = true;
        byId('confusion-epoch').textContent = `after epoch ${message.epoch} (step ${message.steps}): ${accuracy} right, ${message.testImages.toLocaleString('en')} test images scored in ${message.seconds.toFixed(1)} s`;
        drawWorst(byId('worst'), message.worst);
        return;
      }
      case 'finished':
        this.finished = { steps: message.steps, epochs: message.epochs, images: message.images, seconds: message.seconds, ...(this.lastTest ? { test: this.lastTest } : {}) };
        return;
      case 'weights':
        return void this.useWeights(message.bytes, message.fileName, message.summary);
      case 'error':
        return this.showError(message.message);
    }
  }

  private async useWeights(bytes: Uint8Array, fileName: string, summary: string): Promise<void> {
    const use = this.weightsUse.shift() ?? 'download';
    const note = byId('export-note');
    if (use === 'download') {
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = fileName;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      note.textContent = `Downloaded ${fileName} (${(bytes.length / 1024).toFixed(0)} KB): ${summary}.`;
      return;
    }
    try {
      const url = await storeTrainedModel(bytes, fileName, summary);
      const opened = window.open(url, '_blank');
      note.replaceChildren(`${opened ? 'Opened' : 'Kept'} ${fileName} for the demo. `);
      const link = document.createElement('a');
      link.href = url;
      link.target = '_blank';
      link.textContent = 'Open it in the demo';
      note.append(link);
    } catch (e) {
      this.showError(`Could not hand the model to the demo: ${(e as Error).message}`);
    }
  }

  private showState(state: RunState): void {
    this.state = state;
    const b = this.buttons;
    b.train.disabled = state === 'loading' || state === 'training' || state === 'pausing';
    b.pause.disabled = state !== 'training';
    b.resume.disabled = state !== 'paused';
    b.reset.disabled = state === 'idle';
    b.download.disabled = b.demo.disabled = state === 'idle' || state === 'loading';
    document.body.dataset['state'] = state;
    const status = byId('status');
    if (state === 'training' && this.runText) status.textContent = this.runText;
    if (state === 'loading') status.textContent = 'Loading MNIST and building the trainer…';
    if (state === 'pausing') status.textContent = 'Pausing after the steps in flight…';
    if (state === 'paused') status.textContent = `Paused at step ${byId('steps').textContent}. Resume continues the same run.`;
    if (state === 'done') {
      const done = this.finished ? finishedText(this.finished) : `Done: ${this.totalSteps} step${this.totalSteps === 1 ? '' : 's'}.`;
      status.textContent = `${done} Download the weights, or open them in the demo.`;
    }
  }

  private showError(message: string): void {
    const error = byId('error');
    error.textContent = message;
    error.hidden = false;
  }

  private hideError(): void {
    const error = byId('error');
    error.hidden = true;
    error.textContent = '';
  }
}

async function main(): Promise<void> {
  new TrainingPage(await chooseBackend()).start();
}

void main();
