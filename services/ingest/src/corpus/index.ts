// What a corpus must remember to ingest the next item correctly, held in memory and rebuilt from
// the item records in the bucket when a corpus is opened: which item ids exist (a rerun adds
// nothing twice), which source bytes were first accepted by which item (exact duplicates), and
// the perceptual hashes of accepted images (near duplicates, by a linear Hamming scan: about
// 10^8 comparisons per second, ample for corpora of a few hundred thousand images).
import type { ItemRecord } from '@mmit/contracts';

export interface KnownItem {
  id: string;
  status: ItemRecord['status'];
  modality: ItemRecord['modality'];
  duplicateOf?: string;
  nearDuplicateOf?: string;
  rejection?: ItemRecord['rejection'];
}

export interface FirstHolder {
  itemId: string;
  record: ItemRecord;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export class CorpusIndex {
  private readonly items = new Map<string, KnownItem>();
  private readonly bySourceSha = new Map<string, FirstHolder>();
  private hashHi = new Uint32Array(1024);
  private hashLo = new Uint32Array(1024);
  private hashIds: string[] = [];

  /** Registers a record (from the bucket at open time, or a newly ingested one). */
  add(record: ItemRecord): void {
    this.items.set(record.id, {
      id: record.id,
      status: record.status,
      modality: record.modality,
      ...(record.duplicateOf ? { duplicateOf: record.duplicateOf } : {}),
      ...(record.image?.nearDuplicateOf ? { nearDuplicateOf: record.image.nearDuplicateOf.itemId } : {}),
      ...(record.rejection ? { rejection: record.rejection } : {}),
    });
    if (record.status !== 'accepted') return;
    const sourceSha = record.extra.sourceSha256;
    if (typeof sourceSha === 'string' && !this.bySourceSha.has(sourceSha)) {
      this.bySourceSha.set(sourceSha, { itemId: record.id, record });
    }
    if (record.image) this.addHash(record.id, record.image.phash);
  }

  get(itemId: string): KnownItem | undefined {
    return this.items.get(itemId);
  }

  firstHolderOf(sourceSha256: string): FirstHolder | undefined {
    return this.bySourceSha.get(sourceSha256);
  }

  /** The closest earlier image within `threshold` bits, if any. */
  nearest(phash: string, threshold: number): { itemId: string; distance: number } | undefined {
    const hi = Number.parseInt(phash.slice(0, 8), 16);
    const lo = Number.parseInt(phash.slice(8, 16), 16);
    let best: { itemId: string; distance: number } | undefined;
    for (let i = 0; i < this.hashIds.length; i++) {
      const distance = popcount32(hi ^ this.hashHi[i]) + popcount32(lo ^ this.hashLo[i]);
      if (distance <= threshold && (!best || distance < best.distance)) {
        best = { itemId: this.hashIds[i], distance };
        if (distance === 0) break;
      }
    }
    return best;
  }

  get size(): number {
    return this.items.size;
  }

  private addHash(itemId: string, phash: string): void {
    const n = this.hashIds.length;
    if (n === this.hashHi.length) {
      const grow = (old: Uint32Array) => {
        const next = new Uint32Array(old.length * 2);
        next.set(old);
        return next;
      };
      this.hashHi = grow(this.hashHi);
      this.hashLo = grow(this.hashLo);
    }
    this.hashHi[n] = Number.parseInt(phash.slice(0, 8), 16);
    this.hashLo[n] = Number.parseInt(phash.slice(8, 16), 16);
    this.hashIds.push(itemId);
  }
}
