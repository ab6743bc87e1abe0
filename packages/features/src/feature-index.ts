// The feature index of one encoder key: the union of its index segments, held in memory as
// sha256 -> entry. Segments are immutable objects, so a refresh lists the prefix and reads only
// the segments it has not seen; where two segments hold the same item (two replicas computed it,
// or a corrupt copy was recomputed), the entry from the later shard id wins, whatever order the
// segments were read in. Writers publish through `publishShard` (shard first, then its segment);
// `adoptOrphanShards` indexes shards whose writer died between the two writes.
import { type EncoderRecord, EncoderRecordSchema, keys } from '@mmit/contracts';
import { type Bucket, PreconditionFailedError } from '@mmit/storage';
import { z } from 'zod';
import { isShardId, shardIdOfKey } from './layout.js';
import {
  type FeatureEntry,
  type IndexSegment,
  IndexSegmentSchema,
  ShardFormatError,
  segmentFromShard,
} from './shard.js';

// The encoder record's schema lives in @mmit/contracts; re-exported for this package's users.
export { type EncoderRecord, EncoderRecordSchema };

export interface ShardSummary {
  shardId: string;
  shardKey: string;
  bytes: number;
  items: number;
}

export class FeatureIndex {
  private readonly entries = new Map<string, FeatureEntry>();
  private readonly segments = new Map<string, ShardSummary>();

  constructor(
    private readonly bucket: Bucket,
    readonly encoderKey: string,
  ) {}

  /** Reads segments published since the last refresh; returns how many were new. */
  async refresh(): Promise<number> {
    const prefix = keys.featureIndexPrefix(this.encoderKey);
    const fresh: string[] = [];
    for await (const obj of this.bucket.list(prefix)) {
      const shardId = shardIdOfKey(obj.key);
      if (shardId && !this.segments.has(shardId)) fresh.push(obj.key);
    }
    for (const key of fresh) this.apply(await this.bucket.getJson(key, IndexSegmentSchema));
    return fresh.length;
  }

  /** Adds a segment's entries (later shard ids win). */
  apply(segment: IndexSegment): void {
    this.segments.set(segment.shardId, {
      shardId: segment.shardId,
      shardKey: segment.shardKey,
      bytes: segment.bytes,
      items: segment.entries.length,
    });
    for (const entry of segment.entries) {
      const current = this.entries.get(entry.sha256);
      if (!current || current.shardId < entry.shardId) this.entries.set(entry.sha256, entry);
    }
  }

  get(sha256: string): FeatureEntry | undefined {
    return this.entries.get(sha256);
  }

  has(sha256: string): boolean {
    return this.entries.has(sha256);
  }

  get size(): number {
    return this.entries.size;
  }

  all(): IterableIterator<FeatureEntry> {
    return this.entries.values();
  }

  shards(): ShardSummary[] {
    return [...this.segments.values()].sort((a, b) => (a.shardId < b.shardId ? -1 : 1));
  }

  /** Whether a shard id has a published segment (as of the last refresh). */
  hasSegment(shardId: string): boolean {
    return this.segments.has(shardId);
  }
}

/** Writes the shard, then its index segment: a segment never names a shard that is not there. */
export async function publishShard(bucket: Bucket, bytes: Buffer, segment: IndexSegment): Promise<void> {
  await bucket.putBuffer(segment.shardKey, bytes, { contentType: 'application/octet-stream' });
  // Segment keys are new and never rewritten, so a plain PUT is the publish: the key appears whole or not at all.
  await bucket.putJson(
    keys.featureIndexSegment(segment.encoderKey, segment.shardId),
    segment,
    IndexSegmentSchema,
  );
}

export interface AdoptedShards {
  /** Shards that had no segment and now have one. */
  adopted: string[];
  /** Items in those shards whose bytes failed their checksum (left out of the index). */
  corrupt: string[];
  /** Shards that could not be read as shards at all (left alone). */
  unreadable: { shardId: string; reason: string }[];
}

/**
 * Indexes shards without a segment (a writer died after the shard and before the segment), so
 * the work in them is reused instead of repeated. Verifies every item before indexing it.
 */
export async function adoptOrphanShards(bucket: Bucket, index: FeatureIndex): Promise<AdoptedShards> {
  await index.refresh();
  const result: AdoptedShards = { adopted: [], corrupt: [], unreadable: [] };
  for await (const obj of bucket.list(keys.featureShardsPrefix(index.encoderKey))) {
    const shardId = shardIdOfKey(obj.key);
    if (!shardId || !isShardId(shardId) || index.hasSegment(shardId)) continue;
    const bytes = await bucket.getBuffer(obj.key);
    try {
      const { segment, corrupt } = segmentFromShard(index.encoderKey, shardId, bytes);
      await bucket.putJson(keys.featureIndexSegment(index.encoderKey, shardId), segment, IndexSegmentSchema);
      index.apply(segment);
      result.adopted.push(shardId);
      result.corrupt.push(...corrupt);
    } catch (err) {
      if (!(err instanceof ShardFormatError) && !(err instanceof z.ZodError) && !(err instanceof SyntaxError))
        throw err;
      result.unreadable.push({ shardId, reason: (err as Error).message });
    }
  }
  return result;
}

/**
 * Writes `encoder.json` unless it exists (the identity is the same for everyone who reaches the
 * key): one conditional create, atomic on S3, so a replica killed while writing leaves nothing
 * behind (a staged copy would be left in tmp/).
 */
export async function recordEncoder(bucket: Bucket, record: EncoderRecord): Promise<void> {
  const key = keys.featuresEncoder(record.encoderKey);
  if (await bucket.exists(key)) return;
  try {
    await bucket.putJsonIfAbsent(key, record, EncoderRecordSchema);
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err; // another replica wrote it first
  }
}

export async function readEncoderRecord(
  bucket: Bucket,
  encoderKey: string,
): Promise<EncoderRecord | undefined> {
  return bucket.getJsonIfExists(keys.featuresEncoder(encoderKey), EncoderRecordSchema);
}
