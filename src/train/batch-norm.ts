/**
 * Batch norm and the trainers: both refuse a model with batch norm layers, by name, before
 * any weights are made (random weights would fold the layers away where no trainer sees them).
 * Training with frozen statistics is not offered: the folded scale would train as part of
 * the conv or dense weights, and the file written would no longer hold the batch norm's own
 * tensors under their names.
 */
import { ModelMismatchError } from '../errors.js';
import type { ModelSpec } from '../model/spec.js';

/**
 * Throws ModelMismatchError naming the batch norm layers of `spec`, if it has any.
 *
 * @example
 * refuseBatchNorm(presetModel('d2l-lenet-bn')!, 'the GPU trainer'); // throws, naming 'bn1' …
 */
export function refuseBatchNorm(spec: ModelSpec, trainer: string): void {
  const names = (spec.batchNorms ?? []).map((bn) => `'${bn.name}'`);
  if (names.length === 0) return;
  throw new ModelMismatchError(
    `${trainer} does not train batch norm layers; expected a model of conv, pool, dense and RBF layers only, ` +
      `found ${names.length} batch norm layer${names.length === 1 ? '' : 's'} in '${spec.title}' (${names.join(', ')}): ` +
      `describe the network without them (--arch JSON without its 'batchnorm' layers) to train it`,
  );
}
