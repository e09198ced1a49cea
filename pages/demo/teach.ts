/**
 * "Teach it your handwriting": a few GPU optimizer steps (createTrainer) from the demo's current
 * weights on the drawings the visitor labelled, each batch mixed with replayed MNIST training
 * digits so the network does not forget the rest. The batches are laid out here (teachingSet, a
 * plain function the unit tests check) and trained in that order, unshuffled.
 *
 * The recipe's defaults were chosen on the shipped classic model and a continental "1" (a long
 * flag) it reads as a 7 (measured in Node through Dawn, first 1,000 MNIST test images: Adam at
 * 2·10⁻⁴, 8 steps of 16 images, 4 of them the drawing: it reads the 1, test accuracy 99.0% →
 * 98.5%; at 3·10⁻⁴ the accuracy fell to 98.1%, SGD at 0.002 diverged on the RBF loss).
 */
import { createTrainer, type LabelledImages, type ModelWeights, type TrainProgress } from '../../src/index.js';
import type { DigitSet } from './mnist.js';

/** A drawing the visitor labelled: 784 bytes (the 28×28 field the network saw) and its digit. */
export interface TaughtDrawing {
  readonly pixels: Uint8Array;
  readonly label: number;
}

export interface TeachSettings {
  /** Optimizer steps per lesson. */
  readonly steps: number;
  /** Images per step. */
  readonly batch: number;
  /** Places per batch for the taught drawings (cycled through); the rest are replayed digits. */
  readonly drawingsPerBatch: number;
  /** Adam's learning rate (constant). */
  readonly lr: number;
}

export const kTeachDefaults: TeachSettings = { steps: 8, batch: 16, drawingsPerBatch: 4, lr: 2e-4 };
/** Most steps the page allows per lesson (each is about a second on a CPU-emulated GPU). */
export const kMaxTeachSteps = 50;

/**
 * The lesson's training set, batch after batch: in each batch of `batch` images the first
 * `drawingsPerBatch` are the taught drawings (cycled: every one appears as often as the others,
 * ±1), the rest replayed digits, taken in order from `replay` starting at `lesson`'s share (so
 * each lesson replays digits the last did not).
 *
 * @example
 * const set = teachingSet([{ pixels, label: 1 }], replay, kTeachDefaults, 0); // 8 × 16 images
 */
export function teachingSet(taught: readonly TaughtDrawing[], replay: DigitSet, settings: TeachSettings, lesson: number): LabelledImages {
  const { steps, batch, drawingsPerBatch } = settings;
  if (taught.length === 0) throw new Error('teachingSet: nothing to teach');
  if (!(drawingsPerBatch >= 1 && drawingsPerBatch < batch)) throw new Error(`teachingSet: drawingsPerBatch must be 1 … ${batch - 1}, found ${drawingsPerBatch}`);
  const replayPerStep = batch - drawingsPerBatch;
  const count = steps * batch;
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  let drawing = 0;
  let replayed = (lesson * steps * replayPerStep) % replay.count;
  for (let s = 0; s < steps; s++) {
    for (let k = 0; k < batch; k++) {
      const i = s * batch + k;
      if (k < drawingsPerBatch) {
        const d = taught[drawing++ % taught.length]!;
        images.set(d.pixels, i * 784);
        labels[i] = d.label;
      } else {
        images.set(replay.pixels.subarray(replayed * 784, (replayed + 1) * 784), i * 784);
        labels[i] = replay.labels[replayed]!;
        replayed = (replayed + 1) % replay.count;
      }
    }
  }
  return { images, labels, count };
}

/** A field the network saw (floats in [0, 1]) as the bytes a training set holds. */
export function fieldBytes(field: Float32Array): Uint8Array {
  return Uint8Array.from(field, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
}

/**
 * Trains `weights` on a lesson and returns the new weights (read back from the GPU).
 *
 * @example
 * const taught = await teach(device, engine.weights, teachingSet(drawings, replay, kTeachDefaults, 0), kTeachDefaults, (p) => show(p));
 */
export async function teach(
  device: GPUDevice,
  weights: ModelWeights,
  lesson: LabelledImages,
  settings: TeachSettings,
  onProgress: (progress: TrainProgress) => void,
): Promise<ModelWeights> {
  const trainer = await createTrainer(weights, {
    device,
    train: lesson,
    batch: settings.batch,
    optimizer: 'adam',
    lr: settings.lr,
    schedule: 'constant',
    shuffle: false,
    stepsPerSubmit: 1,
  });
  try {
    await trainer.fit({ steps: settings.steps, reportEvery: 1, onProgress });
    const trained = await trainer.weights();
    // The file's labels and origin stay with the taught weights.
    return { ...weights, tensors: trained.tensors };
  } finally {
    trainer.destroy();
  }
}
