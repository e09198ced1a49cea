/**
 * SGD over one flat parameter vector with `torch.optim.SGD`'s semantics (momentum with
 * dampening 0, L2 weight decay added to the gradient, no Nesterov): the CPU reference of the
 * GPU optimizer (shaders/optimizers.ts).
 */

export interface SgdHyperparameters {
  readonly momentum: number;
  readonly weightDecay: number;
}

/**
 * One step: g = grad + weightDecay · p; buf = momentum · buf + g (when momentum ≠ 0);
 * p −= lr · buf (or lr · g). `velocity` starts at zeros, which equals torch's first step.
 *
 * @example
 * const velocity = new Float32Array(params.length);
 * sgdStep(params, grads, velocity, 0.1, { momentum: 0.9, weightDecay: 0 });
 */
export function sgdStep(params: Float32Array, grads: Float32Array, velocity: Float32Array, lr: number, options: SgdHyperparameters): void {
  for (let i = 0; i < params.length; i++) {
    const g = grads[i]! + options.weightDecay * params[i]!;
    if (options.momentum !== 0) {
      const b = options.momentum * velocity[i]! + g;
      velocity[i] = b;
      params[i] = params[i]! - lr * b;
    } else {
      params[i] = params[i]! - lr * g;
    }
  }
}
