// The near-duplicate index of a corpus, kept in the bucket so any replica can use it and it grows
// past one process's memory. Images are near duplicates when their 64-bit perceptual hashes differ
// in at most `threshold` bits. The hash is cut into threshold + 1 bands: two hashes that differ in
// at most `threshold` bits agree exactly on at least one band (pigeonhole), so the candidates of an
// image are the images sharing one of its band values, and each (band, value) is one small object
// (`corpora/<id>/phash/<band>/<value>.json`). Finding an image's candidates costs threshold + 1
// reads whatever the corpus size; objects are cached for the length of one publish.
//
// Each entry carries an `order` (when and where it was recorded); an image only counts entries
// ordered before it, so a publish that runs twice (after a crash) decides exactly as the first time.
import { keys } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { z } from 'zod';
import { ShardedEntries } from './sharded-entries.js';

const NearEntrySchema = z.object({
  id: z.string(),
  phash: z.string().regex(/^[0-9a-f]{16}$/),
  order: z.string(),
});
type NearEntry = z.infer<typeof NearEntrySchema>;

export interface NearMatch {
  itemId: string;
  distance: number;
}

/** The bit ranges [from, to) of each band for a threshold. */
export function bandsFor(threshold: number): [number, number][] {
  const count = Math.min(64, threshold + 1);
  return Array.from({ length: count }, (_, i) => [
    Math.floor((i * 64) / count),
    Math.floor(((i + 1) * 64) / count),
  ]);
}

function bandValue(hash: bigint, [from, to]: [number, number]): number {
  // Bands are at most 64 bits; values above 2^53 are folded (a wider bucket, never a missed candidate).
  const bits = (hash >> BigInt(64 - to)) & ((1n << BigInt(to - from)) - 1n);
  return Number(bits % (1n << 52n));
}

export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let n = 0;
  while (x) {
    x &= x - 1n;
    n++;
  }
  return n;
}

export class NearDuplicateIndex {
  private readonly bands: [number, number][];
  private readonly buckets: ShardedEntries<NearEntry>;

  constructor(
    bucket: Bucket,
    private readonly corpusId: string,
    private readonly threshold: number,
  ) {
    this.bands = bandsFor(threshold);
    this.buckets = new ShardedEntries(bucket, NearEntrySchema);
  }

  /**
   * The closest image recorded before `order` within the threshold (fewest differing bits, then
   * earliest), and records this image. An image already recorded (same id) is not matched to itself.
   */
  async match(image: NearEntry): Promise<NearMatch | undefined> {
    const keysOf = this.keysOf(image.phash);
    let best: { entry: NearEntry; distance: number } | undefined;
    for (const key of keysOf) {
      for (const entry of await this.buckets.entries(key)) {
        if (entry.id === image.id || entry.order >= image.order) continue;
        const distance = hammingDistance(entry.phash, image.phash);
        if (distance > this.threshold) continue;
        if (
          !best ||
          distance < best.distance ||
          (distance === best.distance && entry.order < best.entry.order)
        ) {
          best = { entry, distance };
        }
      }
    }
    for (const key of keysOf) await this.buckets.add(key, image);
    return best ? { itemId: best.entry.id, distance: best.distance } : undefined;
  }

  /** Reads the index objects these hashes fall in, many at once (before matching them one by one). */
  prefetch(phashes: string[]): Promise<void> {
    return this.buckets.prefetch(phashes.flatMap((p) => this.keysOf(p)));
  }

  private keysOf(phash: string): string[] {
    const hash = BigInt(`0x${phash}`);
    return this.bands.map((band, i) => keys.corpusNearBucket(this.corpusId, i, bandValue(hash, band)));
  }

  /** Writes the entries added since the last flush (compare-and-swap per object; nothing is lost to a race). */
  flush(): Promise<void> {
    return this.buckets.flush();
  }
}
