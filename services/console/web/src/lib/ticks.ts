// Axis ticks at round values (1, 2 or 5 times a power of ten), as chart libraries place them.

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // The round step whose tick count comes closest to the one asked for.
  const steps = [1, 2, 5, 10].map((m) => m * magnitude);
  const miss = (step: number) => Math.abs((max - min) / step - count);
  const step = steps.reduce((best, s) => (miss(s) < miss(best) ? s : best));
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
