// Reading features back: by (encoder key, sha256) through the index, fetching only the item's
// byte range and checking it against the entry's checksum before anything uses the numbers.
// The trainer reads through this; the feature service's GET route too. Range reads go through a
// RangeSource: `s3RangeSource` asks S3 for the range; `wholeObjectRangeSource` (any Bucket) reads
// whole shards and keeps a few in memory, which suits reading a shard's items in order.

import type { Readable } from 'node:stream';
import { keys } from '@mmit/contracts';
import {
  type Bucket,
  type BucketConfig,
  createS3Client,
  ObjectNotFoundError,
  withRetry,
} from '@mmit/storage';
import type { FeatureBlock } from './block.js';
import { FeatureIndex } from './feature-index.js';
import { blockFromEntryBytes, entryBytesValid, type FeatureEntry } from './shard.js';

/** Reads `length` bytes at `offset` of an object. */
export type RangeSource = (key: string, offset: number, length: number) => Promise<Uint8Array>;

export class FeatureNotFoundError extends Error {
  readonly problemCode = 'not_found';
  constructor(
    readonly encoderKey: string,
    readonly sha256: string,
  ) {
    super(
      `no features for media ${sha256} under encoder ${encoderKey}; run a features job over its corpus first`,
    );
    this.name = 'FeatureNotFoundError';
  }
}

export class FeatureChecksumError extends Error {
  readonly problemCode = 'conflict';
  constructor(
    readonly encoderKey: string,
    readonly sha256: string,
    readonly shardId: string,
  ) {
    super(
      `features of ${sha256} in shard ${shardId} (encoder ${encoderKey}) fail their checksum; rerun a features job to recompute them`,
    );
    this.name = 'FeatureChecksumError';
  }
}

/** Range reads served from whole objects, the last `keep` objects cached. */
export function wholeObjectRangeSource(bucket: Bucket, keep = 4): RangeSource {
  const cache = new Map<string, Promise<Buffer>>();
  return async (key, offset, length) => {
    let object = cache.get(key);
    if (!object) {
      object = bucket.getBuffer(key);
      cache.set(key, object);
      object.catch(() => cache.delete(key));
      while (cache.size > keep) cache.delete(cache.keys().next().value as string);
    }
    const bytes = await object;
    return bytes.subarray(offset, offset + length);
  };
}

/** Range reads as S3 range GETs (retried on transient errors). */
export function s3RangeSource(config: BucketConfig): RangeSource {
  const client = createS3Client(config);
  return async (key, offset, length) => {
    const chunks: Buffer[] = [];
    try {
      await withRetry(async () => {
        chunks.length = 0;
        const stream: Readable = await client.getPartialObject(config.bucket, key, offset, length);
        for await (const chunk of stream) chunks.push(chunk as Buffer);
      }, config.retry);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NoSuchKey' || code === 'NotFound')
        throw new ObjectNotFoundError('getRange', key, config.bucket);
      throw err;
    }
    return Buffer.concat(chunks);
  };
}

export interface FeatureReaderOptions {
  ranges?: RangeSource;
}

export class FeatureReader {
  readonly index: FeatureIndex;
  private readonly ranges: RangeSource;
  private loaded: Promise<number> | undefined;

  constructor(
    bucket: Bucket,
    readonly encoderKey: string,
    options: FeatureReaderOptions = {},
  ) {
    this.index = new FeatureIndex(bucket, encoderKey);
    this.ranges = options.ranges ?? wholeObjectRangeSource(bucket);
  }

  /** The entry for an item, refreshing the index once when it is not known yet. */
  async entry(sha256: string): Promise<FeatureEntry | undefined> {
    this.loaded ??= this.index.refresh();
    await this.loaded;
    if (!this.index.has(sha256)) await this.index.refresh();
    return this.index.get(sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.entry(sha256)) !== undefined;
  }

  /** The item's features, checksum verified; a newer copy published since is picked up on a mismatch. */
  async read(sha256: string): Promise<FeatureBlock> {
    let entry = await this.entry(sha256);
    if (!entry) throw new FeatureNotFoundError(this.encoderKey, sha256);
    let bytes = await this.bytesOf(entry);
    if (!entryBytesValid(entry, bytes)) {
      await this.index.refresh();
      const newer = this.index.get(sha256);
      if (!newer || newer.shardId === entry.shardId) {
        throw new FeatureChecksumError(this.encoderKey, sha256, entry.shardId);
      }
      entry = newer;
      bytes = await this.bytesOf(entry);
      if (!entryBytesValid(entry, bytes))
        throw new FeatureChecksumError(this.encoderKey, sha256, entry.shardId);
    }
    return blockFromEntryBytes(entry, bytes);
  }

  private bytesOf(entry: FeatureEntry): Promise<Uint8Array> {
    return this.ranges(keys.featureShard(this.encoderKey, entry.shardId), entry.offset, entry.length);
  }
}

export interface VerifyOutcome {
  valid: FeatureEntry[];
  /** Entries whose bytes fail their checksum, or whose shard is missing. */
  corrupt: FeatureEntry[];
}

/**
 * Checks entries against their shards, reading each shard once (a job verifies its cache hits so
 * a corrupt or missing shard is recomputed rather than handed to the trainer).
 */
export async function verifyEntries(
  bucket: Bucket,
  index: FeatureIndex,
  entries: FeatureEntry[],
): Promise<VerifyOutcome> {
  const byShard = new Map<string, FeatureEntry[]>();
  for (const entry of entries) byShard.set(entry.shardId, [...(byShard.get(entry.shardId) ?? []), entry]);
  const outcome: VerifyOutcome = { valid: [], corrupt: [] };
  for (const [shardId, group] of byShard) {
    let bytes: Buffer;
    try {
      bytes = await bucket.getBuffer(keys.featureShard(index.encoderKey, shardId));
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      outcome.corrupt.push(...group);
      continue;
    }
    for (const entry of group) {
      const ok = entryBytesValid(entry, bytes.subarray(entry.offset, entry.offset + entry.length));
      (ok ? outcome.valid : outcome.corrupt).push(entry);
    }
  }
  return outcome;
}
