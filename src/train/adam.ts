/**
 * Adam (Kingma & Ba) over one flat parameter vector, with a cosine learning-rate schedule.
 */

/** Adam's hyper-parameters (PyTorch's defaults). */
export interface AdamOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export const kAdamDefaults: AdamOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/**
 * @example
 * const adam = new Adam(params.length);
 * adam.step(params, grads, 1e-3); // grads: mean gradient of the mini-batch
 */
export class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;

  constructor(
    size: number,
    readonly options: AdamOptions = kAdamDefaults,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /**
   * One update: params −= lr · m̂ / (√v̂ + ε). `scale` multiplies the gradient first; then
   * `weightDecay` · params is added to it (L2, torch.optim.Adam's weight_decay, not AdamW).
   */
  step(params: Float32Array, grads: Float32Array, lr: number, scale = 1, weightDecay = 0): void {
    const { beta1, beta2, epsilon } = this.options;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i]! * scale + weightDecay * params[i]!;
      const m = (this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g);
      const v = (this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g * g);
      params[i] = params[i]! - (lr * (m / c1)) / (Math.sqrt(v / c2) + epsilon);
    }
  }
}

/**
 * Cosine decay from `start` to `end` over `total` steps.
 *
 * @example
 * cosineSchedule(1e-3, 1e-5, 1000)(500); // ≈ 5.05e-4
 */
export function cosineSchedule(start: number, end: number, total: number): (step: number) => number {
  return (step) => end + 0.5 * (start - end) * (1 + Math.cos((Math.PI * Math.min(step, total)) / Math.max(1, total)));
}
