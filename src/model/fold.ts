/**
 * Batch norm at load. A file's batch norm (its four [channels] tensors, `spec.batchNorms`)
 * becomes part of the layers the planners already run, so none of them ever sees one:
 *
 * - after a conv or dense layer with no activation between, it folds into that layer:
 *   with s = weight/√(runningVar + eps), the layer's weights of output channel o are
 *   multiplied by s[o] and its bias becomes (bias[o] − runningMean[o])·s[o] + bnBias[o];
 * - anywhere else (after an activation or a pool) it is a per-channel scale and shift
 *   (`scale-shift` layer): scale = s, shift = bnBias − runningMean·s.
 *
 * Both are exact up to float rounding: every value is computed in float64 and rounded once.
 * The statistics are checked first: a running variance that is negative, NaN or infinite, a
 * tensor of the wrong size, or an eps that is not a finite positive number is a
 * WeightsFileError naming the tensor.
 */
import { ModelMismatchError, WeightsFileError } from '../errors.js';
import { connectionOffsets, denseTable, type BatchNormSpec, type LayerSpec, type ModelSpec, type TensorSpec } from './spec.js';

/** A spec with its tensors. */
export interface SpecAndTensors {
  readonly spec: ModelSpec;
  readonly tensors: ReadonlyMap<string, Float32Array>;
}

/**
 * The spec and tensors with every batch norm applied (folded, or turned into its scale-shift
 * layer's tensors): the spec has no `batchNorms`, its tensors list no running statistics.
 * A spec without batch norms comes back as it is.
 *
 * @example
 * const { spec, tensors } = foldBatchNorms(presetModel('d2l-lenet-bn')!, fileTensors);
 * spec.layers.map((l) => l.name); // ['conv1', 'pool1', 'conv2', 'pool2', 'fc1', 'fc2', 'fc3']
 */
export function foldBatchNorms(spec: ModelSpec, tensors: ReadonlyMap<string, Float32Array>): SpecAndTensors {
  const batchNorms = spec.batchNorms ?? [];
  if (batchNorms.length === 0) return { spec, tensors };
  const out = new Map(tensors);
  const statistics = new Set<string>();
  const replaced = new Map<string, TensorSpec[]>();
  for (const bn of batchNorms) {
    const { scale, shift } = scaleAndShift(bn, tensors);
    for (const name of [bn.weight, bn.bias, bn.runningMean, bn.runningVar]) {
      statistics.add(name);
      out.delete(name);
    }
    if (bn.into.mode === 'fold') {
      foldInto(layerNamed(spec, bn.into.layer), bn, scale, shift, out);
    } else {
      const layer = layerNamed(spec, bn.into.layer);
      if (layer.kind !== 'scale-shift') throw new WeightsFileError(`batch norm ${bn.name}: layer ${layer.name} is not its scale-shift layer`);
      out.set(layer.scale, Float32Array.from(scale));
      out.set(layer.shift, Float32Array.from(shift));
      replaced.set(bn.weight, [
        { name: layer.scale, shape: [bn.channels], trainable: true },
        { name: layer.shift, shape: [bn.channels], trainable: true },
      ]);
    }
  }
  const tensorList = spec.tensors.flatMap((t) => replaced.get(t.name) ?? (statistics.has(t.name) ? [] : [t]));
  const { batchNorms: _applied, ...rest } = spec;
  return { spec: { ...rest, tensors: tensorList }, tensors: out };
}

/**
 * A batch norm's per-channel scale s = weight/√(runningVar + eps) and shift bias − runningMean·s,
 * in float64, after checking its tensors.
 *
 * @example
 * const { scale, shift } = scaleAndShift(spec.batchNorms![0]!, tensors);
 */
