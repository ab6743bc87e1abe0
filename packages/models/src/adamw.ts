// AdamW on host arrays, matching torch.optim.AdamW (decoupled weight decay, bias-corrected
// moments, eps added after the bias-corrected square root; amsgrad and maximize not supported).
// Runs on the gradients a training-step graph returns; the parameters and both moments are kept
// in float64 so that the update itself adds no float32 rounding on top of the graph's.
import { z } from 'zod';

export const adamWOptionsSchema = z.object({
  lr: z.number().positive(),
  betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
  weight_decay: z.number().min(0).default(0.01),
});
export type AdamWOptions = z.input<typeof adamWOptionsSchema>;

export class AdamW {
  readonly params: Map<string, Float64Array>;
  private readonly m = new Map<string, Float64Array>();
  private readonly v = new Map<string, Float64Array>();
  private readonly options: z.output<typeof adamWOptionsSchema>;
  private stepCount = 0;

  /** `params` are copied: read the current values from `.params` or `float32()`. */
  constructor(params: Record<string, ArrayLike<number>>, options: AdamWOptions) {
    this.options = adamWOptionsSchema.parse(options);
    this.params = new Map(Object.entries(params).map(([name, value]) => [name, Float64Array.from(value)]));
    for (const [name, value] of this.params) {
      this.m.set(name, new Float64Array(value.length));
      this.v.set(name, new Float64Array(value.length));
    }
  }

  get steps(): number {
    return this.stepCount;
  }

  /** One update with `lr` (default: the constructor's), given a gradient for every parameter. */
  step(grads: Record<string, ArrayLike<number>>, lr = this.options.lr): void {
    const { betas, eps, weight_decay: weightDecay } = this.options;
    const [beta1, beta2] = betas;
    this.stepCount += 1;
    const biasCorrection1 = 1 - beta1 ** this.stepCount;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** this.stepCount);
    const stepSize = lr / biasCorrection1;
    for (const [name, param] of this.params) {
      const grad = grads[name];
      if (!grad || grad.length !== param.length) {
        throw new Error(
          `AdamW: gradient for ${name} missing or of length ${grad?.length} (expected ${param.length})`,
        );
      }
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      for (let i = 0; i < param.length; i++) {
        const g = grad[i];
        param[i] *= 1 - lr * weightDecay;
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        param[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / biasCorrection2Sqrt + eps);
      }
    }
  }

  /** Current parameters rounded to float32, keyed like the constructor's input. */
  float32(): Record<string, Float32Array> {
    return Object.fromEntries([...this.params].map(([name, value]) => [name, Float32Array.from(value)]));
  }
}
