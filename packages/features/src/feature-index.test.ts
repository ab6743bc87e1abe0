// The index and the reader against the real embedded S3 server: publish order, later copies
// winning, orphan shards adopted, corrupt bytes refused, range reads.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { keys } from '@mmit/contracts';
import type { Bucket, BucketConfig } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { hostTensor } from '@mmit/tensor';
import type { FeatureBlock } from './block.js';
import { adoptOrphanShards, FeatureIndex, publishShard } from './feature-index.js';
import { newShardId } from './layout.js';
import {
  FeatureChecksumError,
  FeatureNotFoundError,
  FeatureReader,
  s3RangeSource,
  verifyEntries,
} from './reader.js';
import { buildShard } from './shard.js';

let store: TestStore;
let config: BucketConfig;
let bucket: Bucket;

before(async () => {
  store = await startTestStore({
    name: 'features-lib',
    bucket: 'features-lib',
    retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 20 },
  });
  ({ config, bucket } = store);
});

after(() => store?.stop());

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const block = (v: number): FeatureBlock => ({
  features: hostTensor('float32', [2, 3], [v, v + 1, v + 2, v + 3, v + 4, v + 5]),
});
let counter = 0;
const freshKey = () => `clip-${String(++counter).padStart(32, '0')}`;

test('published shards are found by sha256 and read back through S3 range reads', async () => {
  const key = freshKey();
  const first = buildShard(key, newShardId(1000), [
    { sha256: sha('a'), block: block(1) },
    { sha256: sha('b'), block: block(10) },
  ]);
  await publishShard(bucket, first.bytes, first.segment);
  const reader = new FeatureReader(bucket, key, { ranges: s3RangeSource(config) });
  assert.deepEqual([...(await reader.read(sha('b'))).features.data], [10, 11, 12, 13, 14, 15]);
  await assert.rejects(reader.read(sha('zzz')), FeatureNotFoundError);
  // A shard published after the reader loaded is picked up on a miss.
  const second = buildShard(key, newShardId(2000), [{ sha256: sha('c'), block: block(20) }]);
  await publishShard(bucket, second.bytes, second.segment);
  assert.deepEqual([...(await reader.read(sha('c'))).features.data], [20, 21, 22, 23, 24, 25]);
  assert.equal(reader.index.size, 3);
});

test('a later shard wins over an earlier copy of the same item, whatever order segments load in', async () => {
  const key = freshKey();
  const older = buildShard(key, newShardId(1000), [{ sha256: sha('x'), block: block(1) }]);
  const newer = buildShard(key, newShardId(5000), [{ sha256: sha('x'), block: block(2) }]);
  const index = new FeatureIndex(bucket, key);
  index.apply(newer.segment);
  index.apply(older.segment);
  assert.equal(index.get(sha('x'))?.shardId, newer.segment.shardId);
});

test('corrupt bytes are refused by the reader and reported by verifyEntries; a recomputed copy heals reads', async () => {
  const key = freshKey();
  const { bytes, segment } = buildShard(key, newShardId(1000), [
    { sha256: sha('p'), block: block(1) },
    { sha256: sha('q'), block: block(2) },
  ]);
  await publishShard(bucket, bytes, segment);
  const damaged = Buffer.from(bytes);
  damaged[segment.entries[0].offset] ^= 0x01;
  await bucket.putBuffer(segment.shardKey, damaged);
  const reader = new FeatureReader(bucket, key);
  await assert.rejects(reader.read(sha('p')), FeatureChecksumError);
  const index = new FeatureIndex(bucket, key);
  await index.refresh();
  const verdict = await verifyEntries(bucket, index, [...index.all()]);
  assert.deepEqual(
    verdict.corrupt.map((e) => e.sha256),
    [sha('p')],
  );
  assert.deepEqual(
    verdict.valid.map((e) => e.sha256),
    [sha('q')],
  );
  const fix = buildShard(key, newShardId(9000), [{ sha256: sha('p'), block: block(1) }]);
  await publishShard(bucket, fix.bytes, fix.segment);
  assert.deepEqual(
    [...(await new FeatureReader(bucket, key).read(sha('p'))).features.data],
    [1, 2, 3, 4, 5, 6],
  );
});

test('a shard written without its segment (a crash between the two writes) is verified and adopted', async () => {
  const key = freshKey();
  const { bytes, segment } = buildShard(key, newShardId(3000), [
    { sha256: sha('o1'), block: block(1) },
    { sha256: sha('o2'), block: block(2) },
  ]);
  await bucket.putBuffer(segment.shardKey, bytes);
  await bucket.putBuffer(keys.featureShard(key, newShardId(3001)), Buffer.from('not a shard'));
  const index = new FeatureIndex(bucket, key);
  const adopted = await adoptOrphanShards(bucket, index);
  assert.deepEqual(adopted.adopted, [segment.shardId]);
  assert.equal(adopted.unreadable.length, 1);
  assert.deepEqual([...index.all()].map((e) => e.sha256).sort(), [sha('o1'), sha('o2')].sort());
  assert.ok(await bucket.exists(keys.featureIndexSegment(key, segment.shardId)));
  assert.deepEqual((await adoptOrphanShards(bucket, index)).adopted, []);
});
