/**
 * The training record a trained model's safetensors file carries in `__metadata__`
 * (`lenet5.train.*`, and the RBF centres' source); `saveWeights` adds the model, activation
 * and preprocessing keys (see docs/weights-format.md).
 */
import type { OutputKind } from '../model/spec.js';
import type { TrainOptions, TrainResult } from './trainer.js';

/** The loss each output kind is trained with (recorded in `lenet5.train.loss`). */
export function lossName(output: OutputKind): string {
  return output === 'distances'
    ? 'softmax cross-entropy over the negated RBF distances'
    : 'softmax cross-entropy on the logits';
}

/** The optimizer as the record names it: `Adam (β1 0.9, β2 0.999, ε 1e-8)` or `SGD (momentum 0.9, weight decay 0)`. */
export function optimizerName(options: Pick<TrainOptions, 'optimizer' | 'momentum' | 'weightDecay'>): string {
  const weightDecay = options.weightDecay ?? 0;
  return (options.optimizer ?? 'adam') === 'adam'
    ? `Adam (β1 0.9, β2 0.999, ε 1e-8${weightDecay ? `, weight decay ${weightDecay}` : ''})`
    : `SGD (momentum ${options.momentum ?? 0}, weight decay ${weightDecay})`;
}

function scheduleName(options: TrainOptions): string {
  if (options.constantLr) return `lr ${options.lr} constant`;
  return `lr ${options.lr} cosine-decayed to ${Number((options.lr * options.finalLrRatio).toPrecision(6))}`;
}

/**
 * The training part of a trained model's `__metadata__`.
 *
 * @example
 * trainingMetadata(result, options, { command, trainImages: 60000, machine, centres })['lenet5.train.loss'];
 */
export function trainingMetadata(
  result: TrainResult,
  options: TrainOptions,
  run: { command: string; trainImages: number; machine: string; centres: string },
): Record<string, string> {
  const { spec } = result.weights;
  const metadata: Record<string, string> = {
    'lenet5.train.epochs': options.stopAfter && options.stopAfter < options.epochs ? `${options.stopAfter} of ${options.epochs}` : String(options.epochs),
    'lenet5.train.seed': String(options.seed),
    'lenet5.train.images': String(run.trainImages),
    'lenet5.train.augmentation': options.augment
      ? `random affine: rotation ±${options.augment.rotation}°, scale ±${options.augment.scale * 100}% per axis, ` +
        `shear ±${options.augment.shear}, shift ±${options.augment.shift} px (bilinear)`
      : 'none',
    'lenet5.train.loss': lossName(spec.output),
    'lenet5.train.optimizer': `${optimizerName(options)}, batch ${options.batch}, ${scheduleName(options)}, ${options.workers} worker threads`,
    'lenet5.train.init': options.initial
      ? `fine-tuned from a model trained by: ${options.initial.metadata['lenet5.train.command'] ?? 'unknown command'}`
      : (result.weights.metadata['lenet5.init'] ?? 'randomWeights'),
    ...(result.testAccuracy === null ? { 'lenet5.train.steps': String(result.steps) } : { 'lenet5.train.test_accuracy': result.testAccuracy.toFixed(4) }),
    'lenet5.train.time_s': result.seconds.toFixed(0),
    'lenet5.train.machine': run.machine,
    'lenet5.train.command': run.command,
    'lenet5.train.date': new Date().toISOString(),
  };
  const activation = spec.layers[0]!.kind === 'conv5x5' ? spec.layers[0]!.activation : 'sigmoid';
  if (spec.id === 'classic') {
    metadata['lenet5.rbf.centres'] = `${run.centres}; '.' → ${activation === 'sigmoid' ? 0 : -1}, 'X' → 1`;
  }
  return metadata;
}
