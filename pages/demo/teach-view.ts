/**
 * The "Teach it your handwriting" card: "that was a …", Teach, Reset, the number of steps, a
 * progress bar, the drawings taught so far, and the MNIST test accuracy (first 1,000 test
 * images) before and after, so the visitor sees what fine-tuning did to the rest. The training
 * itself is teach.ts; the page (main.ts) hands in what it owns.
 */
import { createEngine, type InferenceEngine, type TrainProgress } from '../../src/index.js';
import { demoDevice } from './gpu-device.js';
import { kTestSubset, kReplaySet, loadDigits, runTestSet, type DigitSet } from './mnist.js';
import { fieldBytes, kMaxTeachSteps, kTeachDefaults, teach, teachingSet, type TaughtDrawing } from './teach.js';
import { paintGray, pictureCanvas } from './viz.js';

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: element #${id} is missing`);
  return element as T;
}

/** What the panel needs from the page. */
export interface TeachHost {
  /** The engine predicting now, and the choice's own (untaught) engine. */
  current(): InferenceEngine;
  untaught(): InferenceEngine;
  /** The 28×28 field (floats in [0, 1]) the network saw last, and what it predicted; null before a prediction. */
  lastPrediction(): { field: Float32Array; digit: number } | null;
  /** Runs an engine call after the page's others (they share engines). */
  serially<T>(call: () => Promise<T>): Promise<T>;
  /** The page switches to taught weights (`engine`), or back to the choice's own (null), and predicts again. */
  use(engine: InferenceEngine | null): void;
}

const percent = (accuracy: number) => `${(100 * accuracy).toFixed(1)}%`;

export class TeachPanel {
  private readonly card = byId('teach-card');
  private readonly label = byId<HTMLSelectElement>('teach-label');
  private readonly button = byId<HTMLButtonElement>('teach-button');
  private readonly reset = byId<HTMLButtonElement>('teach-reset');
  private readonly stepsInput = byId<HTMLInputElement>('teach-steps');
  private readonly progress = byId<HTMLProgressElement>('teach-progress');
  private readonly status = byId('teach-status');
  private readonly accuracyText = byId('teach-accuracy');
  private readonly strip = byId('taught');
  private taught: TaughtDrawing[] = [];
  private lessons = 0;
  private busy = false;
  private replay: Promise<DigitSet> | null = null;
  private testSet: Promise<DigitSet> | null = null;
  /** Test-subset accuracy per engine, measured once. */
  private readonly accuracies = new WeakMap<InferenceEngine, Promise<number>>();

  constructor(private readonly host: TeachHost) {
    this.stepsInput.max = String(kMaxTeachSteps);
    this.stepsInput.value = String(kTeachDefaults.steps);
    this.button.addEventListener('click', () => void this.teachDrawing());
    this.reset.addEventListener('click', () => this.resetWeights());
  }

  /** A model (re)chosen: its own weights, nothing taught. Teaching needs WebGPU and a grey digit model. */
  useModel(engine: InferenceEngine): void {
    this.taught = [];
    this.lessons = 0;
    this.strip.replaceChildren();
    this.progress.value = 0;
    this.reset.disabled = true;
    this.accuracyText.textContent = '';
    const grey = engine.model.input.channels === 1 && engine.model.input.size === 28;
    this.card.hidden = !grey;
    const why = engine.backend !== 'webgpu' ? 'Teaching trains on the GPU: it needs WebGPU, which this browser does not give.' : null;
    this.button.disabled = why !== null;
    this.status.textContent = why ?? 'Draw a digit; if the prediction is wrong, say what it was and press Teach.';
  }

  /** Says what it read, so the visitor can correct it. */
  predicted(digit: number): void {
    if (!this.busy && !this.button.disabled) this.status.textContent = `It read ${digit}. If your drawing was another digit, choose it and press Teach.`;
  }

  /** The steps asked for, or null (and the reason shown) when the field holds no whole number in range. */
  private steps(): number | null {
    const steps = Number(this.stepsInput.value);
    if (Number.isInteger(steps) && steps >= 1 && steps <= kMaxTeachSteps) return steps;
    this.status.textContent = `Steps must be a whole number from 1 to ${kMaxTeachSteps}, found '${this.stepsInput.value}'.`;
    return null;
  }

