// Where features live in the bucket, under `features/<encoderKey>/` (keys.feature* in contracts):
//   encoder.json                  the encoder's identity and the spec that first produced it
//   shards/<shardId>.safetensors  many items' features, one tensor per item (+ `<sha>.mask`)
//   index/<shardId>.json          the index segment for that shard: sha256 -> byte range, shape, checksum
// Shards and segments are immutable and never overwritten: a shard is written first and its index
// segment after it, so an index entry only ever names a complete shard. Shard ids sort by time,
// which is how a recomputed item's newer entry wins over a corrupt older one.
import { randomBytes } from 'node:crypto';
import { SHARD_ID } from '@mmit/contracts';

export function newShardId(now: number = Date.now()): string {
  return `s-${now.toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
}

export function isShardId(value: string): boolean {
  return SHARD_ID.test(value);
}

/** The shard id in a shard or segment key, or undefined for anything else under the prefix. */
export function shardIdOfKey(key: string): string | undefined {
  const match = /\/(s-[0-9a-z]{9}-[0-9a-f]{8})\.(safetensors|json)$/.exec(key);
  return match?.[1];
}
