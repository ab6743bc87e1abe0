// Learning-rate schedules as a multiplier of each group's base lr, by optimizer step (1-based:
// the multiplier used for the update that completes step `step`). `cosine` is transformers'
// get_cosine_schedule_with_warmup (linear warm-up from 0, then half a cosine down to
// `minLrRatio`); `constant` keeps the base lr after the warm-up.

export interface ScheduleOptions {
  type: 'cosine' | 'constant';
  warmupSteps: number;
  totalSteps: number;
  /** Floor of the cosine as a fraction of the base lr (0 in transformers). */
  minLrRatio: number;
}

export function lrMultiplier(options: ScheduleOptions, step: number): number {
  // transformers evaluates the lambda at the count of updates made *before* this one.
  const current = step - 1;
  const { warmupSteps, totalSteps, minLrRatio } = options;
  if (current < warmupSteps) return current / Math.max(1, warmupSteps);
  if (options.type === 'constant') return 1;
  const progress = (current - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
  return minLrRatio + (1 - minLrRatio) * cosine;
}
