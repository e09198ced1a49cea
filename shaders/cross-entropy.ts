/**
 * The loss: softmax cross-entropy over each image's scores, mean over the batch as PyTorch's
 * `F.cross_entropy` (so the gradient is already that of the mean), on logits or on negated RBF
 * distances (`negate`: the classic model's training loss). CPU reference:
 * `softmaxCrossEntropy` (src/train/layers.ts), which is per image (this kernel divides by N).
 *
 * Mapping: one invocation per image n: reads scores[n, ·] and labels[n]; writes
 * scoresGrad[n, k] = sign · (softmax(sign · s)_k − [k = label]) / N and results[n] =
 * (loss, 1 if the top class is the label else 0). No workgroup memory.
 */
import { elementwiseDispatch, elementwiseKernel, type TrainKernel } from './elementwise.js';

export interface CrossEntropyOptions {
  readonly classes: number;
  /** Softmax over −scores (RBF distances: the nearest centre is the class). */
  readonly negate: boolean;
}

/**
 * Bindings: 0 step uniform, 1 scores, 2 labels (u32), 3 scoresGrad, 4 results ([N, 2] f32).
 *
 * @example
 * const kernel = crossEntropy({ classes: 10, negate: false });
 */
export function crossEntropy(options: CrossEntropyOptions): TrainKernel {
  const sign = options.negate ? '-1.0' : '1.0';
  const code = elementwiseKernel({
    count: 'step.count',
    declarations: `
const kClasses = ${options.classes}u;
const kSign = ${sign};

@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> scoresGrad: array<f32>;
@group(0) @binding(4) var<storage, read_write> results: array<f32>;`,
    body: `
  let base = i * kClasses;
  let label = labels[i];
  var top = 0u;
  var largest = kSign * scores[base];
  for (var k = 1u; k < kClasses; k++) {
    let s = kSign * scores[base + k];
    if (s > largest) {
      largest = s;
      top = k;
    }
  }
  var total = 0.0;
  for (var k = 0u; k < kClasses; k++) {
    total += exp(kSign * scores[base + k] - largest);
  }
  let scale = 1.0 / f32(step.count);
  for (var k = 0u; k < kClasses; k++) {
    let p = exp(kSign * scores[base + k] - largest) / total;
    scoresGrad[base + k] = kSign * (p - select(0.0, 1.0, k == label)) * scale;
  }
  let safeLabel = min(label, kClasses - 1u);
  results[2u * i] = log(total) + largest - kSign * scores[base + safeLabel];
  results[2u * i + 1u] = select(0.0, 1.0, top == label);`,
  });
  return { kernel: 'cross-entropy', options, code, workgroups: (count) => elementwiseDispatch(count) };
}

/**
 * Adds a batch's (loss, hit) pairs into running totals: totals[0] += Σ loss, totals[1] += Σ hit,
 * totals[2] += N. One invocation sums the batch in order (deterministic; N is small), so the
 * loss is read back only when asked, never once a step.
 *
 * Bindings: 0 step uniform, 1 results ([N, 2] f32), 2 totals (3 f32).
 *
 * @example
 * const kernel = lossTotals();
 */
export function lossTotals(): TrainKernel {
  const code = elementwiseKernel({
    count: '1u',
    declarations: `
@group(0) @binding(1) var<storage, read> results: array<f32>;
@group(0) @binding(2) var<storage, read_write> totals: array<f32>;`,
    body: `
  var loss = 0.0;
  var hits = 0.0;
  for (var n = 0u; n < step.count; n++) {
    loss += results[2u * n];
    hits += results[2u * n + 1u];
  }
  totals[0] += loss;
  totals[1] += hits;
  totals[2] += f32(step.count);`,
  });
  return { kernel: 'loss-totals', options: {}, code, workgroups: () => elementwiseDispatch(1) };
}
