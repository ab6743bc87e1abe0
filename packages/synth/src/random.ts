// Seeded randomness. Every choice a generator makes comes from a stream seeded by (recipe seed,
// item id, kind, sample index), so a sample does not depend on which items came before it: a
// resumed job or a shuffled corpus makes the same sample for the same item.
import { createHash } from 'node:crypto';
import { SeededRandom } from '@mmit/random';

/**
 * 32-bit FNV-1a of a string with murmur3's finalizer: cheap and stable across platforms. The
 * finalizer matters: plain FNV-1a barely moves the high bits for strings that differ only at the
 * end (item ids do), and ratios and splits read the high bits.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) fixed by the parts (for ratios and splits). */
export function unitHash(...parts: (string | number)[]): number {
  return hash32(parts.join('\u0000')) / 2 ** 32;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  /** `count` distinct elements in random order (all of them when there are fewer). */
  sample<T>(items: readonly T[], count: number): T[];
  chance(p: number): boolean;
}

/** A generator seeded by the parts (mmit's one generator, @mmit/random). */
export function createRng(...seedParts: (string | number)[]): Rng {
  return new SeededRandom(hash32(seedParts.join('\u0000')));
}
