// Feature shards: many items in one safetensors object, tensor `<sha256>` for an item's features
// and `<sha256>.mask` for its mask. The two names sort next to each other, so an item's bytes are
// one contiguous range and one range read fetches it. Each item's sha256 checksum (over that
// range) is in the shard's own metadata as well as in the index segment, so a shard whose index
// segment was never written (a crash between the two writes) can be verified and indexed later.

import { createHash } from 'node:crypto';
import {
  type FeatureEntry,
  FeatureEntrySchema,
  type IndexSegment,
  IndexSegmentSchema,
  keys,
  Sha256Schema,
} from '@mmit/contracts';
import { bytesOf, type HostTensor } from '@mmit/tensor';
import { z } from 'zod';
import type { FeatureBlock } from './block.js';
import { FEATURE_FORMAT_VERSION } from './encoder-key.js';
import {
  encodeSafetensors,
  parseSafetensorsHeader,
  SafetensorsBytesError,
  type TensorPlacement,
  tensorAt,
} from './safetensors-bytes.js';

// The index's stored schemas live in @mmit/contracts; re-exported for this package's users.
export { type FeatureEntry, FeatureEntrySchema, type IndexSegment, IndexSegmentSchema };

const SHARD_FORMAT = `mmit-features/${FEATURE_FORMAT_VERSION}`;

export class ShardFormatError extends Error {
  override name = 'ShardFormatError';
}

function sha256Of(...parts: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

export interface ShardItem {
  sha256: string;
  block: FeatureBlock;
}

/** Encodes items into one shard object and the index segment that describes it. */
export function buildShard(
  encoderKey: string,
  shardId: string,
  items: ShardItem[],
  now: Date = new Date(),
): { bytes: Buffer; segment: IndexSegment } {
  if (items.length === 0) throw new ShardFormatError('a shard needs at least one item');
  const tensors: Record<string, HostTensor> = {};
  const checksums: Record<string, string> = {};
  for (const { sha256, block } of items) {
    if (tensors[sha256]) throw new ShardFormatError(`item ${sha256} appears twice in shard ${shardId}`);
    tensors[sha256] = block.features;
    if (block.mask) tensors[`${sha256}.mask`] = block.mask;
    const parts = [bytesOf(block.features.data)];
    if (block.mask) parts.push(bytesOf(block.mask.data));
    checksums[sha256] = sha256Of(...parts);
  }
  const { bytes, placements } = encodeSafetensors(tensors, {
    format: SHARD_FORMAT,
    encoderKey,
    shardId,
    checksums: JSON.stringify(checksums),
  });
  const entries = items.map(({ sha256 }) =>
    entryOf(sha256, shardId, placements[sha256], placements[`${sha256}.mask`], checksums[sha256]),
  );
  const segment: IndexSegment = {
    format: FEATURE_FORMAT_VERSION,
    encoderKey,
    shardId,
    shardKey: keys.featureShard(encoderKey, shardId),
    bytes: bytes.length,
    sha256: sha256Of(bytes),
    createdAt: now.toISOString(),
    entries,
  };
  return { bytes, segment };
}

function entryOf(
  sha256: string,
  shardId: string,
  features: TensorPlacement,
  mask: TensorPlacement | undefined,
  checksum: string,
): FeatureEntry {
  const end = mask ? mask.offset + mask.length : features.offset + features.length;
  if (mask && mask.offset !== features.offset + features.length) {
    throw new ShardFormatError(`item ${sha256}: mask does not follow its features in shard ${shardId}`);
  }
  return {
    sha256,
    shardId,
    offset: features.offset,
    length: end - features.offset,
    checksum,
    features,
    ...(mask ? { mask } : {}),
  };
}

/** Whether `bytes` (the item's range, as read) match the entry's checksum. */
export function entryBytesValid(entry: FeatureEntry, bytes: Uint8Array): boolean {
  return bytes.byteLength === entry.length && sha256Of(bytes) === entry.checksum;
}

/** Decodes an item from its verified byte range. */
export function blockFromEntryBytes(entry: FeatureEntry, bytes: Uint8Array): FeatureBlock {
  const block: FeatureBlock = {
    features: tensorAt(bytes, entry.features, entry.offset) as FeatureBlock['features'],
  };
  if (entry.mask) block.mask = tensorAt(bytes, entry.mask, entry.offset) as HostTensor<'uint8'>;
  return block;
}

/**
 * Rebuilds a shard's index segment from the shard itself (for shards whose segment was never
 * written). Items whose bytes fail their checksum are returned in `corrupt` and left out.
 */
export function segmentFromShard(
  encoderKey: string,
  shardId: string,
  bytes: Uint8Array,
  now: Date = new Date(),
): { segment: IndexSegment; corrupt: string[] } {
  let header: ReturnType<typeof parseSafetensorsHeader>;
  try {
    header = parseSafetensorsHeader(bytes, `shard ${shardId}`);
  } catch (err) {
    if (err instanceof SafetensorsBytesError) throw new ShardFormatError(err.message);
    throw err;
  }
  const { metadata, placements } = header;
  if (
    metadata.format !== SHARD_FORMAT ||
    metadata.encoderKey !== encoderKey ||
    metadata.shardId !== shardId
  ) {
    throw new ShardFormatError(
      `shard ${shardId}: metadata says ${metadata.format}/${metadata.encoderKey}/${metadata.shardId}, expected ${SHARD_FORMAT}/${encoderKey}/${shardId}`,
    );
  }
  const checksums = z.record(Sha256Schema, Sha256Schema).parse(JSON.parse(metadata.checksums ?? '{}'));
  const entries: FeatureEntry[] = [];
  const corrupt: string[] = [];
  for (const [sha256, checksum] of Object.entries(checksums)) {
    const features = placements[sha256];
    if (!features) throw new ShardFormatError(`shard ${shardId}: no tensor for item ${sha256}`);
    const entry = entryOf(sha256, shardId, features, placements[`${sha256}.mask`], checksum);
    if (entryBytesValid(entry, bytes.subarray(entry.offset, entry.offset + entry.length)))
      entries.push(entry);
    else corrupt.push(sha256);
  }
  const segment: IndexSegment = {
    format: FEATURE_FORMAT_VERSION,
    encoderKey,
    shardId,
    shardKey: keys.featureShard(encoderKey, shardId),
    bytes: bytes.byteLength,
    sha256: sha256Of(bytes),
    createdAt: now.toISOString(),
    entries,
  };
  return { segment, corrupt };
}