  private accuracyOf(engine: InferenceEngine): Promise<number> {
    let accuracy = this.accuracies.get(engine);
    if (!accuracy) {
      accuracy = (async () => {
        const set = await (this.testSet ??= loadDigits(kTestSubset));
        const result = await runTestSet((pixels, count) => this.host.serially(() => engine.infer(pixels, count)), set, () => undefined);
        return result.correct / result.done;
      })();
      accuracy.catch(() => this.accuracies.delete(engine));
      this.accuracies.set(engine, accuracy);
    }
    return accuracy;
  }

  private async teachDrawing(): Promise<void> {
    const last = this.host.lastPrediction();
    if (this.busy) return;
    if (!last) {
      this.status.textContent = 'Draw a digit first: the network learns the drawing it has just read.';
      return;
    }
    const label = Number(this.label.value);
    if (!(Number.isInteger(label) && label >= 0 && label <= 9)) {
      this.status.textContent = 'Choose the digit your drawing was.';
      return;
    }
    const steps = this.steps();
    if (steps === null) return;
    this.busy = true;
    this.button.disabled = true;
    const from = this.host.current();
    const own = this.host.untaught();
    const settings = { ...kTeachDefaults, steps };
    const drawing = { pixels: fieldBytes(last.field), label };
    try {
      this.status.textContent = 'Loading the MNIST digits to replay…';
      const replay = await (this.replay ??= loadDigits(kReplaySet));
      const before = this.accuracyOf(this.host.untaught());
      const lesson = teachingSet([...this.taught, drawing], replay, settings, this.lessons);
      const device = await demoDevice();
      this.status.textContent = `Learning that it was a ${label}…`;
      const started = performance.now();
      const weights = await teach(device, from.weights, lesson, settings, (p: TrainProgress) => {
        this.progress.value = p.steps / settings.steps;
        this.status.textContent = `Learning that it was a ${label}: step ${p.steps} of ${settings.steps}, loss ${p.loss.toFixed(3)}`;
      });
      const seconds = (performance.now() - started) / 1000;
      const engine = await createEngine(weights, { device, backend: 'webgpu' });
      if (this.host.untaught() !== own) {
        // Another model was chosen while it learned: the lesson was for the one before.
        engine.destroy();
        this.status.textContent = 'Another model was chosen while it learned: that lesson was dropped.';
        return;
      }
      this.taught.push(drawing);
      this.lessons++;
      this.addToStrip(drawing);
      this.host.use(engine);
      this.reset.disabled = false;
      this.status.textContent =
        `Learned in ${seconds.toFixed(1)} s: ${settings.steps} Adam steps (learning rate ${settings.lr}) of ${settings.batch} images, ` +
        `${settings.drawingsPerBatch} places for your ${this.taught.length === 1 ? 'drawing' : `${this.taught.length} drawings`} and ` +
        `${settings.batch - settings.drawingsPerBatch} replayed MNIST training digits in each.`;
      this.accuracyText.textContent = 'MNIST test accuracy (first 1,000 test images): measuring…';
      await engine.fastest();
      const [was, now] = await Promise.all([before, this.accuracyOf(engine)]);
      this.accuracyText.textContent = `MNIST test accuracy (first 1,000 test images): ${percent(was)} before teaching, ${percent(now)} now.`;
      this.accuracyText.dataset['before'] = String(was);
      this.accuracyText.dataset['after'] = String(now);
    } catch (e) {
      this.status.textContent = `Teaching failed: ${(e as Error).message}`;
    } finally {
      this.busy = false;
      this.button.disabled = false;
    }
  }

  private addToStrip(drawing: TaughtDrawing): void {
    const figure = document.createElement('figure');
    figure.className = 'taught-drawing';
    const canvas = pictureCanvas('sample-image', `A drawing taught as ${drawing.label}`);
    paintGray(canvas, drawing.pixels, 28, 28, { low: 0, high: 255 });
    const caption = document.createElement('figcaption');
    caption.textContent = String(drawing.label);
    figure.append(canvas, caption);
    this.strip.append(figure);
  }

  private resetWeights(): void {
    if (this.busy) return;
    this.host.use(null);
    const engine = this.host.current();
    this.useModel(engine);
    this.status.textContent = 'Back to the model’s own weights: nothing taught.';
  }
}
