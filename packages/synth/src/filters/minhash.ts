// Near-duplicate detection with MinHash signatures over word shingles and locality-sensitive
// hashing (banding) to find candidates without comparing against every earlier sample. With 64
// hashes in 8 bands of 8 rows, pairs at Jaccard 0.85 become candidates with probability about
// 0.98 and pairs at 0.5 about 0.03; candidates are then confirmed on the signature estimate.
// Memory: 256 bytes per remembered sample.

const HASHES = 64;
const BANDS = 8;
const ROWS = HASHES / BANDS;

// One seed per hash function; hash i of a shingle is murmur3's finalizer of (shingle xor seed i).
// (A linear family a*x+b with LCG-drawn constants is too correlated across functions: distinct
// sets then share minima far more often than their Jaccard similarity says.)
const SEEDS = new Uint32Array(HASHES);
for (let i = 0; i < HASHES; i++) SEEDS[i] = fmix32((i + 1) * 0x9e3779b9);

function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function signature(shingles: number[]): Uint32Array {
  const sig = new Uint32Array(HASHES).fill(0xffffffff);
  for (const x of shingles) {
    for (let i = 0; i < HASHES; i++) {
      const h = fmix32(x ^ SEEDS[i]);
      if (h < sig[i]) sig[i] = h;
    }
  }
  return sig;
}

/** Fraction of equal slots: an unbiased estimate of the Jaccard similarity of the shingle sets. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < HASHES; i++) if (a[i] === b[i]) same++;
  return same / HASHES;
}

export class MinHashIndex {
  private readonly signatures: Uint32Array[] = [];
  private readonly bands: Map<string, number[]>[] = Array.from({ length: BANDS }, () => new Map());

  constructor(readonly threshold: number) {}

  get size(): number {
    return this.signatures.length;
  }

  /**
   * The best estimated similarity to a remembered signature at or above the threshold, if any.
   * `scope` confines the search to signatures added with the same scope (LSH buckets are keyed
   * by it, so scoping costs nothing).
   */
  findSimilar(sig: Uint32Array, scope = ''): number | undefined {
    let best: number | undefined;
    const checked = new Set<number>();
    for (let band = 0; band < BANDS; band++) {
      for (const id of this.bands[band].get(scope + bandKey(sig, band)) ?? []) {
        if (checked.has(id)) continue;
        checked.add(id);
        const j = estimateJaccard(sig, this.signatures[id]);
        if (j >= this.threshold && (best === undefined || j > best)) best = j;
      }
    }
    return best;
  }

  add(sig: Uint32Array, scope = ''): void {
    const id = this.signatures.length;
    this.signatures.push(sig);
    for (let band = 0; band < BANDS; band++) {
      const key = scope + bandKey(sig, band);
      const list = this.bands[band].get(key);
      if (list) list.push(id);
      else this.bands[band].set(key, [id]);
    }
  }
}

function bandKey(sig: Uint32Array, band: number): string {
  let key = `|${band}:`;
  for (let r = 0; r < ROWS; r++) key += `${sig[band * ROWS + r].toString(36)},`;
  return key;
}
