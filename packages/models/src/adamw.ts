// AdamW on host arrays, matching torch.optim.AdamW (decoupled weight decay, bias-corrected
// moments, eps added after the bias-corrected square root; amsgrad and maximize not supported).
// Runs on the gradients a training-step graph returns. Parameters and both moments are kept in
// float64, so the update adds no float32 rounding on top of the graph's, and `state()`/`load()`
// restore a run bit for bit. Parameter groups carry their own lr and weight decay (projector vs
// LoRA, biases without decay); `AdamW` is the one-group case with torch's option names.
import { z } from 'zod';

export interface ParamGroup {
  name: string;
  params: string[];
  lr: number;
  weightDecay: number;
}

export interface AdamWSettings {
  betas: [number, number];
  eps: number;
}

/** Everything the optimizer holds. */
export interface OptimizerState {
  step: number;
  params: Record<string, Float64Array>;
  expAvg: Record<string, Float64Array>;
  expAvgSq: Record<string, Float64Array>;
}

export class OptimizerStateError extends Error {
  override name = 'OptimizerStateError';
}

export class GroupedAdamW {
  readonly params = new Map<string, Float64Array>();
  private readonly m = new Map<string, Float64Array>();
  private readonly v = new Map<string, Float64Array>();
  private stepCount = 0;

  /** `initial` is copied: read the current values from `.params` or `float32()`. */
  constructor(
    initial: Record<string, ArrayLike<number>>,
    readonly groups: ParamGroup[],
    readonly settings: AdamWSettings,
  ) {
    const grouped = new Set(groups.flatMap((g) => g.params));
    for (const [name, value] of Object.entries(initial)) {
      if (!grouped.has(name)) throw new OptimizerStateError(`parameter ${name} is in no group`);
      this.params.set(name, Float64Array.from(value));
      this.m.set(name, new Float64Array(value.length));
      this.v.set(name, new Float64Array(value.length));
    }
    for (const name of grouped) {
      if (!this.params.has(name)) throw new OptimizerStateError(`group names ${name}, which has no value`);
    }
  }

  get steps(): number {
    return this.stepCount;
  }

  get names(): string[] {
    return [...this.params.keys()];
  }

  /** One update; `lrScale` multiplies every group's lr (the schedule). */
  step(grads: Record<string, ArrayLike<number>>, lrScale = 1): void {
    this.update(grads, (group) => group.lr * lrScale);
  }

  private update(grads: Record<string, ArrayLike<number>>, lrOf: (group: ParamGroup) => number): void {
    const [beta1, beta2] = this.settings.betas;
    const eps = this.settings.eps;
    this.stepCount += 1;
    const biasCorrection1 = 1 - beta1 ** this.stepCount;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** this.stepCount);
    for (const group of this.groups) {
      const lr = lrOf(group);
      const stepSize = lr / biasCorrection1;
      const decay = 1 - lr * group.weightDecay;
      for (const name of group.params) {
        const p = this.params.get(name)!;
        const g = grads[name];
        if (!g || g.length !== p.length) {
          throw new OptimizerStateError(
            `gradient for ${name} missing or of length ${g?.length} (expected ${p.length})`,
          );
        }
        adamWUpdate(p, this.m.get(name)!, this.v.get(name)!, g, {
          beta1,
          beta2,
          eps,
          stepSize,
          decay,
          biasCorrection2Sqrt,
        });
      }
    }
  }

  /** Current parameters rounded to float32, as step graphs take them (new arrays). */
  float32(): Record<string, Float32Array> {
    return Object.fromEntries([...this.params].map(([name, value]) => [name, new Float32Array(value)]));
  }

  /**
   * Current parameters rounded to float32, written into `target`'s arrays (added where missing),
   * so a training loop feeds the same buffers every step instead of allocating ~4 bytes per
   * parameter per step for the garbage collector. Returns `target`.
   */
  float32Into(target: Record<string, Float32Array>): Record<string, Float32Array> {
    for (const [name, value] of this.params) {
      const into = target[name];
      if (into && into.length === value.length) into.set(value);
      else target[name] = new Float32Array(value);
    }
    return target;
  }

  /** A copy of the whole state. */
  state(): OptimizerState {
    const copy = (map: Map<string, Float64Array>) =>
      Object.fromEntries([...map].map(([name, value]) => [name, value.slice()]));
    return { step: this.stepCount, params: copy(this.params), expAvg: copy(this.m), expAvgSq: copy(this.v) };
  }

  /** Restores a state saved by `state()` for the same parameters. */
  load(state: OptimizerState): void {
    for (const [name, p] of this.params) {
      for (const [what, source, target] of [
        ['params', state.params, p],
        ['expAvg', state.expAvg, this.m.get(name)!],
        ['expAvgSq', state.expAvgSq, this.v.get(name)!],
      ] as const) {
        const saved = source[name];
        if (!saved || saved.length !== target.length) {
          throw new OptimizerStateError(
            `saved optimizer state has no ${what} of length ${target.length} for ${name} (found ${saved?.length ?? 'none'})`,
          );
        }
        target.set(saved);
      }
    }
    this.stepCount = state.step;
  }
}

interface UpdateConstants {
  beta1: number;
  beta2: number;
  eps: number;
  stepSize: number;
  decay: number;
  biasCorrection2Sqrt: number;
}

/**
 * torch's AdamW update for one parameter, in place. Its own function so V8 sees one array type
 * per call site (Float64Array state, the caller's gradient type), and each value is read and
 * written once per element; the arithmetic is torch's, in torch's order.
 */
function adamWUpdate(
  p: Float64Array,
  m: Float64Array,
  v: Float64Array,
  g: ArrayLike<number>,
  c: UpdateConstants,
): void {
  const { beta1, beta2, eps, stepSize, decay, biasCorrection2Sqrt } = c;
  const gradWeight = 1 - beta1;
  const squareWeight = 1 - beta2;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = beta1 * m[i] + gradWeight * gi;
    const vi = beta2 * v[i] + squareWeight * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / biasCorrection2Sqrt + eps);
  }
}

export const adamWOptionsSchema = z.object({
  lr: z.number().positive(),
  betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
  weight_decay: z.number().min(0).default(0.01),
});
export type AdamWOptions = z.input<typeof adamWOptionsSchema>;

/**
 * torch.optim.AdamW over one group: every parameter shares lr and weight decay. `step(grads,
 * lrScale)` means what it means for every group: the schedule's multiplier of the constructor's lr.
 */
export class AdamW extends GroupedAdamW {
  constructor(params: Record<string, ArrayLike<number>>, options: AdamWOptions) {
    const o = adamWOptionsSchema.parse(options);
    super(params, [{ name: 'all', params: Object.keys(params), lr: o.lr, weightDecay: o.weight_decay }], {
      betas: o.betas,
      eps: o.eps,
    });
  }
}

/** The L2 norm over every gradient together (torch.nn.utils.clip_grad_norm_'s total norm). */
export function globalNorm(grads: Record<string, ArrayLike<number>>): number {
  let sum = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return Math.sqrt(sum);
}

/**
 * Scales gradients in place so their global norm is at most `maxNorm`, with torch's coefficient
 * maxNorm / (norm + 1e-6) clamped to 1; returns the norm before clipping.
 */
export function clipGlobalNorm(grads: Record<string, Float64Array>, maxNorm: number | null): number {
  const norm = globalNorm(grads);
  if (maxNorm === null) return norm;
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient < 1)
    for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) g[i] *= coefficient;
  return norm;
}
