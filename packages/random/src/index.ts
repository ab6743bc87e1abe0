// The one seeded random generator every package draws from: mulberry32, a 32-bit state advanced by
// a Weyl step and mixed into a float in [0, 1). Its whole state is one integer, so a checkpoint can
// store it and a resumed run draws exactly the numbers the original would have; its quality is
// ample for what mmit draws (initial weights, sample order, phrasings, synthetic media), and the
// same seed gives the same numbers everywhere, which golden files and resumes depend on.

/** The next state and the float it yields, from a state. */
function step(state: number): [next: number, value: number] {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [next, ((t ^ (t >>> 14)) >>> 0) / 2 ** 32];
}

export class SeededRandom {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The state to save; `new SeededRandom(0).restore(state)` continues the same sequence. */
  get state(): number {
    return this.s;
  }

  restore(state: number): this {
    this.s = state >>> 0;
    return this;
  }

  /** Uniform in [0, 1). */
  next(): number {
    const [next, value] = step(this.s);
    this.s = next;
    return value;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One item drawn uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[this.int(items.length)];
  }

  /** A Fisher-Yates shuffled copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** `count` distinct items in random order (all of them when there are fewer). */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, count);
  }
}

/** A bare generator of floats in [0, 1) from `seed`, for code that only needs `() => number`. */
export function mulberry32(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}
