// Normal draws from the seeded uniform generator (@mmit/media createRng), by Box-Muller. The draw
// order is part of every seeded result (tower weights, the LM's initialisation and its slot
// noise), so both forms keep exactly the arithmetic they were measured with.

/** One N(0, scale^2) number from two uniform draws (the cosine half of the pair). */
export function gaussian(rng: () => number, scale = 1): number {
  const r = Math.sqrt(-2 * Math.log(1 - rng()));
  return scale * r * Math.cos(2 * Math.PI * rng());
}

/** `count` N(0, std^2) numbers, both halves of each pair used. */
export function gaussians(rng: () => number, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const angle = 2 * Math.PI * rng();
    out[i] = r * Math.cos(angle) * std;
    if (i + 1 < count) out[i + 1] = r * Math.sin(angle) * std;
  }
  return out;
}
