/**
 * The loss and accuracy charts (Chart.js, bundled; no animation, so each update is drawn at
 * once): training points after each chunk of steps, test points after each epoch, by step.
 */
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Title, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip, Title);

/** Training points kept per chart: older ones are thinned (every other one dropped). */
const kMaxPoints = 600;

type Point = { x: number; y: number };

function lineChart(canvas: HTMLCanvasElement, title: string, yLabel: string, yRange: { min?: number; max?: number }): Chart<'line', Point[]> {
  return new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        { label: 'training batches', data: [], borderColor: '#1f77b4', backgroundColor: '#1f77b4', pointRadius: 0, borderWidth: 1.5 },
        { label: 'test images', data: [], borderColor: '#d62728', backgroundColor: '#d62728', pointRadius: 3, borderWidth: 2 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } },
      scales: {
        x: { type: 'linear', min: 0, title: { display: true, text: 'step' } },
        y: { type: 'linear', ...yRange, title: { display: true, text: yLabel } },
      },
    },
  });
}

/**
 * @example
 * const charts = new TrainingCharts(lossCanvas, accuracyCanvas);
 * charts.addTraining(10, 0.9, 0.7);
 */
export class TrainingCharts {
  private readonly loss: Chart<'line', Point[]>;
  private readonly accuracy: Chart<'line', Point[]>;
  private pending = false;

  constructor(lossCanvas: HTMLCanvasElement, accuracyCanvas: HTMLCanvasElement) {
    this.loss = lineChart(lossCanvas, 'Loss (cross-entropy)', 'loss', { min: 0 });
    this.accuracy = lineChart(accuracyCanvas, 'Accuracy', '%', { min: 0, max: 100 });
  }

  /** Points on the charts so far: training, test. */
  get counts(): { training: number; test: number } {
    return { training: this.loss.data.datasets[0]!.data.length, test: this.loss.data.datasets[1]!.data.length };
  }

  addTraining(step: number, loss: number, accuracy: number): void {
    this.push(0, step, loss, accuracy);
  }

  addTest(step: number, loss: number, accuracy: number): void {
    this.push(1, step, loss, accuracy);
  }

  clear(): void {
    for (const chart of [this.loss, this.accuracy]) for (const set of chart.data.datasets) set.data = [];
    this.redraw();
  }

  private push(dataset: number, step: number, loss: number, accuracy: number): void {
    for (const [chart, y] of [[this.loss, loss], [this.accuracy, 100 * accuracy]] as const) {
      const data = chart.data.datasets[dataset]!.data;
      if (Number.isFinite(y)) data.push({ x: step, y });
      if (data.length > kMaxPoints) chart.data.datasets[dataset]!.data = data.filter((_, i) => i % 2 === 1 || i === data.length - 1);
    }
    this.redraw();
  }

  /** At most one redraw per frame, however fast the points come. */
  private redraw(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.loss.update('none');
      this.accuracy.update('none');
    });
  }
}
