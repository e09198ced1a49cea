/**
 * Messages between the training page (main.ts) and its worker (worker.ts). The page sends the
 * run's settings and the buttons; the worker answers with what the charts and views draw.
 * Everything here survives structured cloning (plain objects, typed arrays).
 */

/** Presets the page trains: the grey 28×28 members of the family without batch norm. */
export const kTrainablePresets = ['pytorch-tutorial', 'seed', 'classic', 'classic-scaled-tanh', 'caffe-lenet'] as const;

/** The network to train: a preset from seeded random weights, or a file to fine-tune. */
export type ModelChoice =
  | { readonly kind: 'preset'; readonly name: string }
  | { readonly kind: 'file'; readonly name: string; readonly bytes: Uint8Array; readonly architecture?: string };

/** The settings of one run, as the form gives them. */
export interface RunSettings {
  readonly model: ModelChoice;
  readonly optimizer: 'adam' | 'sgd';
  readonly lr: number;
  /** SGD only. */
  readonly momentum: number;
  readonly batch: number;
  readonly epochs: number;
  /** Random affine distortions of the training images (the CPU trainer's mild ones). */
  readonly distort: boolean;
  /** The first N images of MNIST's training set. */
  readonly trainImages: number;
  /** The first N images of MNIST's test set. */
  readonly testImages: number;
  readonly seed: number;
  /** Where to train: the page decides (it sees whether the browser has WebGPU). */
  readonly backend: 'webgpu' | 'cpu';
  /** Why the CPU, when it is. */
  readonly cpuReason?: string;
}

export type PageMessage =
  | { readonly kind: 'start'; readonly settings: RunSettings; /** The site's root URL (MNIST is under mnist/). */ readonly siteRoot: string }
  | { readonly kind: 'pause' }
  | { readonly kind: 'resume' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'export' };

/** What the worker is doing. */
export type RunState = 'idle' | 'loading' | 'training' | 'pausing' | 'paused' | 'done';

/** One worst-classified test digit. */
export interface Misread {
  readonly index: number;
  readonly label: number;
  readonly predicted: number;
  /** The probability the network gave the right digit. */
  readonly trueProbability: number;
  readonly pixels: Uint8Array;
}

/** A feature map stack or a filter bank: [channels, height, width] and the values. */
export interface Picture {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type WorkerMessage =
  | { readonly kind: 'state'; readonly state: RunState }
  | { readonly kind: 'data'; readonly loaded: number; readonly total: number; readonly fromCache: boolean }
  | {
      readonly kind: 'ready';
      readonly backend: 'webgpu' | 'cpu';
      /** Who trains, in words ('WebGPU: SwiftShader …', 'CPU trainer: …'). */
      readonly trainer: string;
      readonly model: string;
      readonly stepsPerEpoch: number;
      readonly totalSteps: number;
      readonly trainImages: number;
      readonly testImages: number;
    }
  | {
      readonly kind: 'progress';
      readonly steps: number;
      readonly epoch: number;
      readonly loss: number;
      readonly accuracy: number;
      readonly imagesPerSecond: number;
      readonly secondsLeft: number;
    }
  | {
      readonly kind: 'view';
      readonly steps: number;
      readonly filters: Picture;
      readonly digit: { readonly pixels: Uint8Array; readonly label: number; readonly predicted: number };
      readonly maps: readonly Picture[];
    }
  | {
      readonly kind: 'epoch';
      readonly epoch: number;
      readonly steps: number;
      readonly loss: number;
      readonly accuracy: number;
      /** 10 × 10 counts, row = true digit, column = predicted. */
      readonly confusion: Uint32Array;
      readonly worst: readonly Misread[];
      readonly testImages: number;
      /** Time to read the weights and score the test images. */
      readonly seconds: number;
    }
  | {
      /** The run reached its last step (sent just before the 'done' state). */
      readonly kind: 'finished';
      readonly steps: number;
      readonly epochs: number;
      /** Training images stepped through: epochs × the epoch's images. */
      readonly images: number;
      /** Time the run took: its steps, views and test scoring, pauses excluded (not MNIST's loading or the trainer's build). */
      readonly seconds: number;
    }
  | { readonly kind: 'weights'; readonly bytes: Uint8Array; readonly fileName: string; readonly summary: string }
  | { readonly kind: 'error'; readonly message: string };