export function scaleAndShift(bn: BatchNormSpec, tensors: ReadonlyMap<string, Float32Array>): { scale: Float64Array; shift: Float64Array } {
  if (!(Number.isFinite(bn.eps) && bn.eps > 0)) {
    throw new WeightsFileError(`batch norm ${bn.name}: eps must be a finite number above 0, found ${bn.eps}`, { tensor: bn.runningVar });
  }
  const read = (name: string, what: string): Float32Array => {
    const data = tensors.get(name);
    if (!data) throw new WeightsFileError(`batch norm ${bn.name}: its ${what} is missing`, { tensor: name });
    if (data.length !== bn.channels || bn.channels === 0) {
      throw new WeightsFileError(`batch norm ${bn.name}: its ${what} must hold ${bn.channels} values (one per channel), found ${data.length}`, { tensor: name });
    }
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new WeightsFileError(`batch norm ${bn.name}: ${what} value ${bad} is ${data[bad]}; it must be finite`, { tensor: name });
    return data;
  };
  const weight = read(bn.weight, 'weight');
  const bias = read(bn.bias, 'bias');
  const mean = read(bn.runningMean, 'running mean');
  const variance = read(bn.runningVar, 'running variance');
  const negative = variance.findIndex((v) => v < 0);
  if (negative >= 0) {
    throw new WeightsFileError(`batch norm ${bn.name}: running variance ${negative} is ${variance[negative]}; a variance cannot be negative`, { tensor: bn.runningVar });
  }
  const scale = Float64Array.from(weight, (w, c) => w / Math.sqrt(variance[c]! + bn.eps));
  const shift = Float64Array.from(bias, (b, c) => b - mean[c]! * scale[c]!);
  return { scale, shift };
}

/** Multiplies `layer`'s weights of each output channel by scale and moves its bias through the batch norm. */
function foldInto(layer: LayerSpec, bn: BatchNormSpec, scale: Float64Array, shift: Float64Array, out: Map<string, Float32Array>): void {
  if (layer.kind !== 'conv5x5' && layer.kind !== 'dense') {
    throw new WeightsFileError(`batch norm ${bn.name}: only a conv or dense layer takes a folded batch norm, found ${layer.name} (${layer.kind})`);
  }
  const outputs = layer.kind === 'conv5x5' ? layer.outChannels : layer.outFeatures;
  if (outputs !== bn.channels) {
    throw new WeightsFileError(`batch norm ${bn.name}: it normalises ${bn.channels} channels, ${layer.name} makes ${outputs}`, { tensor: bn.weight });
  }
  const weight = out.get(layer.weight);
  const bias = out.get(layer.bias);
  if (!weight || !bias) throw new WeightsFileError(`batch norm ${bn.name}: layer ${layer.name}'s weight or bias is missing`, { tensor: layer.weight });
  // Which weights belong to output channel o: a conv's kernels of o (tabled or dense), a dense layer's row o.
  const ranges: Array<[number, number]> = [];
  if (layer.kind === 'conv5x5') {
    const table = layer.connectionTable ?? denseTable(layer.inChannels, layer.outChannels);
    const starts = connectionOffsets(table);
    table.forEach((inputs, o) => ranges.push([starts[o]! * 25, (starts[o]! + inputs.length) * 25]));
  } else {
    for (let o = 0; o < outputs; o++) ranges.push([o * layer.inFeatures, (o + 1) * layer.inFeatures]);
  }
  const folded = new Float32Array(weight.length);
  ranges.forEach(([from, to], o) => {
    for (let i = from; i < to; i++) folded[i] = weight[i]! * scale[o]!;
  });
  out.set(layer.weight, folded);
  out.set(layer.bias, Float32Array.from(bias, (b, o) => b * scale[o]! + shift[o]!));
}

/**
 * Throws ModelMismatchError when `spec` still has batch norms to apply: its layers alone would
 * run without them (weights made by hand rather than by loadWeights, randomWeights or
 * foldBatchNorms). The reference and every planner call this before they run a spec.
 *
 * @example
 * checkBatchNormsApplied(weights.spec);
 */
export function checkBatchNormsApplied(spec: ModelSpec): void {
  const pending = spec.batchNorms ?? [];
  if (pending.length > 0) {
    throw new ModelMismatchError(`model '${spec.id}': batch norm ${pending[0]!.name} is not applied to the tensors; make the weights with loadWeights, randomWeights or foldBatchNorms`);
  }
}

function layerNamed(spec: ModelSpec, name: string): LayerSpec {
  const layer = spec.layers.find((l) => l.name === name);
  if (!layer) throw new WeightsFileError(`batch norm: the model has no layer named ${name}`);
  return layer;
}
